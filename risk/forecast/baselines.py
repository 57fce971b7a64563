"""Reference forecasts the model must beat, as scikit-learn classifiers over panel rows.

Each takes ``X`` = rows of the weekly panel (a DataFrame) and follows scikit-learn's
conventions (parameters stored in ``__init__``, learned state ending in ``_``, ``fit`` returns
``self``), so the backtest scores them exactly like the model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

_FLOOR = 1e-3


def _as_proba(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _FLOOR, 1 - _FLOOR)
    return np.column_stack([1 - p, p])


class _Baseline(ClassifierMixin, BaseEstimator):
    def _remember_classes(self, y: pd.Series | np.ndarray) -> None:
        self.classes_ = np.array([0, 1])
        self.base_rate_ = float(np.mean(y))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


class ClimatologyClassifier(_Baseline):
    """The theatre's base rate of the label in training (pooled rate for unseen theatres)."""

    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray) -> ClimatologyClassifier:
        self._remember_classes(y)
        self.rates_ = (
            pd.Series(np.asarray(y, dtype=float), index=X.index)
            .groupby(X["theatre"].to_numpy())
            .mean()
        )
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        rates = X["theatre"].map(self.rates_).fillna(self.base_rate_)
        return _as_proba(rates.to_numpy())


class PersistenceClassifier(_Baseline):
    """P(surge ahead | a surge in the last ``recent`` weeks) and P(... | none), from training."""

    def __init__(self, *, recent: int = 4) -> None:
        self.recent = recent

    def _recent(self, X: pd.DataFrame) -> np.ndarray:
        return (X["weeks_since_surge"] < self.recent).to_numpy()

    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray) -> PersistenceClassifier:
        self._remember_classes(y)
        y = np.asarray(y, dtype=float)
        recent = self._recent(X)
        self.after_surge_ = float(y[recent].mean()) if recent.any() else self.base_rate_
        self.otherwise_ = float(y[~recent].mean()) if (~recent).any() else self.base_rate_
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return _as_proba(np.where(self._recent(X), self.after_surge_, self.otherwise_))


class AverageClassifier(_Baseline):
    """The share of surge weeks in the last 52 weeks, carried over the horizon.

    ``p = 1 - (1 - f) ** horizon`` where ``f`` is that share: the "average of the last N
    weeks" forecast of ViEWS, for a probability target. Learns nothing.
    """

    def __init__(self, *, horizon: int = 4) -> None:
        self.horizon = horizon

    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray) -> AverageClassifier:
        self._remember_classes(y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        share = (X["surges_52"] / X["weeks_observed_52"].clip(lower=1)).to_numpy()
        return _as_proba(1 - (1 - share) ** self.horizon)


class ConflictologyClassifier(_Baseline):
    """The theatre's own recent history resampled: of the horizon-long windows in its last
    52 weeks (all fully observed at the forecast week), the share holding a surge week.
    Learns nothing.
    """

    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray) -> ConflictologyClassifier:
        self._remember_classes(y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return _as_proba(X["window_surge_rate_52"].fillna(self.base_rate_).to_numpy())
