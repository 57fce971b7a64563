"""Probability calibration: Platt scaling fitted only on out-of-sample forecasts known before
each fold's cut-off, and carried into the fitted model."""

import numpy as np
import pandas as pd
import pytest

from risk.forecast import backtest as backtest_module
from risk.forecast.backtest import (
    choose_goal,
    raw_column,
    recalibrate,
    run_backtest,
    spread_column,
)
from risk.forecast.metrics import expected_calibration_error
from risk.forecast.model import (
    BASELINES,
    CANDIDATES,
    COVERAGE_GOALS,
    PlattCalibrator,
    fit_model,
)
from risk.forecast.panel import week_numbers
from risk.forecast.target import TARGETS
from tests.synthetic import synthetic_panel

TARGET = TARGETS["acled"]
LEARNED = [name for name in CANDIDATES if name not in BASELINES]


def overconfident(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Forecasts twice as extreme (in log-odds) as the truth, and outcomes drawn from the truth."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.02, 0.6, n)
    logit = np.log(truth / (1 - truth))
    forecast = 1 / (1 + np.exp(-2 * logit))
    return forecast, (rng.uniform(size=n) < truth).astype(int)


def test_platt_scaling_undoes_overconfidence():
    forecast, outcome = overconfident(5000)
    calibrator = PlattCalibrator().fit(forecast, outcome)
    assert calibrator.slope == pytest.approx(0.5, abs=0.1)
    test_forecast, test_outcome = overconfident(5000, seed=1)
    before = expected_calibration_error(test_outcome, test_forecast)
    after = expected_calibration_error(test_outcome, calibrator.transform(test_forecast))
    assert after < before / 2
    # Monotone: the ranking (hence AUC) is kept.
    order = np.argsort(test_forecast)
    assert np.all(np.diff(calibrator.transform(test_forecast)[order]) >= 0)


def test_platt_scaling_is_the_identity_with_too_few_outcomes_of_a_kind():
    forecast = np.linspace(0.05, 0.9, 200)
    outcome = np.zeros(200, dtype=int)
    outcome[:3] = 1
    calibrator = PlattCalibrator().fit(forecast, outcome)
    np.testing.assert_allclose(calibrator.transform(forecast), forecast, rtol=1e-6)


def test_recalibrate_keeps_the_raw_forecast_and_leaves_baselines_alone():
    pool_forecast, pool_outcome = overconfident(2000)
    pool = pd.DataFrame({"label": pool_outcome, "climatology": 0.3})
    for name in LEARNED:
        pool[raw_column(name)] = pool_forecast
    part = pd.DataFrame({"climatology": [0.3, 0.3], **{name: [0.05, 0.95] for name in LEARNED}})
    recalibrate(pool, part, tuple(CANDIDATES))
    assert part["climatology"].tolist() == [0.3, 0.3]
    for name in LEARNED:
        assert part[raw_column(name)].tolist() == [0.05, 0.95]
        # Overconfident in the pool, so pulled towards the middle.
        assert part[name].iloc[0] > 0.05 and part[name].iloc[1] < 0.95


@pytest.fixture(scope="module")
def panel():
    return synthetic_panel()


@pytest.fixture(scope="module")
def result(panel):
    return run_backtest(panel, TARGET)


def test_each_fold_is_calibrated_only_on_forecasts_known_before_its_cutoff(panel, monkeypatch):
    seen = []
    original = backtest_module.recalibrate

    def recording(pool, part, names):
        if not pool.empty:
            seen.append((int(pool["_week"].max()), int(week_numbers(part["week"]).min())))
        original(pool, part, names)

    monkeypatch.setattr(backtest_module, "recalibrate", recording)
    run_backtest(panel, TARGET)
    assert seen, "no fold was calibrated"
    for last_pool_week, first_test_week in seen:
        # The pool's last label window ends before the fold's first forecast week.
        assert last_pool_week + TARGET.horizon < first_test_week


def test_outcomes_after_a_fold_cannot_change_its_calibrated_forecasts(panel, result):
    # Tamper with every outcome from a middle fold's cut-off on: the calibrators of that fold
    # and the ones before it must not notice (they would, had they seen the test weeks).
    k = len(result.folds) // 2
    cutoff = week_numbers(pd.Series([result.folds[k].cutoff]))[0]
    tampered = panel.copy()
    future = week_numbers(tampered["week"]) + TARGET.horizon >= cutoff
    tampered.loc[future & tampered["label"].notna(), "label"] = 1.0 - tampered["label"]
    again = run_backtest(tampered, TARGET)
    original = result.predictions[result.predictions["fold"] <= k]
    redone = again.predictions[again.predictions["fold"] <= k]
    for column in ("model", *LEARNED):
        np.testing.assert_allclose(original[column].to_numpy(), redone[column].to_numpy())


def test_later_folds_are_recalibrated(result):
    later = result.predictions[result.predictions["fold"] > 0]
    moved = [
        name
        for name in LEARNED
        if not np.allclose(later[name].to_numpy(), later[raw_column(name)].to_numpy())
    ]
    assert moved


def test_the_fitted_model_carries_the_calibrator_of_the_backtest(panel, result):
    name = next(n for n in LEARNED)
    calibrator = result.calibrators[name]
    plain = fit_model(panel, TARGET, name)
    calibrated = fit_model(panel, TARGET, name, calibrator=calibrator)
    rows = panel.dropna(subset=["label"]).tail(20)
    np.testing.assert_allclose(
        calibrated.probability(rows), calibrator.transform(plain.probability(rows))
    )
    assert calibrated.metadata["calibration"]["slope"] == calibrator.slope
    # Baselines are the references: never recalibrated.
    climatology = fit_model(panel, TARGET, "climatology", calibrator=calibrator)
    assert climatology.metadata["calibration"] is None


# -- the count intervals' coverage goal ---------------------------------------------------------


def test_the_coverage_goal_is_the_one_that_held_closest_to_eighty_percent():
    rng = np.random.default_rng(0)
    mean = np.full(4000, 10.0)
    # Outcomes with dispersion 0.3: intervals of that spread hold about 83% of them, narrower
    # ones 54-67%, wider ones 97% or more.
    outcomes = rng.negative_binomial(1 / 0.3, (1 / 0.3) / (1 / 0.3 + mean))
    pool = pd.DataFrame({"future_violent": outcomes, "naive_mean": mean})
    for dispersion, goal in zip((1e-4, 0.1, 1.0, 0.3, 3.0), COVERAGE_GOALS, strict=True):
        pool[spread_column("naive", goal)] = dispersion
    assert choose_goal(pool, "naive") == COVERAGE_GOALS[3]
    assert choose_goal(pool.iloc[0:0], "naive") in COVERAGE_GOALS


def test_each_folds_coverage_goal_is_chosen_before_its_cutoff(panel, result):
    # Tampering with outcomes from a middle fold's cut-off on cannot change the goals (nor the
    # spreads) of that fold and the ones before it.
    k = len(result.folds) // 2
    cutoff = week_numbers(pd.Series([result.folds[k].cutoff]))[0]
    tampered = panel.copy()
    future = week_numbers(tampered["week"]) >= cutoff
    tampered.loc[future, "future_violent"] = tampered.loc[future, "future_violent"] * 3 + 5
    again = run_backtest(tampered, TARGET)
    for before, after in zip(result.folds[: k + 1], again.folds[: k + 1], strict=True):
        assert before.coverage_goals == after.coverage_goals
    original = result.predictions[result.predictions["fold"] <= k]
    redone = again.predictions[again.predictions["fold"] <= k]
    np.testing.assert_allclose(original["spread"].to_numpy(), redone["spread"].to_numpy())
    assert {g for f in result.folds for g in f.coverage_goals.values()} <= set(COVERAGE_GOALS)


def test_the_fitted_model_sets_its_intervals_to_the_goal_it_is_given(panel):
    narrow = fit_model(panel, TARGET, "climatology", coverage_goal=COVERAGE_GOALS[0])
    wide = fit_model(panel, TARGET, "climatology", coverage_goal=COVERAGE_GOALS[-1])
    assert wide.metadata["coverage_goal"] == COVERAGE_GOALS[-1]
    assert wide.dispersion >= narrow.dispersion
    assert any(
        wide.theatre_dispersion[t] > narrow.theatre_dispersion[t] for t in wide.theatre_dispersion
    )
