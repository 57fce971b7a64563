"""Probability calibration: Platt scaling fitted only on out-of-sample forecasts known before
each fold's cut-off, and carried into the fitted model."""

import numpy as np
import pandas as pd
import pytest

from risk.forecast import backtest as backtest_module
from risk.forecast.backtest import raw_column, recalibrate, run_backtest
from risk.forecast.metrics import expected_calibration_error
from risk.forecast.model import BASELINES, CANDIDATES, PlattCalibrator, fit_model
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
