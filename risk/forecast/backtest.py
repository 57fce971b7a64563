"""Nested rolling-origin backtest: every candidate forecaster, and the choice among them.

Train on everything before a cut-off whose outcome was known before it (a training row at week
``w`` needs ``w + horizon < cut-off``), forecast the next period, move the cut-off forward:
quarterly folds where there is at least a year to test (at most :data:`MAX_FOLDS`, so long
histories stay affordable), else yearly. Every candidate (the baselines included) is fitted and
scored in every fold.

The selection is nested: the forecaster of fold ``k`` is the candidate with the lowest Brier
score on the out-of-sample forecasts whose outcome was known before fold ``k``'s cut-off (the
earlier folds, plus an inner fold just before the first cut-off). The reported "model" column
is that procedure's forecast, so the reported skill includes the cost of choosing. The
forecaster in use from now on is the candidate best on every out-of-sample week.

Calibration is nested the same way: in fold ``k`` each learned candidate's probabilities are
Platt-scaled by a calibrator fitted on that candidate's own out-of-sample forecasts whose
outcome was known before the cut-off (see :func:`recalibrate`); the baselines are left as
they are. The forecaster in use gets a calibrator fitted on all its out-of-sample forecasts.

Counts: the Poisson regression is used only if it beats the naive forecast (the last 4 weeks'
rate carried over the horizon) on both MAE and CRPS over the backtest; otherwise the naive
forecast is shown, and the reported count metrics are the one in use's. The share of past
weeks the 80% intervals are set to hold is chosen the same nested way: in each fold, the goal
(of COVERAGE_GOALS) whose intervals held closest to 80% on the earlier out-of-sample weeks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from risk.forecast.metrics import (
    count_metrics,
    crps_negative_binomial,
    enough_cases,
    nbinom_cdf,
    probability_metrics,
    reliability_curve,
)
from risk.forecast.model import (
    BASELINES,
    CANDIDATES,
    COUNT_FEATURES,
    COVERAGE_GOALS,
    INTERVAL,
    MIN_TRAIN_WEEKS,
    ModelError,
    PlattCalibrator,
    calibrate_spreads,
    check_trainable,
    make_candidate,
    make_count_model,
    naive_expected,
    negative_binomial_interval,
    training_rows,
)
from risk.forecast.panel import week_numbers
from risk.forecast.target import SurgeTarget

# "model" is the nested procedure; then every candidate under its own name.
FORECASTS = ("model", *CANDIDATES)
QUARTER, YEAR = 13, 52
MAX_FOLDS = 8
INNER_WEEKS = 26  # the inner fold before the first cut-off: selection data for fold 0
COUNT_SOURCES = ("model", "naive")


@dataclass(frozen=True)
class Fold:
    cutoff: pd.Timestamp
    end: pd.Timestamp  # first week after the test period
    last_training_week: pd.Timestamp
    train_rows: int
    test_rows: int
    test_positives: int
    chosen: str = ""
    # Per count source, the share of past weeks its intervals were set to hold (chosen on the
    # weeks known before the cut-off).
    coverage_goals: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff.date().isoformat(),
            "end": self.end.date().isoformat(),
            "last_training_week": self.last_training_week.date().isoformat(),
            "train_rows": self.train_rows,
            "test_rows": self.test_rows,
            "test_positives": self.test_positives,
            "chosen": self.chosen,
            "coverage_goals": self.coverage_goals,
        }


@dataclass
class BacktestResult:
    target: SurgeTarget
    estimator: str
    feature_set: str
    folds: list[Fold]
    predictions: pd.DataFrame  # theatre, week, label, future_violent, one column per forecast
    summary: dict[str, Any] = field(default_factory=dict)
    in_use: str = ""
    count_source: str = "model"
    candidates: list[dict[str, Any]] = field(default_factory=list)
    calibration: pd.DataFrame | None = None  # out-of-sample count forecasts of the one in use
    calibrators: dict[str, PlattCalibrator] = field(default_factory=dict)  # from all folds
    coverage_goal: float = 0.83  # the count intervals' goal chosen on all folds

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target.as_dict(),
            "selection": "nested",
            "coverage_goal": self.coverage_goal,
            "calibration": "platt, fitted in each fold on earlier out-of-sample forecasts",
            "in_use": self.in_use,
            "baseline_in_use": self.in_use in _BASELINE_NAMES,
            "estimator": self.estimator,
            "feature_set": self.feature_set,
            "folds": [f.as_json() for f in self.folds],
            **self.summary,
        }


_BASELINE_NAMES = ("climatology", "persistence", "average", "conflictology")


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
    span = last - first + 1
    step = max(QUARTER, math.ceil(span / MAX_FOLDS)) if span >= YEAR else YEAR
    return list(range(first, last + 1, step)), step


def training_mask(weeks: np.ndarray, cutoff: int, horizon: int) -> np.ndarray:
    """Rows whose whole label window ends before the cut-off."""
    return weeks + horizon < cutoff


def candidate_forecasts(
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: SurgeTarget,
    candidates: tuple[str, ...] = tuple(CANDIDATES),
) -> pd.DataFrame:
    """Each candidate's probability and both count forecasts (mean and spread) for ``test``."""
    y = train["label"].astype(int)
    part = test[["theatre", "week", "label", "future_violent", "violent_mean_4"]].copy()
    for name in candidates:
        part[name] = make_candidate(name, target).fit(train, y).predict_proba(test)[:, 1]
    poisson = make_count_model(COUNT_FEATURES).fit(train, train["future_violent"])
    actual = train["future_violent"].to_numpy()
    for source, fitted, forecast in (
        ("model", poisson.predict(train), poisson.predict(test)),
        ("naive", naive_expected(train, target.horizon), naive_expected(test, target.horizon)),
    ):
        part[f"{source}_mean"] = np.clip(forecast, 1e-6, None)
        spreads = calibrate_spreads(train, fitted, actual, COVERAGE_GOALS)
        for goal, (pooled, per_theatre) in spreads.items():
            column = spread_column(source, goal)
            part[column] = test["theatre"].map(per_theatre).fillna(pooled).to_numpy()
    return part


def spread_column(source: str, goal: float) -> str:
    """The column holding a count forecast's spread when set to hold ``goal`` of past weeks."""
    return f"{source}_spread_{goal:.2f}"


def choose_goal(pool: pd.DataFrame, source: str) -> float:
    """The coverage goal whose intervals held closest to INTERVAL on ``pool`` (earlier
    out-of-sample weeks); the middle one when there is nothing to go by."""
    if pool.empty:
        return COVERAGE_GOALS[len(COVERAGE_GOALS) // 2]
    actual = pool["future_violent"].to_numpy(dtype=float)
    mean = pool[f"{source}_mean"].to_numpy()
    tail = (1 - INTERVAL) / 2
    miss = {}
    for goal in COVERAGE_GOALS:
        size = 1 / np.clip(pool[spread_column(source, goal)].to_numpy(dtype=float), 1e-6, None)
        prob = size / (size + mean)
        # Inside the central interval <=> cdf(y) >= tail and cdf(y - 1) < 1 - tail: the CDF
        # is many times faster than the quantile function on tens of thousands of rows.
        inside = (nbinom_cdf(actual, size, prob) >= tail) & (
            nbinom_cdf(actual - 1, size, prob) < 1 - tail
        )
        miss[goal] = abs(float(inside.mean()) - INTERVAL)
    return min(miss, key=miss.__getitem__)


def set_spreads(pool: pd.DataFrame, part: pd.DataFrame) -> dict[str, float]:
    """Give ``part`` each count source's spread at the goal chosen on ``pool``; the goals."""
    goals = {}
    for source in COUNT_SOURCES:
        goals[source] = choose_goal(pool, source)
        part[f"{source}_spread"] = part[spread_column(source, goals[source])]
    return goals


def raw_column(name: str) -> str:
    """The column holding a learned candidate's forecast before calibration."""
    return f"{name}_raw"


def recalibrate(pool: pd.DataFrame, part: pd.DataFrame, names: tuple[str, ...]) -> None:
    """Platt-scale the learned candidates' forecasts in ``part`` (in place), each with a
    calibrator fitted on its raw forecasts in ``pool``; keeps the raw ones in ``name_raw``.

    ``pool`` must hold only out-of-sample forecasts whose outcome was known before ``part``'s
    cut-off: that is what keeps the calibration inside the nested procedure. An empty or thin
    pool gives the identity.
    """
    for name in names:
        if name in BASELINES:
            continue
        part[raw_column(name)] = part[name]
        if pool.empty:
            continue
        calibrator = PlattCalibrator().fit(pool[raw_column(name)].to_numpy(), pool["label"])
        part[name] = calibrator.transform(part[name].to_numpy())


def _crps(frame: pd.DataFrame, source: str) -> np.ndarray:
    return crps_negative_binomial(
        frame["future_violent"].to_numpy(),
        frame[f"{source}_mean"].to_numpy(),
        frame[f"{source}_spread"].to_numpy(),
    )


def choose(pool: pd.DataFrame) -> str:
    """The candidate with the lowest Brier score on ``pool`` (climatology when it cannot tell)."""
    if pool.empty or pool["label"].nunique() < 2:
        return "climatology"
    y = pool["label"].to_numpy(dtype=float)
    # Ties (e.g. identical baselines) go to the first listed, the simpler one.
    scores = {
        name: float(np.mean((pool[name].to_numpy() - y) ** 2))
        for name in CANDIDATES
        if name in pool.columns
    }
    return min(scores, key=scores.__getitem__)


def run_backtest(
    panel: pd.DataFrame, target: SurgeTarget, candidates: tuple[str, ...] | None = None
) -> BacktestResult:
    """The nested backtest (see the module docstring) among ``candidates`` (default: all; the
    baselines are always among them)."""
    chosen = tuple(CANDIDATES) if candidates is None else candidates
    unknown = [name for name in chosen if name not in CANDIDATES]
    if unknown:
        raise ModelError(f"unknown candidate {unknown[0]!r}; use one of {', '.join(CANDIDATES)}")
    names = tuple(n for n in CANDIDATES if n in _BASELINE_NAMES or n in chosen)
    # Many small fits: OpenMP threads cost more than they give (100x slower under load).
    with threadpool_limits(limits=1):
        return _run_backtest(panel, target, names)


def _run_backtest(
    panel: pd.DataFrame, target: SurgeTarget, names: tuple[str, ...]
) -> BacktestResult:
    rows = training_rows(panel).reset_index(drop=True)
    check_trainable(rows)
    weeks = week_numbers(rows["week"])
    cutoffs, step = fold_cutoffs(rows, target.horizon)
    horizon = target.horizon
    # The inner fold: its forecasts only serve to choose fold 0's forecaster.
    inner_cut = cutoffs[0] - INNER_WEEKS
    inner_train = rows[training_mask(weeks, inner_cut, horizon)]
    inner_test = rows[(weeks >= inner_cut) & training_mask(weeks, cutoffs[0], horizon)]
    seen: list[pd.DataFrame] = []
    if inner_train["label"].nunique() == 2 and not inner_test.empty:
        inner = candidate_forecasts(inner_train, inner_test, target, names)
        recalibrate(pd.DataFrame(), inner, names)
        set_spreads(pd.DataFrame(), inner)
        inner["_week"] = week_numbers(inner["week"])
        seen.append(inner)
    parts, folds = [], []
    for cutoff in cutoffs:
        train = rows[training_mask(weeks, cutoff, horizon)]
        test = rows[(weeks >= cutoff) & (weeks < cutoff + step)]
        if test.empty or train["label"].nunique() < 2:
            continue
        pool = pd.concat(seen, ignore_index=True) if seen else pd.DataFrame()
        if not pool.empty:
            pool = pool[training_mask(pool["_week"].to_numpy(), cutoff, horizon)]
        chosen = choose(pool)
        part = candidate_forecasts(train, test, target, names)
        recalibrate(pool, part, names)
        goals = set_spreads(pool, part)
        part["_week"] = week_numbers(part["week"])
        seen.append(part.copy())
        part["fold"] = len(folds)
        part["chosen"] = chosen
        part["model"] = part[chosen]
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
                chosen=chosen,
                coverage_goals=goals,
            )
        )
    if not parts:
        raise ModelError("too little data to backtest: no fold had both outcomes in training")
    predictions = pd.concat(parts, ignore_index=True).drop(columns="_week")
    for source in COUNT_SOURCES:
        predictions[f"{source}_crps"] = _crps(predictions, source)
    everything = pd.concat(seen, ignore_index=True)
    in_use = choose(everything)
    # Counts: the regression is used only if it beats naive on both MAE and CRPS out of sample.
    model_better = predictions["model_crps"].mean() < predictions["naive_crps"].mean() and np.mean(
        np.abs(predictions["future_violent"] - predictions["model_mean"])
    ) < np.mean(np.abs(predictions["future_violent"] - predictions["naive_mean"]))
    count_source = "model" if model_better else "naive"
    predictions["expected"] = predictions[f"{count_source}_mean"]
    predictions["spread"] = predictions[f"{count_source}_spread"]
    predictions["lower"], predictions["upper"] = negative_binomial_interval(
        predictions["expected"].to_numpy(), predictions["spread"].to_numpy()
    )
    predictions["naive_expected"] = predictions["naive_mean"]
    estimator, feature_set = CANDIDATES[in_use]
    result = BacktestResult(
        target, estimator, feature_set or in_use, folds, predictions, in_use=in_use
    )
    result.count_source = count_source
    result.coverage_goal = choose_goal(everything, count_source)
    result.calibrators = {
        name: PlattCalibrator().fit(everything[raw_column(name)].to_numpy(), everything["label"])
        for name in names
        if name not in BASELINES
    }
    result.summary = summarise(predictions, in_use, count_source)
    result.candidates = candidate_table(predictions, in_use)
    result.calibration = predictions[["theatre", "week", "future_violent"]].assign(
        expected=predictions[f"{count_source}_mean"]
    )
    return result


def _block(frame: pd.DataFrame) -> dict[str, Any]:
    y = frame["label"].astype(int).to_numpy()
    climatology = frame["climatology"].to_numpy()
    return {
        name: probability_metrics(y, frame[name].to_numpy(), climatology)
        for name in FORECASTS
        if name in frame.columns
    }


def _counts(frame: pd.DataFrame, source: str) -> dict[str, Any]:
    """The count forecast in use (``source``) against naive and zero: MAE, CRPS, coverage."""
    actual = frame["future_violent"].to_numpy(dtype=float)
    found = {}
    for name in COUNT_SOURCES:
        mean = frame[f"{name}_mean"].to_numpy()
        lower, upper = negative_binomial_interval(mean, frame[f"{name}_spread"].to_numpy())
        found[name] = count_metrics(actual, mean, lower, upper)
        found[name]["crps"] = float(frame[f"{name}_crps"].mean())
    shown = found[source]
    return {
        "mae": shown["mae"],
        "naive_mae": found["naive"]["mae"],
        "crps": shown["crps"],
        "naive_crps": found["naive"]["crps"],
        "zero_crps": float(np.mean(np.abs(actual))),  # CRPS of a point forecast at 0
        "coverage": shown["coverage"],
        "regression_mae": found["model"]["mae"],
        "regression_crps": found["model"]["crps"],
        "regression_coverage": found["model"]["coverage"],
        "n": shown["n"],
    }


def summarise(
    predictions: pd.DataFrame, in_use: str = "model", count_source: str = "model"
) -> dict[str, Any]:
    """Pooled and per-theatre metrics, reliability points and count-forecast accuracy."""
    pooled = _block(predictions)
    theatres = []
    for theatre, part in predictions.groupby("theatre", sort=False):
        block = _block(part)
        positives = int(part["label"].sum())
        counts = _counts(part, count_source)
        theatres.append(
            {
                "theatre": theatre,
                "positives": positives,
                "too_few_positives": not enough_cases(positives, len(part)),
                "skill": block["model"]["bss"],
                **block,
                "counts": {
                    "mae": counts["mae"],
                    "coverage": counts["coverage"],
                    "n": counts["n"],
                    "crps": counts["crps"],
                    "naive_mae": counts["naive_mae"],
                    "naive_crps": counts["naive_crps"],
                    "zero_crps": counts["zero_crps"],
                },
            }
        )
    rated = [t for t in theatres if not t["too_few_positives"]]
    beating = [t for t in rated if (t["model"]["bss"] or 0) > 0]
    counts = _counts(predictions, count_source)
    counts["in_use"] = count_source
    levels = pooled.get("levels") or {}
    margin = {
        metric: (
            None
            if pooled["model"][metric] is None or levels.get(metric) is None
            else pooled["model"][metric] - levels[metric]
        )
        for metric in ("bss", "roc_auc", "brier")
    }
    return {
        "pooled": pooled,
        "theatres": theatres,
        "median_theatre_auc": (
            float(np.median([t["model"]["roc_auc"] for t in rated])) if rated else None
        ),
        "theatres_rated": len(rated),
        "theatres_beating_climatology": len(beating),
        "share_beating_climatology": len(beating) / len(rated) if rated else None,
        "margin_over_levels": margin,
        "reliability": reliability_curve(
            predictions["label"].astype(int).to_numpy(), predictions["model"].to_numpy()
        ),
        "counts": counts,
        "counts_naive_mae": counts["naive_mae"],
    }


def candidate_table(predictions: pd.DataFrame, in_use: str) -> list[dict[str, Any]]:
    """A row per candidate with its pooled out-of-sample scores (all folds)."""
    y = predictions["label"].astype(int).to_numpy()
    climatology = predictions["climatology"].to_numpy()
    table = []
    for name, (estimator, feature_set) in CANDIDATES.items():
        if name not in predictions.columns:
            continue
        metrics = probability_metrics(y, predictions[name].to_numpy(), climatology)
        table.append(
            {
                "candidate": name,
                "estimator": estimator,
                "feature_set": feature_set or name,
                "brier": metrics["brier"],
                "bss": metrics["bss"],
                "roc_auc": metrics["roc_auc"],
                "ece": metrics["ece"],
                "folds_chosen": int(predictions.groupby("fold")["chosen"].first().eq(name).sum()),
                "in_use": name == in_use,
            }
        )
    return table


def select_model(
    panel: pd.DataFrame, target: SurgeTarget, candidates: tuple[str, ...] | None = None
) -> tuple[BacktestResult, list[dict[str, Any]]]:
    """The nested backtest and its candidate table (kept for callers of the old API)."""
    result = run_backtest(panel, target, candidates)
    return result, result.candidates


__all__ = ["FORECASTS", "BacktestResult", "Fold", "run_backtest", "select_model"]
