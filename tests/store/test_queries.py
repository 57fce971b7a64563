import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from risk.incidents.theatres import load_theatres
from risk.store.database import Store, incidents, places, scores
from risk.store.ingest import ingest_file
from risk.store.queries import (
    INCIDENT_COLUMNS,
    actor_activity,
    backtest_frames,
    find_incidents,
    last_load,
    latest_scores,
    loads_by_origin,
    map_points,
    region_heat,
    results_version,
    score_drivers,
    store_summary,
    theatre_column,
    theatre_overview,
    theatre_stats,
    top_places,
    weekly_by_category,
    weekly_series,
)

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture
def loaded(database_url):
    store = Store(database_url)
    for name in ("acled_current.csv", "ucdp_ged_current.csv", "native_log.csv"):
        ingest_file(store, DATA / name)
    yield store
    store.dispose()


def test_sql_theatres_match_the_pandas_rules(loaded):
    theatres = load_theatres("data/theatres.toml")
    with loaded.read() as connection:
        query = sa.select(
            theatre_column(connection, theatres),
            places.c.country,
            places.c.admin1,
            incidents.c.latitude,
            incidents.c.longitude,
        ).join(places, places.c.id == incidents.c.place_id)
        rows = pd.DataFrame(connection.execute(query).all())
    in_python = theatres.assign(rows.replace({"": None}))
    assert rows["theatre"].tolist() == in_python.tolist()
    assert set(rows["theatre"]) == {
        "Iraq",
        "Syria",
        "Lebanon & northern Israel",
        "Israel & Palestine",
        "Yemen & Red Sea",
        "Iran",
        "Other",
    }


def test_stats_per_theatre(loaded):
    stats = theatre_stats(loaded, load_theatres("data/theatres.toml")).set_index("theatre")
    # Syria: 1 ACLED strike (5 killed) + 2 UCDP events (7 and 3 killed).
    assert stats.loc["Syria", ["incidents", "violent", "fatalities"]].tolist() == [3, 3, 15]
    assert str(stats.loc["Syria", "first_date"]) == "2024-01-18"
    assert stats.loc["Other", "incidents"] == 1
    assert stats["incidents"].sum() == store_summary(loaded).total_incidents == 15


def test_editing_the_theatres_file_needs_no_reingest(loaded, tmp_path):
    merged = tmp_path / "levant.toml"
    merged.write_text(
        '[[theatre]]\nname = "Levant"\ncountries = ["Syria", "Lebanon", "LBN", "Israel", "PSE"]\n'
    )
    stats = theatre_stats(loaded, load_theatres(merged)).set_index("theatre")
    # Syria 3 (ACLED 1, UCDP 2), Lebanon 2 (ACLED, native), Israel 2 (ACLED HaZafon, UCDP
    # Gaza), Palestine 1.
    assert stats.loc["Levant", "incidents"] == 3 + 2 + 2 + 1
    assert stats.loc["Other", "incidents"] == 15 - stats.loc["Levant", "incidents"]


def test_empty_store_lists_every_theatre_with_zeros(database_url):
    store = Store(database_url)
    stats = theatre_stats(store, load_theatres("data/theatres.toml"))
    assert len(stats) == 6 and stats["incidents"].sum() == 0
    assert store_summary(store).first_date is None
    store.dispose()


# -- read-only views for the dashboard --------------------------------------------------------
THEATRES = load_theatres("data/theatres.toml")


def test_find_incidents_filters_in_sql(loaded):
    iraq = find_incidents(loaded, THEATRES, theatre_names=["Iraq"])
    assert iraq.total == 2 and len(iraq.rows) == 2
    assert set(iraq.rows["theatre"]) == {"Iraq"}
    assert list(iraq.rows.columns) == INCIDENT_COLUMNS
    everything = find_incidents(loaded, THEATRES, limit=5)
    assert everything.total == 15 and len(everything.rows) == 5
    assert everything.rows["event_date"].is_monotonic_decreasing
    battles = find_incidents(loaded, THEATRES, categories=["battle"])
    assert set(battles.rows["category"]) == {"battle"}
    dated = find_incidents(loaded, THEATRES, start=dt.date(2024, 1, 19), end=dt.date(2024, 1, 19))
    assert set(dated.rows["event_date"]) == {dt.date(2024, 1, 19)}
    assert dated.total == 2  # ACLED Zahedan, UCDP Taizz


def test_search_is_case_insensitive_and_literal(loaded):
    found = find_incidents(loaded, THEATRES, search="AIN AL-ASAD")
    assert sorted(found.rows["source"]) == ["acled", "native"]
    assert find_incidents(loaded, THEATRES, search="kiryat").total == 1
    assert find_incidents(loaded, THEATRES, search="Homs Governorate").total == 1  # admin1
    assert find_incidents(loaded, THEATRES, search="100%").total == 0
    assert find_incidents(loaded, THEATRES, search="_").total == 0
    assert find_incidents(loaded, THEATRES, search="  ").total == 15


def test_actor_activity_counts_both_sides(loaded):
    actors = actor_activity(loaded, THEATRES, "Iraq").set_index("actor")
    assert actors.loc["Islamic Resistance in Iraq", "incidents"] == 2
    assert actors.index[0] == "Islamic Resistance in Iraq"
    assert set(actors.index) == {
        "Islamic Resistance in Iraq",
        "Military Forces of the United States (2021-)",
        "US forces",
    }
    assert actor_activity(loaded, THEATRES, "Iraq", start=dt.date(2025, 1, 1)).empty


def test_map_points_group_places_and_count_the_unlocated(loaded):
    found = map_points(loaded, THEATRES)
    assert found.without_coordinates == 1  # the native Khiam row
    assert found.incidents == 14 == found.points["incidents"].sum()
    assert found.fatalities == found.points["fatalities"].sum()
    few = map_points(loaded, THEATRES, limit=3)
    assert len(few.points) == 3 and few.total_points == found.total_points
    syria = map_points(loaded, THEATRES, theatre_names=["Syria"], categories=["battle"])
    assert set(syria.points["theatre"]) == {"Syria"}
    assert syria.incidents == 2  # UCDP Homs and Deir ez-Zor


def test_loads_last_load_and_versions(loaded):
    origins = loads_by_origin(loaded)
    assert origins[["origin", "loads", "added"]].values.tolist() == [["cli", 3, 15]]
    assert last_load(loaded).file_name == "native_log.csv"
    before = results_version(loaded)
    with loaded.write() as connection:
        connection.execute(scores.insert(), [score_row("m1", dt.date(2024, 1, 15), "Iraq", 0.2)])
    assert results_version(loaded) != before


def score_row(model: str, week: dt.date, theatre: str, probability: float) -> dict:
    drivers = [{"feature": "violent_mean_4", "contribution": 0.5, "text": "many incidents"}]
    return {
        "model_version": model,
        "as_of": week,
        "theatre": theatre,
        "probability": probability,
        "band": "elevated",
        "expected": 10.0,
        "lower": 5.0,
        "upper": 15.0,
        "change": None,
        "drivers": json.dumps(drivers),
        "created_at": dt.datetime(2024, 2, 1, tzinfo=dt.UTC),
    }


def test_latest_scores_take_the_newest_week(database_url):
    store = Store(database_url)
    assert latest_scores(store).empty
    monday, before = dt.date(2024, 1, 15), dt.date(2024, 1, 8)
    with store.write() as connection:
        connection.execute(
            scores.insert(),
            [
                score_row("m1", before, "Iraq", 0.1),
                score_row("m1", monday, "Syria", 0.3),
                score_row("m1", monday, "Iraq", 0.2),
            ],
        )
    latest = latest_scores(store, order=["Iraq", "Syria"])
    assert latest["theatre"].tolist() == ["Iraq", "Syria"]
    assert latest["as_of"].tolist() == [monday, monday]
    assert latest["probability"].tolist() == [0.2, 0.3]
    drivers = score_drivers(latest)
    assert drivers[["theatre", "rank", "feature"]].values.tolist() == [
        ["Iraq", 1, "violent_mean_4"],
        ["Syria", 1, "violent_mean_4"],
    ]
    store.dispose()


def small_panel() -> pd.DataFrame:
    weeks = pd.date_range("2024-01-01", periods=6, freq="7D").astype("datetime64[us]")
    frame = pd.DataFrame(
        {
            "theatre": ["A"] * 6 + ["B"] * 6,
            "week": list(weeks) * 2,
            "violent": [4, 4, 4, 4, 12, 2] + [1, 1, 1, 1, 1, 5],
        }
    )
    frame["violent_mean_4"] = frame.groupby("theatre")["violent"].transform(
        lambda s: s.rolling(4, min_periods=1).mean()
    )
    frame["surge"] = [False] * 4 + [True, False] + [False] * 5 + [True]
    return frame


def test_region_heat_compares_each_week_with_the_four_before():
    heat = region_heat(small_panel(), weeks=2)
    assert heat["week"].nunique() == 2
    a = heat[heat["theatre"] == "A"].set_index("week")
    assert a["baseline"].tolist() == [4.0, 6.0]
    assert a["ratio"].tolist() == [3.0, 2 / 6]
    assert heat.drop_duplicates("week")["surging"].tolist() == [1, 1]


def test_theatre_overview_joins_scores_and_recent_weeks():
    panel = small_panel()
    week = panel["week"].iloc[4]
    scored = pd.DataFrame(
        {
            "theatre": ["A"],
            "probability": [0.4],
            "band": ["high"],
            "change": [0.1],
            "expected": [20.0],
            "lower": [10.0],
            "upper": [30.0],
            "as_of": [week.date()],
        }
    )
    table = theatre_overview(panel, scored, weeks=3).set_index("theatre")
    assert table.loc["A", "violent"] == 12 and table.loc["A", "band"] == "high"
    assert table.loc["A", "recent"] == [4, 4, 12]
    assert table.loc["A", "surges_52"] == 1
    assert pd.isna(table.loc["B", "probability"])
    unscored = theatre_overview(panel, scored.iloc[0:0])
    assert unscored["week"].iloc[0] == panel["week"].max()
    assert unscored["expected"].dtype == float and unscored["expected"].isna().all()


def test_weekly_series_fills_quiet_weeks_with_zeros():
    counts = pd.DataFrame(
        {
            "theatre": ["A", "A", "A"],
            "week": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-15"]).astype(
                "datetime64[us]"
            ),
            "category": ["battle", "protest", "battle"],
            "incidents": [2, 5, 4],
            "violent": [2, 0, 4],
            "fatalities": [1, 0, 3],
        }
    )
    series = weekly_series(
        counts,
        theatres=["A"],
        categories=["battle"],
        start=dt.date(2024, 1, 3),
        end=dt.date(2024, 1, 21),
        window=2,
    )
    assert series["incidents"].tolist() == [2, 0, 4]
    assert series["incidents_mean"].tolist() == [2.0, 1.0, 2.0]
    by_category = weekly_by_category(
        counts,
        theatres=["A"],
        categories=["battle", "protest"],
        start=dt.date(2024, 1, 1),
        end=dt.date(2024, 1, 7),
    )
    assert by_category[["category", "incidents"]].values.tolist() == [["battle", 2], ["protest", 5]]


def test_backtest_frames_flatten_the_stored_backtest():
    block = {"roc_auc": 0.7, "average_precision": 0.3, "brier": 0.1, "bss": 0.05, "ece": 0.02}
    metadata = {
        "backtest": {
            "pooled": {"model": {**block, "n": 10}, "climatology": {**block, "n": 10}},
            "theatres": [
                {
                    "theatre": "Iraq",
                    "positives": 3,
                    "too_few_positives": True,
                    "model": {**block, "n": 5},
                    "counts": {"mae": 1.0, "coverage": 0.8, "n": 5},
                }
            ],
            "reliability": [{"forecast": 0.1, "observed": 0.12, "n": 9}],
            "folds": [{"cutoff": "2023-01-02", "end": "2023-04-03"}],
        },
        "candidates": [{"estimator": "logistic", "feature_set": "full", "brier": 0.1}],
    }
    tables = backtest_frames(metadata)
    assert tables["pooled"]["forecaster"].tolist() == ["model", "climatology"]
    assert tables["theatres"][["theatre", "forecaster", "too_few_positives"]].values.tolist() == [
        ["Iraq", "model", True]
    ]
    assert len(tables["reliability"]) == 1 and len(tables["candidates"]) == 1
    assert backtest_frames({})["pooled"].empty


def test_top_places_join_the_categories_of_a_place():
    points = pd.DataFrame(
        {
            "location": ["Jabalia", "Jabalia", "Afrin", None],
            "theatre": ["Israel & Palestine", "Israel & Palestine", "Syria", "Syria"],
            "category": ["battle", "remote_violence", "battle", "battle"],
            "incidents": [2, 3, 1, 1],
            "fatalities": [4, 1, 9, 0],
        }
    )
    top = top_places(points, n=2)
    assert top.values.tolist() == [
        ["Afrin", "Syria", 1, 9],
        ["Jabalia", "Israel & Palestine", 5, 5],
    ]
