import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import average_precision_score, roc_auc_score

from risk.forecast.baselines import (
    AverageClassifier,
    ClimatologyClassifier,
    ConflictologyClassifier,
    PersistenceClassifier,
)
from risk.forecast.metrics import (
    average_precision,
    expected_calibration_error,
    probability_metrics,
    reliability_curve,
    roc_auc,
)
from risk.forecast.model import (
    FEATURE_SETS,
    ModelError,
    describe_feature,
    dump_model,
    fit_model,
    load_model_bytes,
    make_classifier,
    negative_binomial_interval,
)
from risk.forecast.panel import SurgeTarget
from tests.synthetic import synthetic_panel

TARGET = SurgeTarget()


@pytest.fixture(scope="module")
def panel():
    return synthetic_panel()


@pytest.fixture(scope="module")
def model(panel):
    return fit_model(panel, TARGET, "logistic", "full")


def test_pipeline_follows_scikit_learn_conventions(panel):
    pipeline = make_classifier("logistic", FEATURE_SETS["full"])
    copy = clone(pipeline)
    assert copy.get_params()["classifier__C"] == pipeline.get_params()["classifier__C"]
    rows = panel[panel["label"].notna()]
    assert copy.fit(rows, rows["label"].astype(int)) is copy


def test_same_data_gives_the_same_scores(panel, model):
    again = fit_model(panel, TARGET, "logistic", "full")
    rows = panel.tail(20)
    np.testing.assert_array_equal(model.probability(rows), again.probability(rows))
    np.testing.assert_array_equal(model.expected(rows)[0], again.expected(rows)[0])
    boosted = [fit_model(panel, TARGET, "boosting", "compact").probability(rows) for _ in range(2)]
    np.testing.assert_array_equal(*boosted)


def test_probabilities_are_calibrated_in_sample(panel, model):
    rows = panel[panel["label"].notna()]
    p = model.probability(rows)
    y = rows["label"].to_numpy()
    assert abs(p.mean() - y.mean()) < 0.01
    assert expected_calibration_error(y, p) < 0.05


def test_count_interval_covers_about_eighty_percent(panel, model):
    rows = panel[panel["future_violent"].notna()]
    expected, lower, upper = model.expected(rows)
    inside = (rows["future_violent"] >= lower) & (rows["future_violent"] <= upper)
    assert 0.7 < inside.mean() < 0.95
    assert (lower <= expected).all() and (expected <= upper + 1).all()


def test_negative_binomial_interval_widens_with_dispersion():
    lo_narrow, hi_narrow = negative_binomial_interval(np.array([20.0]), 0.01)
    lo_wide, hi_wide = negative_binomial_interval(np.array([20.0]), 1.0)
    assert hi_wide - lo_wide > hi_narrow - lo_narrow


def test_drivers_are_signed_sorted_and_in_words(panel, model):
    row = panel[panel["label"].notna()].iloc[-1]
    drivers = model.drivers(row, top=4)
    assert 1 <= len(drivers) <= 4
    sizes = [abs(d.contribution) for d in drivers]
    assert sizes == sorted(sizes, reverse=True)
    for driver in drivers:
        assert ("raises the odds" in driver.text) == (driver.contribution > 0)
        assert "typical" in driver.text
    # For a linear model the contribution is exact: replacing the feature by its typical
    # value changes the log-odds by exactly that much.
    top = drivers[0]
    replaced = row.copy()
    replaced[top.feature] = model.reference[top.feature]
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    both = pd.DataFrame([row, replaced])
    p = model.probability(both)
    assert logit(p[0]) - logit(p[1]) == pytest.approx(top.contribution, abs=1e-6)


def test_every_feature_has_words():
    for feature in FEATURE_SETS["full"]:
        assert feature not in describe_feature(feature, 1.0)


@pytest.mark.parametrize("weeks", [30, 50])
def test_too_little_data_is_refused_with_a_clear_message(weeks):
    with pytest.raises(ModelError, match="too little data to train"):
        fit_model(synthetic_panel(weeks=weeks), TARGET)


def test_no_positive_labels_is_refused(panel):
    flat = panel.copy()
    flat.loc[flat["label"].notna(), "label"] = 0.0
    with pytest.raises(ModelError, match="0 theatre-weeks followed by a surge"):
        fit_model(flat, TARGET)


def test_saved_model_round_trips_and_is_refused_under_other_versions_or_settings(model):
    data = dump_model(model)
    metadata = json.loads(json.dumps(model.metadata))
    loaded = load_model_bytes(data, metadata, TARGET)
    assert loaded.features == model.features
    old = {**metadata, "libraries": {**metadata["libraries"], "scikit-learn": "0.24.2"}}
    with pytest.raises(ModelError, match="scikit-learn 0.24.2.*retrain"):
        load_model_bytes(data, old, TARGET)
    with pytest.raises(ModelError, match="surge settings.*retrain"):
        load_model_bytes(data, metadata, SurgeTarget(horizon=8))


def test_metadata_records_what_was_trained(model):
    meta = model.metadata
    assert meta["estimator"] == "logistic" and meta["feature_set"] == "full"
    assert meta["target"] == TARGET.as_dict()
    assert meta["training_window"][0] < meta["training_window"][1]
    assert {"scikit-learn", "numpy", "pandas", "joblib"} <= set(meta["libraries"])


# -- baselines --------------------------------------------------------------------------------
def frame(**columns):
    return pd.DataFrame(columns)


def test_climatology_is_each_theatres_base_rate_with_a_pooled_fallback():
    X = frame(theatre=["A", "A", "A", "B"])
    model = ClimatologyClassifier().fit(X, [1, 0, 0, 1])
    p = model.predict_proba(frame(theatre=["A", "B", "C"]))[:, 1]
    np.testing.assert_allclose(p, [1 / 3, 0.999, 0.5])


def test_persistence_conditions_on_a_recent_surge():
    X = frame(weeks_since_surge=[1, 2, 30, 40, 50])
    model = PersistenceClassifier(recent=4).fit(X, [1, 0, 0, 0, 1])
    p = model.predict_proba(frame(weeks_since_surge=[0, 99]))[:, 1]
    np.testing.assert_allclose(p, [0.5, 1 / 3])


def test_average_projects_the_weekly_surge_share_over_the_horizon():
    X = frame(surges_52=[13, 0], weeks_observed_52=[52, 52])
    p = AverageClassifier(horizon=4).fit(X, [0, 1]).predict_proba(X)[:, 1]
    np.testing.assert_allclose(p, [1 - 0.75**4, 0.001])


def test_conflictology_uses_the_theatres_own_windows():
    X = frame(window_surge_rate_52=[0.25, np.nan])
    p = ConflictologyClassifier().fit(X, [0, 1]).predict_proba(X)[:, 1]
    np.testing.assert_allclose(p, [0.25, 0.5])


# -- metrics ----------------------------------------------------------------------------------
def test_fast_metrics_equal_scikit_learns_with_ties():
    rng = np.random.default_rng(3)
    for _ in range(50):
        y = rng.integers(0, 2, 200)
        p = np.round(rng.random(200), 1)
        assert roc_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
        assert average_precision(y, p) == pytest.approx(average_precision_score(y, p), abs=1e-12)


def test_calibration_metrics():
    y = np.array([0, 0, 1, 1])
    assert expected_calibration_error(y, np.array([0.05, 0.05, 0.95, 0.95])) == pytest.approx(0.05)
    points = reliability_curve(y, np.array([0.1, 0.1, 0.9, 0.9]))
    assert points == [
        {"forecast": 0.1, "observed": 0.0, "n": 2},
        {"forecast": 0.9, "observed": 1.0, "n": 2},
    ]


def test_discrimination_is_not_reported_from_too_few_positives():
    metrics = probability_metrics(np.array([0] * 50 + [1] * 3), np.linspace(0, 1, 53))
    assert metrics["roc_auc"] is None and metrics["brier"] is not None
