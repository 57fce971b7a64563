"""Rolling-origin backtest of the model against the field's baselines.

Train on everything before a cut-off whose outcome was known before it (a training row at week
``w`` needs ``w + horizon < cut-off``), forecast the next period, move the cut-off forward:
quarterly folds where there is at least a year to test, else yearly. Every forecast in the
result is out of sample; the baselines are fitted on the same rows and scored the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from risk.forecast.baselines import (
    AverageClassifier,
    ClimatologyClassifier,
    ConflictologyClassifier,
    PersistenceClassifier,
)
from risk.forecast.metrics import count_metrics, probability_metrics, reliability_curve
from risk.forecast.model import (
    CANDIDATES,
    LEVEL_FEATURES,
    MIN_TRAIN_WEEKS,
    ModelError,
    check_trainable,
    fit_model,
    make_classifier,
    training_rows,
)
from risk.forecast.panel import SurgeTarget, week_numbers

FORECASTS = ("model", "climatology", "persistence", "average", "conflictology", "levels")
QUARTER, YEAR = 13, 52


@dataclass(frozen=True)
class Fold:
    cutoff: pd.Timestamp
    end: pd.Timestamp  # first week after the test period
    last_training_week: pd.Timestamp
    train_rows: int
    test_rows: int
    test_positives: int

    def as_json(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff.date().isoformat(),
            "end": self.end.date().isoformat(),
            "last_training_week": self.last_training_week.date().isoformat(),
            "train_rows": self.train_rows,
            "test_rows": self.test_rows,
            "test_positives": self.test_positives,
        }


@dataclass
class BacktestResult:
    target: SurgeTarget
    estimator: str
    feature_set: str
    folds: list[Fold]
    predictions: pd.DataFrame  # theatre, week, label, future_violent, one column per forecast
    summary: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target.as_dict(),
            "estimator": self.estimator,
            "feature_set": self.feature_set,
            "folds": [f.as_json() for f in self.folds],
            **self.summary,
        }


def fold_cutoffs(rows: pd.DataFrame, horizon: int) -> tuple[list[int], int]:
    """Cut-off week numbers and the step between them."""
    weeks = week_numbers(rows["week"])
    first = int(weeks.min()) + MIN_TRAIN_WEEKS + horizon
    last = int(weeks.max())
    if first > last:
        raise ModelError(
            f"too little data to backtest: {int(weeks.max() - weeks.min()) + 1} weeks with known "
            f"outcomes; a backtest needs more than {MIN_TRAIN_WEEKS + horizon} (a year to train "
            "on, then weeks to test)"
        )
    step = QUARTER if last - first + 1 >= YEAR else YEAR
    return list(range(first, last + 1, step)), step


def training_mask(weeks: np.ndarray, cutoff: int, horizon: int) -> np.ndarray:
    """Rows whose whole label window ends before the cut-off."""
    return weeks + horizon < cutoff


def run_backtest(
    panel: pd.DataFrame,
    target: SurgeTarget,
    estimator: str = "logistic",
    feature_set: str = "full",
) -> BacktestResult:
    """Out-of-sample forecasts of the model and every baseline over rolling folds."""
    rows = training_rows(panel).reset_index(drop=True)
    check_trainable(rows)
    weeks = week_numbers(rows["week"])
    cutoffs, step = fold_cutoffs(rows, target.horizon)
    parts, folds = [], []
    for cutoff in cutoffs:
        train = rows[training_mask(weeks, cutoff, target.horizon)]
        test = rows[(weeks >= cutoff) & (weeks < cutoff + step)]
        y = train["label"].astype(int)
        if test.empty or y.nunique() < 2:
            continue
        try:
            model = fit_model(train, target, estimator, feature_set)
        except ModelError:
            continue  # too little training data yet for this cut-off
        levels = make_classifier(estimator, LEVEL_FEATURES).fit(train, y)
        expected, lower, upper = model.expected(test)
        part = test[["theatre", "week", "label", "future_violent"]].copy()
        part["fold"] = len(folds)
        part["model"] = model.probability(test)
        part["levels"] = levels.predict_proba(test)[:, 1]
        for name, baseline in (
            ("climatology", ClimatologyClassifier()),
            ("persistence", PersistenceClassifier(recent=target.horizon)),
            ("average", AverageClassifier(horizon=target.horizon)),
            ("conflictology", ConflictologyClassifier()),
        ):
            part[name] = baseline.fit(train, y).predict_proba(test)[:, 1]
        part["expected"], part["lower"], part["upper"] = expected, lower, upper
        part["naive_expected"] = test["violent_mean_4"] * target.horizon
        parts.append(part)
        start = pd.Timestamp("1970-01-05") + pd.Timedelta(weeks=cutoff)
        folds.append(
            Fold(
                cutoff=start,
                end=start + pd.Timedelta(weeks=step),
                last_training_week=train["week"].max(),
                train_rows=len(train),
                test_rows=len(test),
                test_positives=int(test["label"].sum()),
            )
        )
    if not parts:
        raise ModelError("too little data to backtest: no fold had both outcomes in training")
    predictions = pd.concat(parts, ignore_index=True)
    result = BacktestResult(target, estimator, feature_set, folds, predictions)
    result.summary = summarise(predictions)
    return result


def _block(frame: pd.DataFrame) -> dict[str, Any]:
    y = frame["label"].astype(int).to_numpy()
    climatology = frame["climatology"].to_numpy()
    return {name: probability_metrics(y, frame[name].to_numpy(), climatology) for name in FORECASTS}


def summarise(predictions: pd.DataFrame) -> dict[str, Any]:
    """Pooled and per-theatre metrics, reliability points and count-forecast accuracy."""
    pooled = _block(predictions)
    theatres = []
    for theatre, part in predictions.groupby("theatre", sort=False):
        block = _block(part)
        positives = int(part["label"].sum())
        theatres.append(
            {
                "theatre": theatre,
                "positives": positives,
                "too_few_positives": block["model"]["roc_auc"] is None,
                **block,
                "counts": count_metrics(
                    part["future_violent"], part["expected"], part["lower"], part["upper"]
                ),
            }
        )
    rated = [t["model"]["roc_auc"] for t in theatres if not t["too_few_positives"]]
    return {
        "pooled": pooled,
        "theatres": theatres,
        "median_theatre_auc": float(np.median(rated)) if rated else None,
        "theatres_rated": len(rated),
        "reliability": reliability_curve(
            predictions["label"].astype(int).to_numpy(), predictions["model"].to_numpy()
        ),
        "counts": count_metrics(
            predictions["future_violent"],
            predictions["expected"],
            predictions["lower"],
            predictions["upper"],
        ),
        # Reference for the count forecast: the last 4 weeks' rate carried over the horizon.
        "counts_naive_mae": float(
            np.mean(np.abs(predictions["future_violent"] - predictions["naive_expected"]))
        ),
    }


def select_model(
    panel: pd.DataFrame, target: SurgeTarget, candidates: tuple[tuple[str, str], ...] = CANDIDATES
) -> tuple[BacktestResult, list[dict[str, Any]]]:
    """Backtest each candidate (estimator, feature set); keep the best pooled Brier score.

    Returns the winner's backtest and a row per candidate with its pooled scores.
    """
    results = [
        run_backtest(panel, target, estimator, features) for estimator, features in candidates
    ]
    table = [
        {
            "estimator": r.estimator,
            "feature_set": r.feature_set,
            "brier": r.summary["pooled"]["model"]["brier"],
            "roc_auc": r.summary["pooled"]["model"]["roc_auc"],
            "ece": r.summary["pooled"]["model"]["ece"],
        }
        for r in results
    ]
    best = min(results, key=lambda r: r.summary["pooled"]["model"]["brier"])
    return best, table


__all__ = ["FORECASTS", "BacktestResult", "Fold", "run_backtest", "select_model"]
