"""Scores: for a week and each theatre, the surge probability, its band, the expected violent
incidents with an 80% interval, the drivers, the change since the week before, the backtest
skill there and a status.

Bands weigh the probability and what is at stake: ``stake`` = probability x the rise a surge
takes at the theatre's level over the last four weeks (the target's smallest surge above that
level, in violent incidents a week), i.e. the expected excess violent incidents of a surge week,
at least. A band needs both its probability and its stake:

    band      probability   stake (excess violent incidents)
    low       below 15%     -
    elevated  15% and up    1 and up
    high      30% and up    3 and up
    severe    50% and up    8 and up

and no theatre averaging under 1 violent incident a week over the last four weeks is severe:
a likely rise from 0 to 2 incidents is not "severe"; a likely surge on a front with 50 a week is.

Status: "ok"; "no skill" (the forecaster's Brier skill against climatology in this theatre's
backtest weeks is 0 or less); "too few surges" (too few surge and quiet weeks in its backtest
to tell, the one rule of :func:`risk.forecast.metrics.enough_cases`); "no recent data" (its
last week covered by the data is before the scored week: no probability is given); "too
little history" (covered that week, but without the weeks before it that the features need,
for example a log that starts that week: no probability either).

Every score is stored with its model version and as-of week, so a forecast history builds up.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from threadpoolctl import threadpool_limits

from risk.forecast.model import Driver, ModelError, SurgeModel, describe_feature, theatre_typical
from risk.forecast.panel import latest_complete_week, weekly_panel
from risk.forecast.target import SurgeTarget
from risk.forecast.training import latest_model
from risk.incidents.theatres import Theatres
from risk.store.database import Store, scores, utc_now
from risk.store.queries import store_summary

# (band, minimum probability, minimum stake), lowest first.
BANDS = (("low", 0.0, 0.0), ("elevated", 0.15, 1.0), ("high", 0.30, 3.0), ("severe", 0.50, 8.0))
# Theatres quieter than this (violent incidents a week, last 4 weeks) cannot be in the top band.
TOP_BAND_MIN_LEVEL = 1.0
STATUSES = ("ok", "no skill", "too few surges", "no recent data", "too little history")


def band(probability: float, stake: float | None = None, level: float | None = None) -> str:
    """The band of a probability and its stake (see the module docstring).

    Without a stake, the probability alone decides (the bands' probability thresholds).
    """
    name = BANDS[0][0]
    for label, lower, needed in BANDS:
        if probability >= lower and (stake is None or stake >= needed):
            name = label
    if name == BANDS[-1][0] and level is not None and level < TOP_BAND_MIN_LEVEL:
        name = BANDS[-2][0]
    return name


def stake(probability: np.ndarray, level: np.ndarray, target: SurgeTarget) -> np.ndarray:
    """Probability x the rise a surge takes above ``level`` (0 where no surge can happen)."""
    rise = target.rise(np.asarray(level, dtype=float))
    return np.asarray(probability, dtype=float) * np.nan_to_num(rise, nan=0.0, posinf=0.0)


def backtest_skill(model: SurgeModel) -> dict[str, tuple[float | None, bool]]:
    """Per theatre: (Brier skill of the forecaster in its backtest weeks, too few positives)."""
    theatres = (model.metadata.get("backtest") or {}).get("theatres") or []
    return {
        t["theatre"]: (t.get("skill", (t.get("model") or {}).get("bss")), t["too_few_positives"])
        for t in theatres
    }


def skill_status(skill: float | None, too_few: bool) -> str:
    """The status a theatre's backtest gives its score (see the module docstring)."""
    if too_few or skill is None:
        return "too few surges"
    return "no skill" if skill <= 0 else "ok"


@dataclass
class TheatreScore:
    theatre: str
    probability: float | None  # None: no recent data
    band: str | None
    expected: float | None
    interval: tuple[float, float] | None
    drivers: list[Driver]
    change: float | None
    violent_this_week: int
    status: str = "ok"
    skill: float | None = None
    stake: float | None = None
    level: float | None = None  # violent incidents a week over the last 4 weeks
    changed: list[str] = field(default_factory=list)
    last_covered: dt.date | None = None

    def as_json(self) -> dict[str, Any]:
        def rounded(value: float | None, digits: int) -> float | None:
            return None if value is None else round(value, digits)

        return {
            "theatre": self.theatre,
            "probability": rounded(self.probability, 4),
            "band": self.band,
            "expected_incidents": rounded(self.expected, 1),
            "interval": None if self.interval is None else [self.interval[0], self.interval[1]],
            "drivers": [d.as_json() for d in self.drivers],
            "change": rounded(self.change, 4),
            "status": self.status,
            "skill": rounded(self.skill, 4),
            "stake": rounded(self.stake, 2),
            "level": rounded(self.level, 2),
            "changed": self.changed,
        }


@dataclass
class ScoreSet:
    as_of: dt.date
    model_version: str
    target: SurgeTarget
    theatres: list[TheatreScore] = field(default_factory=list)
    quiet_theatres: list[str] = field(default_factory=list)  # no incident in the as-of week
    in_use: str = ""  # the forecaster in use: a model or a baseline's name

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "model_version": self.model_version,
            "target": self.target.name,
            "in_use": self.in_use,
            "theatres": [t.as_json() for t in self.theatres],
        }


def what_changed(model: SurgeModel, now: pd.Series, before: pd.Series | None) -> list[str]:
    """Why the score moved since the week before: the features whose change moved the odds
    most (this week's value against last week's, everything else as this week)."""
    if before is None or not model.features:
        return []
    rows = pd.DataFrame([now] * (len(model.features) + 1)).reset_index(drop=True)
    for i, feature in enumerate(model.features, start=1):
        rows.loc[i, feature] = before[feature]
    p = np.clip(model.probability(rows), 1e-6, 1 - 1e-6)
    logits = np.log(p / (1 - p))
    moves = logits[0] - logits[1:]
    sentences = []
    for index in np.argsort(-np.abs(moves))[:3]:
        feature, move = model.features[index], float(moves[index])
        if abs(move) < 0.05 or now[feature] == before[feature]:
            continue
        sentences.append(
            f"{describe_feature(feature, float(now[feature]))} (a week earlier: "
            f"{describe_feature(feature, float(before[feature]))}): "
            f"{'raised' if move > 0 else 'lowered'} the odds {np.exp(abs(move)):.1f}x"
        )
    return sentences


def last_covered_weeks(panel: pd.DataFrame, up_to: pd.Timestamp | None = None) -> pd.Series:
    """Each theatre's last week covered by the data, on or before ``up_to`` when given (every
    week counts as covered when the panel does not say)."""
    rows = panel
    if "covered" in panel.columns:
        rows = panel[panel["covered"].fillna(False).astype(bool)]
    if up_to is not None:
        rows = rows[rows["week"] <= up_to]
    return rows.groupby("theatre")["week"].max()


def score_week(model: SurgeModel, panel: pd.DataFrame, week: pd.Timestamp) -> list[TheatreScore]:
    """Score every theatre that has a panel row at ``week`` (see the module docstring)."""
    # Many small predictions: OpenMP threads only get in the way (see backtest.run_backtest).
    with threadpool_limits(limits=1):
        return _score_week(model, panel, week)


def _score_week(model: SurgeModel, panel: pd.DataFrame, week: pd.Timestamp) -> list[TheatreScore]:
    current = panel[panel["week"] == week].reset_index(drop=True)
    if current.empty:
        return []
    # Scored only where the data covers the scored week itself: a later stretch (an analyst's
    # log of one recent day) does not make a theatre's older weeks current.
    covered = last_covered_weeks(panel, up_to=week)
    fresh = current["theatre"].map(covered).ge(week).to_numpy()
    # Covered this week but without the history the features need (a log that starts this
    # week, a source that just began): no probability either, said as such.
    complete = current[list(model.features)].notna().all(axis=1).to_numpy()
    thin = fresh & ~complete
    fresh = fresh & complete
    last_week = week - pd.Timedelta(days=7)
    previous = panel[panel["week"] == last_week]
    previous = previous[
        previous["theatre"].map(last_covered_weeks(panel, up_to=last_week)).ge(last_week)
        & previous[list(model.features)].notna().all(axis=1)
    ].set_index("theatre")
    usable = current[fresh].reset_index(drop=True)
    probability = model.probability(usable) if not usable.empty else np.array([])
    before = (
        pd.Series(model.probability(previous.reset_index()), index=previous.index)
        if not previous.empty
        else pd.Series(dtype=float)
    )
    expected, lower, upper = model.expected(usable) if not usable.empty else ([], [], [])
    level = usable["violent_mean_4"].to_numpy(dtype=float)
    stakes = stake(probability, level, model.target)
    typical = theatre_typical(panel, week, model.features)
    skill = backtest_skill(model)
    results = []
    for i, row in usable.iterrows():
        name = row["theatre"]
        change = float(probability[i] - before[name]) if name in before.index else None
        theatre_skill, too_few = skill.get(name, (None, True))
        results.append(
            TheatreScore(
                theatre=name,
                probability=float(probability[i]),
                band=band(float(probability[i]), float(stakes[i]), float(level[i])),
                expected=float(expected[i]),
                interval=(float(lower[i]), float(upper[i])),
                drivers=model.drivers(
                    row, typical.loc[name].to_dict() if name in typical.index else None
                ),
                change=change,
                violent_this_week=int(np.nan_to_num(row["violent"])),
                status=skill_status(theatre_skill, too_few),
                skill=theatre_skill,
                stake=float(stakes[i]),
                level=float(level[i]),
                changed=what_changed(
                    model, row, previous.loc[name] if name in previous.index else None
                ),
            )
        )
    for position, row in current[~fresh].iterrows():
        name = row["theatre"]
        last = covered.get(name)
        status = "too little history" if thin[position] else "no recent data"
        results.append(
            TheatreScore(
                theatre=name,
                probability=None,
                band=None,
                expected=None,
                interval=None,
                drivers=[],
                change=None,
                violent_this_week=int(np.nan_to_num(row["violent"])),
                status=status,
                skill=skill.get(name, (None, True))[0],
                last_covered=None if last is None or last != last else last.date(),
            )
        )
    return results


def as_of_week(panel: pd.DataFrame, last_event: dt.date, as_of: dt.date | None) -> pd.Timestamp:
    """The latest complete week of data, or the latest complete week on or before ``as_of``."""
    week = latest_complete_week(last_event, as_of)
    first = panel["week"].min()
    if week < first:
        raise ModelError(
            f"no complete week of data on or before {as_of or last_event}; the data starts "
            f"in the week of {first.date()}"
        )
    return week


def make_scores(
    store: Store,
    theatres: Theatres,
    target: SurgeTarget,
    *,
    as_of: dt.date | None = None,
    model: SurgeModel | None = None,
    panel: pd.DataFrame | None = None,
    save: bool = True,
) -> ScoreSet:
    """Score the latest complete week (or the one at ``as_of``) and store the scores."""
    model = model or latest_model(store, target, theatres)
    if panel is None:
        panel = weekly_panel(store, theatres, target)
    if panel.empty:
        raise ModelError("no incidents to score; load data first (python -m risk ingest FILE)")
    last_event = store_summary(store).last_date
    if last_event is None:
        raise ModelError("no incidents to score; load data first (python -m risk ingest FILE)")
    week = as_of_week(panel, last_event, as_of)
    result = ScoreSet(week.date(), model.version, target, score_week(model, panel, week))
    result.in_use = model.candidate
    result.quiet_theatres = [
        s.theatre for s in result.theatres if s.violent_this_week == 0 and s.probability is not None
    ]
    if save:
        save_scores(store, result)
    return result


def save_scores(store: Store, result: ScoreSet) -> None:
    """Store (or replace) the scores of one model for one week."""
    created = utc_now()
    with store.write() as connection:
        connection.execute(
            scores.delete().where(
                scores.c.model_version == result.model_version, scores.c.as_of == result.as_of
            )
        )
        # Theatres without recent data have no probability: nothing to store for them.
        stored = [s for s in result.theatres if s.probability is not None]
        if stored:
            connection.execute(
                scores.insert(),
                [
                    {
                        "model_version": result.model_version,
                        "as_of": result.as_of,
                        "theatre": s.theatre,
                        "probability": s.probability,
                        "band": s.band,
                        "expected": s.expected,
                        "lower": s.interval[0],
                        "upper": s.interval[1],
                        "change": s.change,
                        "drivers": json.dumps([d.as_json() for d in s.drivers], ensure_ascii=False),
                        "created_at": created,
                    }
                    for s in stored
                ],
            )


def with_status(
    table: pd.DataFrame, backtest: dict[str, Any] | None, last_covered: pd.Series | None = None
) -> pd.DataFrame:
    """An overview table (theatre, week, probability, band, ...) with each theatre's backtest
    ``skill`` and ``status``, sorted by band (highest first), then probability."""
    theatres = {t["theatre"]: t for t in (backtest or {}).get("theatres") or []}
    table = table.copy()
    skill, status = [], []
    for name, week, probability in zip(
        table["theatre"], table["week"], table["probability"], strict=True
    ):
        entry = theatres.get(name) or {}
        value = entry.get("skill", (entry.get("model") or {}).get("bss"))
        skill.append(value)
        last = None if last_covered is None else last_covered.get(name)
        if probability != probability and last is not None and last < week:  # NaN: not scored
            status.append("no recent data")
        elif probability != probability and last is not None and backtest:
            # Covered, and a model scored the others: this theatre lacked the history.
            status.append("too little history")
        else:
            status.append(skill_status(value, entry.get("too_few_positives", True)))
    table["skill"], table["status"] = skill, status
    rank = {name: i for i, (name, _, _) in enumerate(BANDS)}
    order = table["band"].map(rank).fillna(-1)
    table = table.assign(_rank=order, _p=table["probability"].fillna(-1))
    table = table.sort_values(["_rank", "_p"], ascending=False, kind="stable")
    return table.drop(columns=["_rank", "_p"]).reset_index(drop=True)


def score_history(store: Store, theatre: str | None = None) -> pd.DataFrame:
    """Every stored score (optionally for one theatre), oldest first."""
    query = sa.select(scores).order_by(scores.c.as_of, scores.c.id)
    if theatre is not None:
        query = query.where(scores.c.theatre == theatre)
    with store.read() as connection:
        rows = connection.execute(query).all()
    frame = pd.DataFrame(rows, columns=[c.name for c in scores.columns])
    if not frame.empty:
        frame["as_of"] = pd.to_datetime(frame["as_of"])
    return frame
