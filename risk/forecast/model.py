"""The escalation model: a scikit-learn Pipeline pooled across theatres.

It gives the probability of a surge in the next ``horizon`` weeks, the expected number of
violent incidents over those weeks with an 80% interval (Poisson regression with a negative
binomial spread), and the drivers of each forecast: how much each feature moves the log-odds
against its typical (training median) value. Models are persisted with joblib in the store,
with metadata; a model saved under other library versions or target settings is refused.
"""

from __future__ import annotations

import io
import math
import platform
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
import pandas as pd
import scipy
import sklearn
from scipy import optimize, stats
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from risk.forecast.panel import SurgeTarget

# Feature -> transform. Counts are heavy-tailed, so they enter on a log scale.
FEATURES: dict[str, str] = {
    "violent_mean_1": "log",
    "violent_mean_4": "log",
    "violent_mean_12": "log",
    "violent_mean_52": "log",
    "ratio_4_12": "log",
    "fatalities_mean_4": "log",
    "fatalities_per_violent_4": "log",
    "actors_mean_4": "log",
    "incidents_mean_4": "log",
    "volatility_52": "raw",
    "surges_52": "log",
    "weeks_since_surge": "log",
    "change_4": "raw",
    "change_52": "raw",
    "others_surging": "raw",
    "others_surging_4": "log",
    "region_violent_other_mean_4": "log",
    "window_surge_rate_52": "raw",
    "surge_rate_long": "raw",
    "level_vs_year": "log",
    "nb_surge_prob": "raw",
    "peers_surging_4": "log",
    "peers_ratio_4_12": "log",
}
# The count forecast uses recent levels only: in backtests on the demo at theatre and
# governorate level it beat both the naive forecast and regressions on the full feature set.
COUNT_FEATURES = ("violent_mean_1", "violent_mean_4", "violent_mean_12", "violent_mean_52")
# "Levels": only recent counts. Much apparent skill on real data comes from these alone.
LEVEL_FEATURES = ("violent_mean_1", "violent_mean_4", "violent_mean_12")
# Few theatres give few surges to learn from; a compact set overfits less there.
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "full": tuple(FEATURES),
    "compact": (
        "violent_mean_1",
        "violent_mean_4",
        "violent_mean_12",
        "nb_surge_prob",
        "weeks_since_surge",
        "surge_rate_long",
        "level_vs_year",
        "peers_surging_4",
        "peers_ratio_4_12",
    ),
    "levels": LEVEL_FEATURES,
}
ESTIMATORS = ("logistic", "boosting")
# What training compares by backtest; the best pooled Brier score is kept.
CANDIDATES = tuple((e, f) for e in ESTIMATORS for f in FEATURE_SETS)
MIN_TRAIN_WEEKS = 52
MIN_CLASS_LABELS = 10
INTERVAL = 0.80

_CHANGE = {
    -1: "a large decrease",
    0: "limited change",
    1: "a moderate increase",
    2: "a large increase",
}


class ModelError(RuntimeError):
    """The model cannot be trained or used; the message says why and what to do."""


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
    }


def _features_step(features: tuple[str, ...]) -> ColumnTransformer:
    logged = [f for f in features if FEATURES.get(f) == "log"]
    raw = [f for f in features if FEATURES.get(f) != "log"]
    steps = []
    if logged:
        steps.append(("log", FunctionTransformer(np.log1p, feature_names_out="one-to-one"), logged))
    if raw:
        steps.append(("raw", "passthrough", raw))
    return ColumnTransformer(steps, verbose_feature_names_out=False)


def make_classifier(estimator: str, features: tuple[str, ...]) -> Pipeline:
    """An unfitted classification Pipeline: feature transforms, then the estimator."""
    if estimator == "logistic":
        return Pipeline(
            [
                ("features", _features_step(features)),
                ("scale", StandardScaler()),
                ("classifier", LogisticRegression(C=0.05, max_iter=5000)),
            ]
        )
    if estimator == "boosting":
        return Pipeline(
            [
                ("features", _features_step(features)),
                (
                    "classifier",
                    HistGradientBoostingClassifier(
                        max_depth=3,
                        learning_rate=0.05,
                        max_iter=150,
                        min_samples_leaf=40,
                        l2_regularization=1.0,
                        random_state=0,
                    ),
                ),
            ]
        )
    raise ModelError(f"unknown estimator {estimator!r}; use one of {', '.join(ESTIMATORS)}")


def make_count_model(features: tuple[str, ...]) -> Pipeline:
    """An unfitted Poisson regression for violent incidents over the horizon."""
    return Pipeline(
        [
            ("features", _features_step(features)),
            ("scale", StandardScaler()),
            ("regressor", PoissonRegressor(alpha=1e-3, solver="newton-cholesky", max_iter=100)),
        ]
    )


def training_rows(panel: pd.DataFrame) -> pd.DataFrame:
    """Panel rows whose label is known (the horizon ahead is observed)."""
    if panel.empty:
        return panel
    return panel[panel["label"].notna() & panel["future_violent"].notna()]


def check_trainable(rows: pd.DataFrame) -> None:
    """Refuse data too thin for a meaningful model, saying how much is there."""
    if rows.empty:
        raise ModelError("no data to train on: load incidents first (python -m risk ingest FILE)")
    weeks = rows["week"].nunique()
    positives = int(rows["label"].sum())
    negatives = len(rows) - positives
    if weeks < MIN_TRAIN_WEEKS:
        raise ModelError(
            f"too little data to train: {weeks} weeks with known outcomes; at least "
            f"{MIN_TRAIN_WEEKS} are needed (a year of weekly data plus the forecast horizon)"
        )
    if positives < MIN_CLASS_LABELS or negatives < MIN_CLASS_LABELS:
        raise ModelError(
            f"too little data to train: {positives} theatre-weeks followed by a surge and "
            f"{negatives} not; at least {MIN_CLASS_LABELS} of each are needed. Load more "
            "history, add theatres, or change the surge settings"
        )


@dataclass(frozen=True)
class Driver:
    feature: str
    contribution: float  # change in log-odds against the feature's typical value
    text: str

    def as_json(self) -> dict[str, object]:
        return {
            "feature": self.feature,
            "contribution": round(self.contribution, 4),
            "text": self.text,
        }


def describe_feature(feature: str, value: float) -> str:
    """The feature's value in words."""
    match feature:
        case "violent_mean_1":
            return f"{value:,.0f} violent incidents last week"
        case "violent_mean_4":
            return f"{value:,.1f} violent incidents a week over the last 4 weeks"
        case "violent_mean_12":
            return f"{value:,.1f} violent incidents a week over the last 12 weeks"
        case "violent_mean_52":
            return f"{value:,.1f} violent incidents a week over the past year"
        case "ratio_4_12":
            return f"the last 4 weeks ran at {value:.1f}x the 12 weeks before"
        case "fatalities_mean_4":
            return f"{value:,.1f} deaths a week over the last 4 weeks"
        case "fatalities_per_violent_4":
            return f"{value:.2f} deaths per violent incident over the last 4 weeks"
        case "actors_mean_4":
            return f"{value:,.1f} distinct actors a week over the last 4 weeks"
        case "incidents_mean_4":
            return f"{value:,.1f} incidents of all kinds a week over the last 4 weeks"
        case "volatility_52":
            return f"week-to-week volatility over the past year of {value:.2f}"
        case "surges_52":
            return f"{value:.0f} surge week{'s' if value != 1 else ''} in the past year"
        case "weeks_since_surge":
            return (
                "no surge in the past 3 years"
                if value >= 156
                else f"last surge {value:.0f} weeks ago"
            )
        case "change_4":
            return f"this week shows {_CHANGE.get(int(value), value)} against the past 4 weeks"
        case "change_52":
            return f"this week shows {_CHANGE.get(int(value), value)} against the past year"
        case "others_surging":
            return f"{value:.0f} other theatre{'s' if value != 1 else ''} surging this week"
        case "others_surging_4":
            return f"{value:.0f} surge weeks in other theatres over the last 4 weeks"
        case "window_surge_rate_52":
            return f"a surge in {value:.0%} of 4-week spans over the past year"
        case "surge_rate_long":
            return f"surge weeks in {value:.0%} of all weeks on record"
        case "level_vs_year":
            return f"the last 4 weeks ran at {value:.1f}x the yearly average"
        case "nb_surge_prob":
            return f"{value:.0%} chance of a surge from week-to-week noise at this level"
        case "peers_surging_4":
            return f"{value:.0f} surge weeks in the same country's other theatres over 4 weeks"
        case "peers_ratio_4_12":
            return f"the same country's other theatres ran at {value:.1f}x their previous 12 weeks"
        case "region_violent_other_mean_4":
            return f"{value:,.0f} violent incidents a week elsewhere in the region"
    return f"{feature} = {value:g}"


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


@dataclass
class SurgeModel:
    """A fitted model with what is needed to forecast, explain and audit it."""

    classifier: Pipeline
    counts: Pipeline
    dispersion: float
    interval_level: float  # nominal level whose interval covered 80% of training outcomes
    features: tuple[str, ...]
    estimator: str
    target: SurgeTarget
    reference: dict[str, float]
    metadata: dict[str, Any] = field(default_factory=dict)
    history: pd.DataFrame | None = None  # out-of-sample backtest forecasts per theatre-week

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unsaved"))

    def probability(self, rows: pd.DataFrame) -> np.ndarray:
        return self.classifier.predict_proba(rows[list(self.features)])[:, 1]

    def expected(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Expected violent incidents over the horizon, with the 80% interval."""
        mean = np.clip(self.counts.predict(rows), 1e-6, None)
        return (mean, *negative_binomial_interval(mean, self.dispersion, self.interval_level))

    def drivers(self, row: pd.Series, top: int = 4) -> list[Driver]:
        """The features that move this forecast most, each against its typical value."""
        base = pd.DataFrame([row[list(self.features)]] * (len(self.features) + 1))
        for i, feature in enumerate(self.features, start=1):
            base.iloc[i, base.columns.get_loc(feature)] = self.reference[feature]
        logits = _logit(self.probability(base.reset_index(drop=True)))
        contributions = logits[0] - logits[1:]
        order = np.argsort(-np.abs(contributions))[:top]
        drivers = []
        for index in order:
            feature, contribution = self.features[index], float(contributions[index])
            if abs(contribution) < 0.01:
                continue
            verb = "raises" if contribution > 0 else "lowers"
            drivers.append(
                Driver(
                    feature,
                    contribution,
                    f"{describe_feature(feature, float(row[feature]))}: {verb} the odds "
                    f"{math.exp(abs(contribution)):.1f}x (typical: "
                    f"{describe_feature(feature, self.reference[feature])})",
                )
            )
        return drivers


def negative_binomial_interval(
    mean: np.ndarray, dispersion: float, level: float = INTERVAL
) -> tuple[np.ndarray, np.ndarray]:
    """Central interval of a negative binomial with this mean and Var = mu + a mu^2."""
    size = 1 / max(dispersion, 1e-6)
    prob = size / (size + mean)
    tail = (1 - level) / 2
    return stats.nbinom.ppf(tail, size, prob), stats.nbinom.ppf(1 - tail, size, prob)


def _dispersion(actual: np.ndarray, mean: np.ndarray) -> float:
    """Negative binomial dispersion ``a`` (Var = mu + a mu^2) by maximum likelihood.

    Maximum likelihood, not the method of moments: the moment estimate is dominated by a few
    theatre-weeks with huge residuals and gave 80% intervals covering 96% of outcomes.
    """
    mean = np.clip(mean, 1e-6, None)

    def negative_log_likelihood(log_a: float) -> float:
        size = 1 / np.exp(log_a)
        return -float(stats.nbinom.logpmf(actual, size, size / (size + mean)).sum())

    fitted = optimize.minimize_scalar(negative_log_likelihood, bounds=(-7, 3), method="bounded")
    return float(np.exp(fitted.x))


def _calibrated_level(actual: np.ndarray, mean: np.ndarray, dispersion: float) -> float:
    """The nominal level whose negative binomial intervals cover INTERVAL of ``actual``.

    One dispersion for theatres of very different sizes makes nominal 80% intervals cover
    85-95% of outcomes; choosing the level on the training rows restores 80%.
    """
    low, high = 0.3, 0.99
    for _ in range(25):
        level = (low + high) / 2
        lower, upper = negative_binomial_interval(mean, dispersion, level)
        covered = np.mean((actual >= lower) & (actual <= upper))
        low, high = (level, high) if covered < INTERVAL else (low, level)
    return (low + high) / 2


def fit_model(
    panel: pd.DataFrame,
    target: SurgeTarget,
    estimator: str = "logistic",
    feature_set: str = "full",
) -> SurgeModel:
    """Fit the classifier and the count model on every panel row with a known outcome."""
    if feature_set not in FEATURE_SETS:
        raise ModelError(
            f"unknown feature set {feature_set!r}; use one of {', '.join(FEATURE_SETS)}"
        )
    features = FEATURE_SETS[feature_set]
    rows = training_rows(panel).sort_values(["week", "theatre"])
    check_trainable(rows)
    classifier = make_classifier(estimator, features).fit(rows, rows["label"].astype(int))
    counts = make_count_model(COUNT_FEATURES).fit(rows, rows["future_violent"])
    fitted = np.clip(counts.predict(rows), 1e-6, None)
    actual = rows["future_violent"].to_numpy()
    dispersion = _dispersion(actual, fitted)
    return SurgeModel(
        classifier=classifier,
        counts=counts,
        dispersion=dispersion,
        interval_level=_calibrated_level(actual, fitted, dispersion),
        features=features,
        estimator=estimator,
        target=target,
        reference={f: float(rows[f].median()) for f in features},
        metadata={
            "estimator": estimator,
            "feature_set": feature_set,
            "features": list(features),
            "target": target.as_dict(),
            "training_window": [
                rows["week"].min().date().isoformat(),
                rows["week"].max().date().isoformat(),
            ],
            "training_rows": len(rows),
            "training_positives": int(rows["label"].sum()),
            "theatres": sorted(rows["theatre"].unique().tolist()),
            "libraries": library_versions(),
        },
    )


def dump_model(model: SurgeModel) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    return buffer.getvalue()


def load_model_bytes(data: bytes, metadata: dict[str, Any], target: SurgeTarget) -> SurgeModel:
    """Unpickle a stored model after checking it was made by these libraries for this target."""
    saved = metadata.get("libraries", {})
    current = library_versions()
    differing = [
        f"{name} {saved.get(name)} (now {version})"
        for name, version in current.items()
        if name != "python" and saved.get(name) != version
    ]
    if differing:
        raise ModelError(
            f"the stored model {metadata.get('version')} was trained with "
            f"{', '.join(differing)}; retrain it with: python -m risk train"
        )
    if metadata.get("target") != target.as_dict():
        raise ModelError(
            f"the stored model {metadata.get('version')} was trained for surge settings "
            f"{metadata.get('target')}, but the settings are now {target.as_dict()}; retrain "
            "it with: python -m risk train"
        )
    model = joblib.load(io.BytesIO(data))
    if not isinstance(model, SurgeModel):
        raise ModelError("the stored model is not a surge model; retrain: python -m risk train")
    return model
