"""The panel on real-shaped data: coverage per load, one source per theatre-week, precision."""

import datetime as dt
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk.forecast.panel import (
    SurgeTarget,
    build_panel,
    choose_sources,
    theatre_coverage_end,
    weekly_panel,
)
from risk.incidents.theatres import Theatres, load_theatres, parse_sources, parse_theatres
from risk.store.database import Store
from risk.store.ingest import ingest_file, undo_batch

DATA = Path(__file__).parents[1] / "data"
ROOT = Path(__file__).parents[2]
REAL_UCDP = ROOT.parent / "shared/data/real/ucdp_ged_syria_2016_2019.csv.gz"
TARGET = SurgeTarget()
SYRIA = Theatres(parse_theatres({"theatre": [{"name": "Syria", "countries": ["Syria"]}]}, "t"))


def syria(panel):
    return panel[panel["theatre"] == "Syria"].set_index("week")


def monday(text):
    return pd.Timestamp(text)


def test_overlapping_sources_count_once_from_the_higher_priority(sqlite_url):
    store = Store(sqlite_url)
    ingest_file(store, DATA / "ucdp_syria_2016_2017.csv")  # 2016-10-01 .. 2017-03-31
    ingest_file(store, DATA / "acled_syria_2017.csv")  # 2017-01-01 .. 2017-04-30
    panel = syria(weekly_panel(store, SYRIA, TARGET))
    assert panel.loc[: monday("2016-12-26"), "source"].eq("ucdp").all()
    # ACLED covers only the Sunday of the week of 26 December: UCDP covers it all.
    assert panel.loc[monday("2017-01-02") :, "source"].eq("acled").all()
    assert panel["covered"].all()
    # Each ACLED week holds ACLED's own count, not the sum of both sources.
    acled = pd.read_csv(DATA / "acled_syria_2017.csv")
    acled = acled[acled["time_precision"] < 3]
    dates = pd.to_datetime(acled["event_date"], format="%d %B %Y")
    weeks = dates - pd.to_timedelta(dates.dt.day_of_week, unit="D")
    expected = acled.groupby(weeks)["event_id_cnty"].count()
    got = panel.loc[monday("2017-01-02") :, "incidents"]
    assert got.to_dict() == expected.loc[monday("2017-01-02") :].astype(float).to_dict()
    # The change of source makes no surge: weeks whose reference window spans it are unknown.
    switch = panel.loc[monday("2017-01-02") : monday("2017-01-23")]
    assert not switch["surge_known"].any() and not switch["surge"].any()
    assert panel.loc[monday("2017-01-30") :, "surge_known"].all()
    store.dispose()


def test_priority_is_set_globally_and_per_theatre(sqlite_url):
    store = Store(sqlite_url)
    ingest_file(store, DATA / "ucdp_syria_2016_2017.csv")
    ingest_file(store, DATA / "acled_syria_2017.csv")
    document = {
        "sources": ["ucdp", "acled"],
        "theatre": [
            {"name": "Syria", "countries": ["Syria"]},
            {"name": "Idlib", "regions": ["Syria/Idlib"], "sources": ["acled", "ucdp"]},
        ],
    }
    document["theatre"].reverse()  # Idlib first, so its events are its own
    theatres = Theatres(parse_theatres(document, "t"), sources=parse_sources(document, "t"))
    panel = weekly_panel(store, theatres, TARGET)
    feb = panel[panel["week"] == monday("2017-02-06")].set_index("theatre")["source"]
    assert feb.to_dict() == {"Idlib": "acled", "Syria": "ucdp"}
    store.dispose()


def test_uncovered_weeks_are_missing_not_zero(sqlite_url):
    store = Store(sqlite_url)
    ingest_file(store, DATA / "ucdp_syria_2016_2017.csv")  # ends 2017-03-31
    later = "id,date,country,event_type,fatalities\nn1,2017-06-14,Syria,battle,2\n"
    ingest_file(store, io.BytesIO(later.encode()), name="later.csv")
    panel = syria(weekly_panel(store, SYRIA, TARGET))
    gap = panel.loc[monday("2017-04-03") : monday("2017-06-05")]
    assert len(gap) == 10 and not gap["covered"].any()
    assert gap[["incidents", "violent", "fatalities", "actors"]].isna().all().all()
    assert gap["source"].isna().all() and gap["label"].isna().all()
    assert panel.loc[monday("2017-06-12"), "source"] == "native"
    assert panel.loc[monday("2017-06-12"), "violent"] == 1
    # Rolling features skip the gap instead of averaging zeros into it.
    before = panel.loc[monday("2017-03-13") : monday("2017-03-27"), "violent"].mean()
    assert panel.loc[monday("2017-04-03"), "violent_mean_4"] == pytest.approx(before)
    assert np.isnan(panel.loc[monday("2017-05-01"), "violent_mean_4"])  # four weeks unknown
    # Labels of weeks before the gap whose horizon reaches into it are unknown.
    assert np.isnan(panel.loc[monday("2017-03-13"), "label"])
    store.dispose()


def test_the_native_log_carries_on_after_acled_without_double_counting(sqlite_url):
    store = Store(sqlite_url)
    ingest_file(store, DATA / "acled_syria_2017.csv")  # ends 2017-04-30
    log = (
        "id,date,country,event_type,fatalities\n"
        "a,2017-04-12,Syria,battle,1\n"  # inside ACLED's coverage: not counted again
        "b,2017-05-03,Syria,battle,1\n"
        "c,2017-05-16,Syria,battle,0\n"
    )
    ingest_file(store, io.BytesIO(log.encode()), name="log.csv")
    panel = syria(weekly_panel(store, SYRIA, TARGET))
    assert panel.loc[monday("2017-04-10"), "source"] == "acled"
    assert panel.loc[monday("2017-05-01"), "source"] == "native"
    assert panel.loc[monday("2017-05-01"), "violent"] == 1
    assert panel.index.max() == monday("2017-05-15")
    store.dispose()


def test_a_stated_coverage_makes_quiet_weeks_zero(sqlite_url):
    store = Store(sqlite_url)
    log = "id,date,country,event_type,fatalities\na,2024-01-03,Syria,battle,1\n"
    ingest_file(
        store,
        io.BytesIO(log.encode()),
        name="log.csv",
        covers=(dt.date(2024, 1, 1), dt.date(2024, 1, 28)),
    )
    panel = syria(weekly_panel(store, SYRIA, TARGET))
    assert panel["covered"].all() and panel["violent"].tolist() == [1, 0, 0, 0]
    assert theatre_coverage_end(store, SYRIA) == {"Syria": dt.date(2024, 1, 28)}
    store.dispose()


def test_undoing_a_load_takes_its_coverage_away(sqlite_url):
    store = Store(sqlite_url)
    ingest_file(store, DATA / "ucdp_syria_2016_2017.csv")
    report = ingest_file(store, DATA / "acled_syria_2017.csv")
    undo_batch(store, report.batch_id)
    panel = syria(weekly_panel(store, SYRIA, TARGET))
    assert panel.index.max() == monday("2017-03-27")
    assert set(panel["source"]) == {"ucdp"}
    store.dispose()


def test_events_dated_to_a_year_stay_out_of_weekly_counts(sqlite_url):
    store = Store(sqlite_url)
    ingest_file(store, DATA / "ucdp_syria_2016_2017.csv")
    panel = syria(weekly_panel(store, SYRIA, TARGET))
    assert panel["fatalities"].max() < 100  # the 5,000-death yearly total is not in a week
    assert panel.index.min() == monday("2016-09-26")
    store.dispose()


# -- property: the panel with coverage ------------------------------------------------------
WEEKS = pd.date_range("2023-01-02", periods=30, freq="7D")


@st.composite
def sources_and_counts(draw):
    spans = {}
    for source in ("acled", "ucdp", "native"):
        if draw(st.booleans()):
            first = draw(st.integers(0, 29))
            spans[source] = (first, draw(st.integers(first, 29)))
    rows = []
    for source, (first, last) in spans.items():
        for week in range(first, last + 1):
            n = draw(st.integers(0, 6))
            if n:
                rows.append(("A", WEEKS[week], source, "battle", n, n, 0))
    return spans, rows


@given(sources_and_counts())
@settings(max_examples=30, deadline=None)
def test_property_covered_weeks_hold_one_sources_count_and_gaps_stay_missing(case):
    spans, rows = case
    columns = ["theatre", "week", "source", "category", "incidents", "violent", "fatalities"]
    counts = pd.DataFrame(rows, columns=columns)
    if counts.empty:
        return
    coverage = pd.DataFrame(
        [
            ("A", WEEKS[w], source, 7)
            for source, (first, last) in spans.items()
            for w in range(first, last + 1)
        ],
        columns=["theatre", "week", "source", "days"],
    )
    actors = pd.DataFrame(columns=["theatre", "week", "source", "actors"])
    panel = build_panel(counts, actors, TARGET, ["A"], coverage=coverage).set_index("week")
    order = ("acled", "ucdp", "native")
    for week, row in panel.iterrows():
        position = WEEKS.get_loc(week)
        covering = [s for s in order if s in spans and spans[s][0] <= position <= spans[s][1]]
        assert row["covered"] == bool(covering)
        if covering:
            assert row["source"] == covering[0]
            mine = counts[(counts["week"] == week) & (counts["source"] == covering[0])]
            assert row["violent"] == mine["violent"].sum()
        else:
            assert np.isnan(row["violent"]) and pd.isna(row["source"])
            assert not row["surge"] and not row["surge_known"]
    known = panel["surge_known"]
    sources = panel["source"].fillna("")
    for lag in range(1, 5):
        assert not (known & (sources.shift(lag) != sources)).any()


def test_choose_sources_prefers_a_whole_week_then_priority():
    coverage = pd.DataFrame(
        [
            ("A", WEEKS[0], "acled", 1),  # ACLED starts on the Sunday
            ("A", WEEKS[0], "ucdp", 7),
            ("A", WEEKS[1], "acled", 7),
            ("A", WEEKS[1], "ucdp", 7),
            ("A", WEEKS[2], "native", 3),
            ("A", WEEKS[2], "ucdp", 2),
        ],
        columns=["theatre", "week", "source", "days"],
    )
    chosen = choose_sources(coverage, lambda _: ("acled", "ucdp", "native"))
    assert chosen["source"].tolist() == ["ucdp", "acled", "native"]


# -- the real UCDP file -----------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(not REAL_UCDP.exists(), reason=f"real UCDP file not found at {REAL_UCDP}")
def test_real_ucdp_syria_by_governorate(sqlite_url, tmp_path):
    from risk.incidents.theatres import theatres_by_admin1
    from risk.store.queries import place_names, unmatched_places

    store = Store(sqlite_url)
    ingest_file(store, REAL_UCDP)
    with store.read() as connection:
        text = theatres_by_admin1(place_names(connection).values(), ["Syria"])
    path = tmp_path / "gov.toml"
    path.write_text(text, encoding="utf-8")
    theatres = load_theatres(path)
    assert len(theatres.names) == 15  # 14 governorates and "Other"
    panel = weekly_panel(store, theatres, TARGET)
    # No yearly total lands in one week; no week after the file's end (2019-11-30).
    assert panel.groupby("week")["fatalities"].sum().max() < 2_000
    assert panel["week"].max() == monday("2019-11-25")
    assert panel["covered"].all() and set(panel["source"]) == {"ucdp"}
    # The only unmatched incidents are those located to the country alone.
    unmatched = unmatched_places(store, theatres)
    assert unmatched["admin1"].isna().all()
    # ACLED's spellings of the same governorates match the UCDP-spelled theatres.
    acled_names = ["Idleb", "Hama", "Dara", "Rural Damascus", "Lattakia", "Tartous"]
    acled_names += ["As-Sweida", "Ar-Raqqa", "Al-Hasakeh", "Deir-ez-Zor", "Quneitra"]
    assert all(theatres.place_theatre("Syria", name) is not None for name in acled_names)
    store.dispose()


def test_stretches_and_overlap_show_where_counts_come_from(sqlite_url):
    from risk.forecast.panel import weekly_counts
    from risk.store.queries import source_overlap, source_stretches

    store = Store(sqlite_url)
    ingest_file(store, DATA / "ucdp_syria_2016_2017.csv")
    ingest_file(store, DATA / "acled_syria_2017.csv")
    stretches = source_stretches(weekly_panel(store, SYRIA, TARGET))
    assert stretches[["source", "first_week", "weeks"]].values.tolist() == [
        ["ucdp", monday("2016-09-26"), 14],
        ["acled", monday("2017-01-02"), 17],
    ]
    overlap = source_overlap(weekly_counts(store, SYRIA), "Syria")
    assert {"acled", "ucdp"} <= set(overlap.columns)
    assert overlap["week"].min() >= monday("2016-12-26")
    assert overlap["week"].max() <= monday("2017-03-27")
    store.dispose()
