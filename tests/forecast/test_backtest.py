import numpy as np
import pandas as pd
import pytest

from risk.forecast.backtest import (
    FORECASTS,
    MAX_FOLDS,
    choose,
    fold_cutoffs,
    run_backtest,
    training_mask,
)
from risk.forecast.model import BASELINES, CANDIDATES, ModelError
from risk.forecast.panel import week_numbers
from risk.forecast.target import TARGETS
from tests.synthetic import synthetic_panel

# The synthetic flare-ups double the level: ACLED's rule labels them.
TARGET = TARGETS["acled"]


@pytest.fixture(scope="module")
def panel():
    return synthetic_panel()


@pytest.fixture(scope="module")
def result(panel):
    return run_backtest(panel, TARGET)


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
    again = run_backtest(tampered, TARGET)
    original = result.predictions[result.predictions["fold"] == 0]
    redone = again.predictions[again.predictions["fold"] == 0]
    for column in ("model", *CANDIDATES, "expected", "lower", "upper"):
        np.testing.assert_allclose(original[column].to_numpy(), redone[column].to_numpy())
    assert result.folds[0].chosen == again.folds[0].chosen


def test_each_fold_chooses_by_the_weeks_known_before_its_cutoff(result):
    predictions = result.predictions
    weeks = week_numbers(predictions["week"])
    for k, fold in enumerate(result.folds[1:], start=1):
        cutoff = week_numbers(pd.Series([fold.cutoff]))[0]
        earlier = predictions[(predictions["fold"] < k) & (weeks + TARGET.horizon < cutoff)]
        # The inner fold adds more evidence, so recompute only where the earlier folds are
        # decisive: the choice must at least not be worse than every candidate there.
        briers = {
            name: float(np.mean((earlier[name] - earlier["label"]) ** 2)) for name in CANDIDATES
        }
        assert fold.chosen in CANDIDATES
        assert briers[fold.chosen] <= np.percentile(list(briers.values()), 60)
        chosen = predictions[predictions["fold"] == k]
        np.testing.assert_array_equal(chosen["model"], chosen[fold.chosen])


def test_choose_prefers_the_lowest_brier_and_falls_back_to_climatology():
    pool = pd.DataFrame({"label": [0, 1, 0, 1]})
    for name in CANDIDATES:
        pool[name] = 0.5
    pool["boosting"] = [0.1, 0.9, 0.1, 0.9]
    assert choose(pool) == "boosting"
    assert choose(pool.iloc[:0]) == "climatology"
    assert choose(pool.assign(label=0)) == "climatology"


def test_a_baseline_is_the_forecaster_in_use_when_nothing_beats_it(panel):
    # Labels unrelated to the features: each theatre's own rate is the best forecast.
    noise = panel.copy()
    rng = np.random.default_rng(7)
    names = sorted(noise["theatre"].unique())
    rates = dict(zip(names, np.linspace(0.05, 0.6, len(names)), strict=True))
    known = noise["label"].notna()
    noise.loc[known, "label"] = (
        rng.random(known.sum()) < noise.loc[known, "theatre"].map(rates)
    ).astype(float)
    outcome = run_backtest(noise, TARGET)
    assert outcome.in_use in BASELINES
    assert outcome.as_json()["baseline_in_use"] is True
    assert outcome.summary["pooled"]["model"]["bss"] > -0.05


def test_folds_are_quarterly_or_wider_and_few(result):
    steps = {(f.end - f.cutoff).days for f in result.folds}
    assert len(steps) == 1 and 91 <= steps.pop() < 182
    assert 4 <= len(result.folds) <= MAX_FOLDS
    # Ten years of weeks: still at most MAX_FOLDS folds (the nested backtest stays affordable).
    weeks = pd.DataFrame({"week": pd.date_range("2010-01-04", periods=520, freq="7D")})
    cutoffs, step = fold_cutoffs(weeks, horizon=4)
    assert len(cutoffs) <= MAX_FOLDS and step > 13


def test_every_forecast_is_scored_the_same_way(result):
    pooled = result.summary["pooled"]
    assert set(pooled) == set(FORECASTS) and set(BASELINES) < set(FORECASTS)
    for metrics in pooled.values():
        assert set(metrics) == {"roc_auc", "average_precision", "brier", "bss", "ece", "n"}
        assert metrics["n"] == len(result.predictions)
    assert pooled["climatology"]["bss"] == 0.0


def test_model_beats_climatology_and_persistence_on_a_learnable_signal():
    # 20 theatres: with 10, persistence is within selection noise of the models (the nested
    # choice among 7 candidates on 130 test rows a fold), and which one wins is down to chance.
    pooled = run_backtest(synthetic_panel(theatres=20), TARGET).summary["pooled"]
    for baseline in ("climatology", "persistence"):
        assert pooled["model"]["brier"] < pooled[baseline]["brier"]
        assert pooled["model"]["roc_auc"] > pooled[baseline]["roc_auc"]


def test_theatres_with_too_few_positives_are_marked_not_averaged(panel):
    thin = panel.copy()
    only = thin["theatre"] == "T00"
    thin.loc[only & thin["label"].notna(), "label"] = 0.0
    summary = run_backtest(thin, TARGET).summary
    t00 = next(t for t in summary["theatres"] if t["theatre"] == "T00")
    assert t00["too_few_positives"] and t00["model"]["roc_auc"] is None
    # One rule: no skill figure either where there are too few positives to tell.
    assert t00["model"]["bss"] is None and t00["skill"] is None
    assert summary["theatres_rated"] == sum(not t["too_few_positives"] for t in summary["theatres"])
    rated = [t["model"]["roc_auc"] for t in summary["theatres"] if not t["too_few_positives"]]
    assert summary["median_theatre_auc"] == pytest.approx(np.median(rated))


def test_count_forecast_is_scored_against_naive_and_zero(result):
    counts = result.summary["counts"]
    assert {"mae", "naive_mae", "crps", "naive_crps", "zero_crps", "coverage"} <= set(counts)
    assert counts["n"] == len(result.predictions)
    # Per-theatre spread calibration: the 80% intervals hold 75-85% out of sample.
    assert 0.75 <= counts["coverage"] <= 0.85
    assert counts["zero_crps"] == pytest.approx(result.predictions["future_violent"].mean())
    assert counts["crps"] < counts["zero_crps"]
    # The synthetic flare-ups are announced by a build-up: the regression beats naive, so it
    # is the one in use and reported.
    assert counts["in_use"] == "model" and counts["mae"] < counts["naive_mae"]
    assert counts["mae"] == counts["regression_mae"]
    for theatre in result.summary["theatres"]:
        assert {"crps", "naive_crps", "zero_crps"} <= set(theatre["counts"])


def test_margin_over_levels_and_share_beating_climatology_are_reported(result):
    summary = result.summary
    pooled = summary["pooled"]
    assert summary["margin_over_levels"]["bss"] == pytest.approx(
        pooled["model"]["bss"] - pooled["levels"]["bss"]
    )
    beating = [
        t for t in summary["theatres"] if not t["too_few_positives"] and t["model"]["bss"] > 0
    ]
    assert summary["theatres_beating_climatology"] == len(beating)
    payload = result.as_json()
    assert payload["selection"] == "nested" and payload["in_use"] == result.in_use


def test_uncovered_and_unknown_rows_are_left_out(panel):
    gappy = panel.copy()
    gappy["covered"] = True
    hole = (gappy["theatre"] == "T01") & gappy["week"].between("2022-01-01", "2022-03-31")
    gappy.loc[hole, "covered"] = False
    gappy.loc[hole, ["violent_mean_4", "label"]] = np.nan
    gappy.loc[(gappy["theatre"] == "T02") & (gappy.index % 7 == 0), "label"] = np.nan
    outcome = run_backtest(gappy, TARGET)
    tested = outcome.predictions.merge(
        gappy[["theatre", "week", "covered"]], on=["theatre", "week"]
    )
    assert tested["covered"].all() and tested["label"].notna().all()
    assert not (
        (tested["theatre"] == "T01") & tested["week"].between("2022-01-01", "2022-03-31")
    ).any()


def test_too_little_data_to_backtest_is_a_clear_message():
    short = synthetic_panel(weeks=60)
    with pytest.raises(ModelError, match="too little data"):
        run_backtest(short, TARGET)
