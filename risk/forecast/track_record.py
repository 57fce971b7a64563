"""Track record: the stored scores (every one a forecast) against what happened once known.

A score for the week ``w`` forecasts a surge week in ``w+1 .. w+h``; it is *resolved* once the
panel knows that outcome (its ``label``; unknown labels are skipped). It is *out of sample*
when the model that made it was trained only on weeks whose outcomes were known by ``w``
(training window ending at or before ``w - h``): a past week replayed with a newer model has
seen its own outcome, flatters the record, and is counted apart as *in sample*.

Per (theatre, week) one forecast counts: out of sample first, then the first one stored (what
the dashboard showed at the time). Climatology is the theatre's rate of the outcome over the
weeks already resolved at forecast time (the pooled rate when it has none yet).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from risk.forecast.metrics import brier, reliability_curve
from risk.forecast.scores import BANDS, score_history
from risk.forecast.target import SurgeTarget
from risk.store.database import Store, models

# A warning: a forecast at or above the "high" band's probability (hits, misses and false
# alarms). By probability alone, so that the record does not move when the stake rule does.
WARNING_BAND = "high"
WARNING_PROBABILITY = next(p for name, p, *_ in BANDS if name == WARNING_BAND)


def model_windows(store: Store) -> dict[str, dt.date]:
    """Each stored model version with the last week of its training window."""
    with store.read() as connection:
        rows = connection.execute(sa.select(models.c.version, models.c.metadata)).all()
    windows = {}
    for version, metadata in rows:
        window = json.loads(metadata).get("training_window") or [None, None]
        if window[1]:
            windows[version] = dt.date.fromisoformat(window[1])
    return windows


def resolved_forecasts(
    history: pd.DataFrame,
    panel: pd.DataFrame,
    target: SurgeTarget,
    windows: dict[str, dt.date],
) -> pd.DataFrame:
    """One row per (theatre, week) forecast with its outcome where known.

    Columns: theatre, as_of, model_version, probability, expected, lower, upper,
    out_of_sample, climatology, label (NaN while unknown), future_violent, resolved.
    """
    columns = [
        "theatre",
        "as_of",
        "model_version",
        "probability",
        "expected",
        "lower",
        "upper",
        "out_of_sample",
        "climatology",
        "label",
        "future_violent",
        "resolved",
    ]
    if history.empty or panel.empty:
        return pd.DataFrame(columns=columns)
    scored = history[history["probability"].notna()].copy()
    scored["as_of"] = pd.to_datetime(scored["as_of"])
    trained_to = pd.to_datetime(scored["model_version"].map(windows))
    horizon = pd.Timedelta(weeks=target.horizon)
    scored["out_of_sample"] = (
        trained_to.notna() & (trained_to <= scored["as_of"] - horizon)
    ).astype(bool)
    scored = scored.sort_values(
        ["theatre", "as_of", "out_of_sample", "created_at", "id"],
        ascending=[True, True, False, True, True],
    ).drop_duplicates(["theatre", "as_of"], keep="first")

    frame = panel[["theatre", "week", "label", "future_violent"]].copy()
    # The outcome of week w is known after w + h: the rate over weeks up to w - h.
    frame["climatology"] = frame.groupby("theatre", sort=False)["label"].transform(
        lambda s: s.expanding().mean().shift(target.horizon)
    )
    pooled = frame["label"].mean()
    frame["climatology"] = frame["climatology"].fillna(pooled)
    joined = scored.merge(
        frame, left_on=["theatre", "as_of"], right_on=["theatre", "week"], how="left"
    )
    joined["resolved"] = joined["label"].notna()
    return joined[columns].reset_index(drop=True)


@dataclass
class TrackRecord:
    """The record of live forecasts: how many, how many resolved, how good."""

    forecasts: int  # every stored score with a probability
    weeks: int  # distinct (theatre, week) forecasts
    resolved: int  # out of sample and resolved
    in_sample_resolved: int
    brier: float | None
    climatology_brier: float | None
    coverage: float | None  # share of resolved counts inside their 80% interval
    reliability: list[dict[str, float]] = field(default_factory=list)
    backtest_reliability: list[dict[str, float]] = field(default_factory=list)
    theatres: pd.DataFrame = field(default_factory=pd.DataFrame)
    in_sample: dict[str, float | None] = field(default_factory=dict)
    first_week: dt.date | None = None
    last_week: dt.date | None = None

    @property
    def skill(self) -> float | None:
        """Brier skill score against climatology (1 perfect, 0 no better, < 0 worse)."""
        if self.brier is None or not self.climatology_brier:
            return None
        return 1 - self.brier / self.climatology_brier

    def as_json(self) -> dict[str, Any]:
        def r(value: float | None) -> float | None:
            if value is None or np.isnan(value):
                return None  # JSON has no NaN
            return round(float(value), 4)

        return {
            "forecasts": self.forecasts,
            "forecast_weeks": self.weeks,
            "resolved": self.resolved,
            "brier": r(self.brier),
            "climatology_brier": r(self.climatology_brier),
            "skill": r(self.skill),
            "coverage": r(self.coverage),
            "warning_probability": WARNING_PROBABILITY,
            "first_week": None if self.first_week is None else self.first_week.isoformat(),
            "last_week": None if self.last_week is None else self.last_week.isoformat(),
            "reliability": self.reliability,
            "backtest_reliability": self.backtest_reliability,
            "theatres": [
                {k: (r(v) if isinstance(v, float) else v) for k, v in row.items()}
                for row in self.theatres.to_dict("records")
            ],
            "in_sample_resolved": self.in_sample_resolved,
            "in_sample": {k: r(v) for k, v in self.in_sample.items()},
        }


def _scores(rows: pd.DataFrame) -> dict[str, float | None]:
    if rows.empty:
        return {"brier": None, "climatology_brier": None, "coverage": None}
    y = rows["label"].to_numpy(dtype=float)
    actual = rows["future_violent"].to_numpy(dtype=float)
    inside = (actual >= rows["lower"].to_numpy(dtype=float)) & (
        actual <= rows["upper"].to_numpy(dtype=float)
    )
    known = ~np.isnan(actual)
    return {
        "brier": brier(y, rows["probability"].to_numpy(dtype=float)),
        "climatology_brier": brier(y, rows["climatology"].to_numpy(dtype=float)),
        "coverage": float(inside[known].mean()) if known.any() else None,
    }


def per_theatre(rows: pd.DataFrame) -> pd.DataFrame:
    """Per theatre: resolved forecasts, surges, hits, misses, false alarms, Brier, skill."""
    columns = [
        "theatre",
        "resolved",
        "surges",
        "warnings",
        "hits",
        "misses",
        "false_alarms",
        "brier",
        "climatology_brier",
        "skill",
    ]
    out = []
    for theatre, group in rows.groupby("theatre", sort=False):
        y = group["label"].to_numpy(dtype=float) == 1
        warned = group["probability"].to_numpy(dtype=float) >= WARNING_PROBABILITY
        scores = _scores(group)
        skill = None
        if scores["climatology_brier"]:
            skill = 1 - scores["brier"] / scores["climatology_brier"]
        out.append(
            {
                "theatre": theatre,
                "resolved": len(group),
                "surges": int(y.sum()),
                "warnings": int(warned.sum()),
                "hits": int((y & warned).sum()),
                "misses": int((y & ~warned).sum()),
                "false_alarms": int((~y & warned).sum()),
                "brier": scores["brier"],
                "climatology_brier": scores["climatology_brier"],
                "skill": skill,
            }
        )
    return pd.DataFrame(out, columns=columns)


def track_record(
    store: Store,
    panel: pd.DataFrame,
    target: SurgeTarget,
    backtest_reliability: list[dict[str, float]] | None = None,
) -> TrackRecord:
    """The track record of every stored score against the panel's surge outcomes."""
    history = score_history(store)
    forecasts = int(history["probability"].notna().sum()) if not history.empty else 0
    rows = resolved_forecasts(history, panel, target, model_windows(store))
    done = rows.loc[rows["resolved"].astype(bool)]
    live = done.loc[done["out_of_sample"].astype(bool)]
    hindsight = done.loc[~done["out_of_sample"].astype(bool)]
    headline = _scores(live)
    reliability = (
        reliability_curve(
            live["label"].to_numpy(dtype=int), live["probability"].to_numpy(dtype=float)
        )
        if not live.empty
        else []
    )
    return TrackRecord(
        forecasts=forecasts,
        weeks=len(rows),
        resolved=len(live),
        in_sample_resolved=len(hindsight),
        brier=headline["brier"],
        climatology_brier=headline["climatology_brier"],
        coverage=headline["coverage"],
        reliability=reliability,
        backtest_reliability=list(backtest_reliability or []),
        theatres=per_theatre(live),
        in_sample=_scores(hindsight),
        first_week=None if rows.empty else rows["as_of"].min().date(),
        last_week=None if rows.empty else rows["as_of"].max().date(),
    )
