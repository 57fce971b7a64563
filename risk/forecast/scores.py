"""Scores: for a week and each theatre, the surge probability, its band, the expected violent
incidents with an 80% interval, the drivers, and the change since the week before.

Bands (probability of at least one surge week within the horizon):

    low       below 15%
    elevated  15% to 30%
    high      30% to 50%
    severe    50% and above

Every score is stored with its model version and as-of week, so a forecast history builds up.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from risk.forecast.model import Driver, ModelError, SurgeModel
from risk.forecast.panel import SurgeTarget, latest_complete_week, weekly_panel
from risk.forecast.training import latest_model
from risk.incidents.theatres import Theatres
from risk.store.database import Store, scores, utc_now
from risk.store.queries import store_summary

BANDS = (("low", 0.0), ("elevated", 0.15), ("high", 0.30), ("severe", 0.50))


def band(probability: float) -> str:
    """The band a probability falls in (see the module docstring)."""
    name = BANDS[0][0]
    for label, lower in BANDS:
        if probability >= lower:
            name = label
    return name


@dataclass
class TheatreScore:
    theatre: str
    probability: float
    band: str
    expected: float
    interval: tuple[float, float]
    drivers: list[Driver]
    change: float | None
    violent_this_week: int

    def as_json(self) -> dict[str, Any]:
        return {
            "theatre": self.theatre,
            "probability": round(self.probability, 4),
            "band": self.band,
            "expected_incidents": round(self.expected, 1),
            "interval": [self.interval[0], self.interval[1]],
            "drivers": [d.as_json() for d in self.drivers],
            "change": None if self.change is None else round(self.change, 4),
        }


@dataclass
class ScoreSet:
    as_of: dt.date
    model_version: str
    target: SurgeTarget
    theatres: list[TheatreScore] = field(default_factory=list)
    quiet_theatres: list[str] = field(default_factory=list)  # no incident in the as-of week

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "model_version": self.model_version,
            "theatres": [t.as_json() for t in self.theatres],
        }


def score_week(model: SurgeModel, panel: pd.DataFrame, week: pd.Timestamp) -> list[TheatreScore]:
    """Score every theatre that has a panel row at ``week``."""
    current = panel[panel["week"] == week].reset_index(drop=True)
    if current.empty:
        return []
    previous = panel[panel["week"] == week - pd.Timedelta(days=7)].set_index("theatre")
    probability = model.probability(current)
    before = (
        pd.Series(model.probability(previous.reset_index()), index=previous.index)
        if not previous.empty
        else pd.Series(dtype=float)
    )
    expected, lower, upper = model.expected(current)
    results = []
    for i, row in current.iterrows():
        change = None
        if row["theatre"] in before.index:
            change = float(probability[i] - before[row["theatre"]])
        results.append(
            TheatreScore(
                theatre=row["theatre"],
                probability=float(probability[i]),
                band=band(float(probability[i])),
                expected=float(expected[i]),
                interval=(float(lower[i]), float(upper[i])),
                drivers=model.drivers(row),
                change=change,
                violent_this_week=int(row["violent"]),
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
    result.quiet_theatres = [s.theatre for s in result.theatres if s.violent_this_week == 0]
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
        if result.theatres:
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
                    for s in result.theatres
                ],
            )


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
