import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest

from risk.forecast.panel import (
    build_panel,
    latest_complete_week,
    weekly_counts,
    weekly_panel,
)
from risk.forecast.target import (
    TARGETS,
    SurgeTarget,
    make_target,
    settings_target,
    surge_labels,
    surge_weeks,
)
from risk.incidents.theatres import Theatres, parse_theatres
from risk.store.database import Store
from risk.store.ingest import ingest_file

TARGET = SurgeTarget()
ACLED = TARGETS["acled"]


def series(values):
    return pd.Series(values, dtype=float)


def test_acled_surge_week_needs_twice_the_four_week_mean_and_a_baseline_of_one():
    #                 w0 w1 w2 w3 w4 w5 w6 w7 w8
    violent = series([2, 2, 2, 2, 4, 3, 0, 0, 1])
    assert surge_weeks(violent, ACLED).astype(bool).tolist() == [
        False, False, False, False,  # fewer than four weeks before
        True,  # 4 >= 2 x mean(2,2,2,2)
        False,  # 3 < 2 x mean(2,2,2,4) = 5
        False, False,
        False,  # 1 < 2 x mean(4,3,0,0)=3.5
    ]  # fmt: skip
    quiet = series([0, 1, 0, 1, 2, 0])  # mean 0.5 < 1: never a surge, however it doubles
    assert not surge_weeks(quiet, ACLED).any()


def test_ratio_and_minimum_baseline_are_settings():
    violent = series([4, 4, 4, 4, 10])
    assert surge_weeks(violent, make_target("acled", ratio=2.0)).iloc[-1]
    assert not surge_weeks(violent, make_target("acled", ratio=3.0)).iloc[-1]
    assert not surge_weeks(violent, make_target("acled", min_baseline=5)).iloc[-1]


def test_default_target_ignores_wobbles_at_low_counts_but_not_big_rises():
    # 1 -> 2 and 1 -> 4 are "surges" under ACLED's rule, not under the default.
    for jump in (2, 4):
        low = series([1, 1, 1, 1, jump])
        assert surge_weeks(low, ACLED).iloc[-1] == 1
        assert surge_weeks(low, TARGET).iloc[-1] == 0
    assert surge_weeks(series([1, 1, 1, 1, 5]), TARGET).iloc[-1] == 1  # 4 more, 5x
    front = series([50, 50, 50, 50, 100])
    assert surge_weeks(front, TARGET).iloc[-1] == 1
    assert surge_weeks(series([50, 50, 50, 50, 60]), TARGET).iloc[-1] == 0
    # The threshold grows with the level and is never less than the minimum excess.
    levels = np.array([1.0, 2.0, 5.0, 20.0, 50.0])
    limits = TARGET.threshold(levels)
    assert (np.diff(limits) > 0).all()
    assert (limits - levels >= TARGET.min_excess).all()
    assert np.isinf(TARGET.threshold_at(0.5))  # under the minimum baseline: never


def test_significance_threshold_is_the_negative_binomial_tail():
    from scipy import stats

    significant = TARGETS["significant"]
    size = 1 / significant.dispersion
    for level in (3.0, 12.0, 40.0):
        limit = significant.threshold_at(level)
        prob = size / (size + level)
        assert stats.nbinom.sf(limit - 1, size, prob) < significant.alpha
        if limit - 1 - level >= significant.min_excess:  # the tail, not the excess, set it
            assert stats.nbinom.sf(limit - 2, size, prob) >= significant.alpha
    assert surge_weeks(series([1, 1, 1, 1, 3]), significant).iloc[-1] == 0


def test_targets_are_chosen_by_name_from_the_settings():
    from risk.config import load_settings

    acled = settings_target(load_settings({"RISK_TARGET": "acled"}))
    assert acled.name == "acled" and acled.min_excess == 0
    assert settings_target(load_settings({})).name == "default"
    horizon = settings_target(load_settings({"RISK_TARGET": "acled", "RISK_SURGE_HORIZON": "6"}))
    assert horizon.horizon == 6
    with pytest.raises(ValueError, match="unknown target 'nope'"):
        settings_target(load_settings({"RISK_TARGET": "nope"}))


def test_uncovered_weeks_make_surges_and_labels_unknown_not_false():
    violent = series([5, 5, 5, 5, np.nan, 5, 5, 5, 5, 5, 30, 5, 5, 5, 5])
    surge = surge_weeks(violent, TARGET)
    assert surge.iloc[4:9].isna().all()  # the week itself or one of its four before unknown
    assert surge.iloc[9] == 0
    assert surge.iloc[10] == 1 and surge.iloc[11] == 0
    labels = surge_labels(surge, horizon=4)
    assert np.isnan(labels.iloc[3])  # w4..w7 hold unknown weeks and no known surge
    assert labels.iloc[6] == 1  # w7..w10: a known surge settles it
    assert labels.iloc[10] == 0


def test_label_is_a_surge_within_the_horizon_and_unknown_at_the_end():
    surge = pd.Series([False, False, False, False, False, True, False, False, False])
    labels = surge_labels(surge, horizon=4)
    # w0: w1..w4 -> no; w1: w2..w5 -> yes ... w4: w5..w8 -> yes; w5: w6..w9 unknown.
    assert labels.tolist()[:5] == [0.0, 1.0, 1.0, 1.0, 1.0]
    assert labels.iloc[5:].isna().all()


@pytest.mark.parametrize(
    "bad",
    [
        dict(horizon=0),
        dict(ratio=1.0),
        dict(min_baseline=-1),
        dict(alpha=0.0),
        dict(dispersion=0),
        dict(min_excess=-1),
        dict(rule="other"),
    ],
)
def test_bad_target_settings_are_refused(bad):
    with pytest.raises(ValueError):
        SurgeTarget(**bad)


def test_target_is_described_in_words():
    text = make_target("acled", horizon=6, ratio=3).describe()
    assert "at least 3 times" in text and "next 6 weeks" in text
    assert "as published" in TARGETS["acled"].describe()
    assert f"at least {TARGET.min_excess:g} more than that average" in TARGET.describe()
    significant = TARGETS["significant"]
    assert f"less than {significant.alpha:.0%}" in significant.describe()


def counts_frame(theatre, weeks, violent):
    return pd.DataFrame(
        {
            "theatre": theatre,
            "week": pd.to_datetime(weeks),
            "category": "battle",
            "incidents": violent,
            "violent": violent,
            "fatalities": 0,
        }
    )


def test_panel_is_zero_filled_from_each_theatres_first_week_to_the_last():
    counts = pd.concat(
        [
            counts_frame("A", ["2024-01-01", "2024-01-22"], [3, 5]),
            counts_frame("B", ["2024-01-15"], [1]),
            counts_frame("Other", ["2024-01-29"], [7]),
        ]
    )
    actors = pd.DataFrame(columns=["theatre", "week", "actors"])
    panel = build_panel(counts, actors, TARGET, ["A", "B", "Other"])
    a = panel[panel["theatre"] == "A"]
    assert a["week"].dt.strftime("%m-%d").tolist() == ["01-01", "01-08", "01-15", "01-22", "01-29"]
    assert a["violent"].tolist() == [3, 0, 0, 5, 0]
    assert panel[panel["theatre"] == "B"]["week"].min() == pd.Timestamp("2024-01-15")
    assert "Other" not in set(panel["theatre"])


def test_features_at_a_week_do_not_depend_on_later_weeks():
    rng = np.random.default_rng(1)
    weeks = pd.date_range("2022-01-03", periods=120, freq="7D")
    counts = pd.concat(
        [counts_frame(t, weeks, rng.poisson(5, len(weeks))) for t in ("A", "B", "C")]
    )
    actors = pd.DataFrame(columns=["theatre", "week", "actors"])
    full = build_panel(counts, actors, TARGET, ["A", "B", "C"])
    cut = weeks[80]
    changed = counts.copy()
    later = changed["week"] > cut
    surge = rng.poisson(50, later.sum())
    changed.loc[later, "incidents"] = surge
    changed.loc[later, "violent"] = surge
    altered = build_panel(changed, actors, TARGET, ["A", "B", "C"])
    features = [c for c in full.columns if c not in ("label", "future_violent")]
    upto = full["week"] <= cut
    pd.testing.assert_frame_equal(
        full.loc[upto, features].reset_index(drop=True),
        altered.loc[altered["week"] <= cut, features].reset_index(drop=True),
    )
    # ...while labels near the cut do look ahead, as they should.
    assert not full.loc[upto, "label"].equals(altered.loc[altered["week"] <= cut, "label"])


def test_panel_is_deterministic():
    rng = np.random.default_rng(2)
    weeks = pd.date_range("2022-01-03", periods=60, freq="7D")
    counts = counts_frame("A", weeks, rng.poisson(3, len(weeks)))
    actors = pd.DataFrame(columns=["theatre", "week", "actors"])
    first = build_panel(counts, actors, TARGET, ["A"])
    pd.testing.assert_frame_equal(first, build_panel(counts, actors, TARGET, ["A"]))


def test_latest_complete_week_needs_its_sunday_covered():
    assert latest_complete_week(dt.date(2024, 12, 31)) == pd.Timestamp("2024-12-23")  # Tuesday
    assert latest_complete_week(dt.date(2024, 12, 29)) == pd.Timestamp("2024-12-23")  # Sunday
    assert latest_complete_week(dt.date(2024, 12, 31), dt.date(2024, 1, 20)) == pd.Timestamp(
        "2024-01-08"
    )


def test_counting_in_the_database_groups_by_iso_week(database_url):
    store = Store(database_url)
    rows = [
        "a,2024-01-14,Iraq,battle,1",  # Sunday: week of Monday 8 January
        "b,2024-01-15,Iraq,battle,2",  # Monday
        "c,2024-01-21,Iraq,protest,0",  # Sunday, same week as b
        "d,2024-01-21,Syria,riot,0",
        "e,2024-02-29,Iraq,battle,0",  # leap day, a Thursday
    ]
    text = "id,date,country,event_type,fatalities\n" + "\n".join(rows) + "\n"
    ingest_file(store, io.BytesIO(text.encode()), name="w.csv")
    theatres = Theatres(
        parse_theatres({"theatre": [{"name": "Iraq", "countries": ["Iraq"]}]}, "test")
    )
    counts = weekly_counts(store, theatres).sort_values(["theatre", "week", "category"])
    got = [
        (r.theatre, r.week.date().isoformat(), r.category, r.incidents, r.violent, r.fatalities)
        for r in counts.itertuples()
    ]
    assert got == [
        ("Iraq", "2024-01-08", "battle", 1, 1, 1),
        ("Iraq", "2024-01-15", "battle", 1, 1, 2),
        ("Iraq", "2024-01-15", "protest", 1, 0, 0),
        ("Iraq", "2024-02-26", "battle", 1, 1, 0),
        ("Other", "2024-01-15", "riot", 1, 1, 0),
    ]
    panel = weekly_panel(store, theatres, TARGET)
    assert panel["theatre"].unique().tolist() == ["Iraq"]
    assert len(panel) == 8  # 8 Jan .. 26 Feb, zero-filled
    assert panel["actors"].sum() == 0
    store.dispose()
