"""How forecasts are judged: discrimination, calibration, skill against climatology, and the
count forecasts' error, interval coverage and CRPS."""

from __future__ import annotations

import numpy as np
from scipy import special, stats
from scipy.stats import rankdata

# Fewer positives (or negatives) than this in a theatre's test weeks: AUC and skill are noise.
MIN_CLASS_COUNT = 5
RELIABILITY_BINS = 10


def enough_cases(positives: int, total: int) -> bool:
    """The one rule for "too few positives to tell": every table and chart rates a theatre
    (AUC, average precision, Brier skill) only when this holds for its test weeks."""
    return positives >= MIN_CLASS_COUNT and total - positives >= MIN_CLASS_COUNT


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half); equals scikit-learn's."""
    ranks = rankdata(p)
    positives = int(y.sum())
    negatives = len(y) - positives
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def average_precision(y: np.ndarray, p: np.ndarray) -> float:
    """Average precision, as scikit-learn defines it (step-wise, tied scores grouped)."""
    order = np.argsort(-p, kind="stable")
    scores, hits = p[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_positives = np.cumsum(hits)[last_of_tie]
    precision = true_positives / (last_of_tie + 1)
    recall = true_positives / hits.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = RELIABILITY_BINS) -> float:
    """Mean |observed rate - mean forecast| over equal-width bins, weighted by bin size."""
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.sum() * abs(y[mask].mean() - p[mask].mean())
    return float(total / len(y))


def reliability_curve(y: np.ndarray, p: np.ndarray, bins: int = RELIABILITY_BINS) -> list[dict]:
    """Points of the reliability diagram: mean forecast, observed rate, count per bin."""
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    points = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            points.append(
                {
                    "forecast": float(p[mask].mean()),
                    "observed": float(y[mask].mean()),
                    "n": int(mask.sum()),
                }
            )
    return points


def probability_metrics(
    y: np.ndarray, p: np.ndarray, climatology: np.ndarray | None = None
) -> dict[str, float | int | None]:
    """ROC AUC, average precision, Brier, Brier skill score vs climatology, ECE, n.

    AUC, average precision and Brier skill are None when either class has fewer than
    :data:`MIN_CLASS_COUNT` cases (:func:`enough_cases`: they would be noise, not skill).
    """
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    enough = enough_cases(int(y.sum()), len(y))
    score = brier(y, p) if len(y) else None
    bss = None
    if climatology is not None and enough:
        reference = brier(y, np.asarray(climatology, dtype=float))
        bss = 1 - score / reference if reference > 0 and score is not None else None
    return {
        "roc_auc": roc_auc(y, p) if enough else None,
        "average_precision": average_precision(y, p) if enough else None,
        "brier": score,
        "bss": bss,
        "ece": expected_calibration_error(y, p) if len(y) else None,
        "n": int(len(y)),
    }


def nbinom_cdf(k: np.ndarray, size: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Negative binomial CDF via the regularized incomplete beta function (scipy.stats' own
    cdf is 20x slower, and this runs inside calibration loops)."""
    k = np.floor(np.asarray(k, dtype=float))
    return np.where(k < 0, 0.0, special.betainc(size, np.maximum(k, 0) + 1, prob))


def crps_negative_binomial(
    actual: np.ndarray, mean: np.ndarray, dispersion: np.ndarray | float
) -> np.ndarray:
    """CRPS of negative binomial forecasts (Var = mu + a mu^2), exactly, per observation.

    CRPS(F, y) = sum over k >= 0 of (F(k) - 1{y <= k})^2 for a distribution on the integers;
    the sum runs until both the forecast's upper tail (below 1e-7) and ``y`` are passed. The
    probabilities come from the pmf recurrence p(k+1) = p(k) (k + n) / (k + 1) (1 - p), in logs:
    much cheaper than a CDF per point on long backtests.
    """
    actual = np.asarray(actual, dtype=float)
    mean = np.clip(np.asarray(mean, dtype=float), 1e-9, None)
    size = 1 / np.clip(np.broadcast_to(np.asarray(dispersion, dtype=float), mean.shape), 1e-6, None)
    prob = size / (size + mean)
    tops = np.fmax(np.nan_to_num(actual), stats.nbinom.isf(1e-7, size, prob))
    result = np.empty(len(actual))
    order = np.argsort(tops, kind="stable")  # similar supports together: less padding
    for start in range(0, len(order), 1000):
        rows = order[start : start + 1000]
        support = np.arange(int(tops[rows].max()) + 2)
        n, p, y = size[rows, None], prob[rows, None], actual[rows, None]
        steps = np.log((support[None, :-1] + n) / (support[None, :-1] + 1)) + np.log1p(-p)
        log_pmf = n * np.log(p) + np.concatenate(
            [np.zeros((len(rows), 1)), np.cumsum(steps, axis=1)], axis=1
        )
        cdf = np.minimum(np.cumsum(np.exp(log_pmf), axis=1), 1.0)
        result[rows] = ((cdf - (support[None, :] >= y)) ** 2).sum(axis=1)
    return result


def count_metrics(
    actual: np.ndarray,
    expected: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    dispersion: np.ndarray | float | None = None,
) -> dict[str, float | int]:
    """MAE of the expected count, the share of actual counts inside the interval, and (given
    the negative binomial dispersion) the mean CRPS."""
    actual = np.asarray(actual, dtype=float)
    result: dict[str, float | int] = {
        "mae": float(np.mean(np.abs(actual - expected))),
        "coverage": float(np.mean((actual >= lower) & (actual <= upper))),
        "n": int(len(actual)),
    }
    if dispersion is not None:
        result["crps"] = float(np.mean(crps_negative_binomial(actual, expected, dispersion)))
    return result
