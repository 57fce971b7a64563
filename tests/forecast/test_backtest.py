import numpy as np
import pandas as pd
import pytest

from risk.forecast.backtest import FORECASTS, run_backtest, select_model, training_mask
from risk.forecast.model import ModelError
from risk.forecast.panel import SurgeTarget, week_numbers
from tests.synthetic import synthetic_panel

TARGET = SurgeTarget()


@pytest.fixture(scope="module")
def panel():
    return synthetic_panel()


@pytest.fixture(scope="module")
def result(panel):
    return run_backtest(panel, TARGET, "logistic", "full")


def test_no_training_label_looks_into_the_test_period(result):
    for fold in result.folds:
        # A label at week w covers w+1 .. w+horizon: all of it must precede the cut-off.
        assert fold.last_training_week + pd.Timedelta(weeks=TARGET.horizon) < fold.cutoff
    tested = result.predictions.merge(
        pd.DataFrame([f.as_json() for f in result.folds]).reset_index(names="fold"), on="fold"
    )
    assert (tested["week"] >= pd.to_datetime(tested["cutoff"])).all()
    assert (tested["week"] < pd.to_datetime(tested["end"])).all()


def test_training_mask_excludes_labels_that_reach_the_cutoff():
    weeks = np.arange(100, 110)
    mask = training_mask(weeks, cutoff=108, horizon=4)
    assert weeks[mask].tolist() == [100, 101, 102, 103]  # 103 + 4 = 107 < 108


def test_changing_outcomes_after_a_cutoff_cannot_change_that_folds_forecasts(panel, result):
    first = result.folds[0]
    cutoff = week_numbers(pd.Series([first.cutoff]))[0]
    tampered = panel.copy()
    future = week_numbers(tampered["week"]) + TARGET.horizon >= cutoff
    tampered.loc[future & tampered["label"].notna(), "label"] = 1.0 - tampered["label"]
    again = run_backtest(tampered, TARGET, "logistic", "full")
    original = result.predictions[result.predictions["fold"] == 0]["model"].to_numpy()
    redone = again.predictions[again.predictions["fold"] == 0]["model"].to_numpy()
    np.testing.assert_allclose(original, redone)


def test_folds_are_quarterly_when_there_is_a_year_to_test(result):
    steps = {(f.end - f.cutoff).days for f in result.folds}
    assert steps == {91}
    assert len(result.folds) >= 4


def test_every_forecast_is_scored_the_same_way(result):
    pooled = result.summary["pooled"]
    assert set(pooled) == set(FORECASTS)
    for metrics in pooled.values():
        assert set(metrics) == {"roc_auc", "average_precision", "brier", "bss", "ece", "n"}
        assert metrics["n"] == len(result.predictions)
    assert pooled["climatology"]["bss"] == 0.0


def test_model_beats_climatology_and_persistence_on_a_learnable_signal(result):
    pooled = result.summary["pooled"]
    for baseline in ("climatology", "persistence"):
        assert pooled["model"]["brier"] < pooled[baseline]["brier"]
        assert pooled["model"]["roc_auc"] > pooled[baseline]["roc_auc"]


def test_theatres_with_too_few_positives_are_marked_not_averaged(panel):
    thin = panel.copy()
    only = thin["theatre"] == "T00"
    thin.loc[only & thin["label"].notna(), "label"] = 0.0
    summary = run_backtest(thin, TARGET, "logistic", "full").summary
    t00 = next(t for t in summary["theatres"] if t["theatre"] == "T00")
    assert t00["too_few_positives"] and t00["model"]["roc_auc"] is None
    rated = [t["model"]["roc_auc"] for t in summary["theatres"] if not t["too_few_positives"]]
    assert summary["median_theatre_auc"] == pytest.approx(np.median(rated))


def test_count_forecast_is_scored(result):
    counts = result.summary["counts"]
    assert counts["n"] == len(result.predictions)
    assert 0.5 < counts["coverage"] <= 1.0
    assert counts["mae"] > 0 and result.summary["counts_naive_mae"] > 0


def test_selection_keeps_the_lowest_brier(panel):
    best, table = select_model(panel, TARGET, (("logistic", "levels"), ("logistic", "full")))
    briers = {(row["estimator"], row["feature_set"]): row["brier"] for row in table}
    assert briers[(best.estimator, best.feature_set)] == min(briers.values())


def test_too_little_data_to_backtest_is_a_clear_message():
    short = synthetic_panel(weeks=60)
    with pytest.raises(ModelError, match="too little data"):
        run_backtest(short, TARGET)
