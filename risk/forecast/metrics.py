"""How forecasts are judged: discrimination, calibration, skill against climatology."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

# Fewer positives (or negatives) than this in a theatre's test weeks: AUC and skill are noise.
MIN_CLASS_COUNT = 5
RELIABILITY_BINS = 10


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

    AUC and average precision are None when either class has fewer than
    :data:`MIN_CLASS_COUNT` cases (they would be noise, not skill).
    """
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    positives = int(y.sum())
    enough = positives >= MIN_CLASS_COUNT and len(y) - positives >= MIN_CLASS_COUNT
    score = brier(y, p) if len(y) else None
    bss = None
    if climatology is not None and len(y):
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


def count_metrics(
    actual: np.ndarray, expected: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> dict[str, float | int]:
    """MAE of the expected count and the share of actual counts inside the interval."""
    actual = np.asarray(actual, dtype=float)
    return {
        "mae": float(np.mean(np.abs(actual - expected))),
        "coverage": float(np.mean((actual >= lower) & (actual <= upper))),
        "n": int(len(actual)),
    }
