"""Coverage per load, precision kept in the store, and updates that never blank a field."""

import datetime as dt
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from risk.incidents.csv_reader import FileProblem
from risk.store import migrations
from risk.store.database import Store, coverage, incidents, places, precision_columns
from risk.store.ingest import ingest_file
from risk.store.queries import coverage_ranges, find_incidents, map_points

DATA = Path(__file__).parents[1] / "data"


def stored(store, source, source_id):
    with store.read() as connection:
        return connection.execute(
            sa.select(incidents, places.c.admin1)
            .join(places, places.c.id == incidents.c.place_id)
            .where(incidents.c.source == source, incidents.c.source_id == source_id)
        ).one()


def test_each_load_records_its_range_per_country(database_url):
    store = Store(database_url)
    text = (
        "id,date,country,event_type,fatalities\n"
        "a,2024-01-03,Syria,battle,1\n"
        "b,2024-02-20,Syria,battle,1\n"
        "c,2024-01-10,Iraq,battle,0\n"
    )
    report = ingest_file(store, io.BytesIO(text.encode()), name="log.csv")
    assert report.coverage == {
        "Iraq": (dt.date(2024, 1, 10), dt.date(2024, 1, 10)),
        "Syria": (dt.date(2024, 1, 3), dt.date(2024, 2, 20)),
    }
    ranges = coverage_ranges(store)
    assert sorted(ranges["country"]) == ["Iraq", "Syria"]
    store.dispose()


def test_a_stated_period_is_recorded_and_checked(sqlite_url):
    store = Store(sqlite_url)
    text = "id,date,country,event_type,fatalities\na,2024-01-03,Syria,battle,1\n"
    covers = (dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    report = ingest_file(store, io.BytesIO(text.encode()), name="log.csv", covers=covers)
    assert report.coverage == {"Syria": covers}
    with store.read() as connection:
        assert connection.execute(sa.select(coverage.c.stated)).scalar_one()
    with pytest.raises(FileProblem, match="ends before it starts"):
        ingest_file(store, io.BytesIO(text.encode()), name="x.csv", covers=covers[::-1])
    store.dispose()


def test_a_reduced_ucdp_export_is_read_as_ucdp_and_blanks_nothing(database_url):
    store = Store(database_url)
    ingest_file(store, DATA / "ucdp_syria_2016_2017.csv")
    before = stored(store, "ucdp", "300001")
    report = ingest_file(store, DATA / "ucdp_reduced.csv")
    assert report.format == "ucdp" and report.rejected_count == 0
    assert "not used (conflict_id)" in report.read_as
    after = stored(store, "ucdp", "300001")
    for name in ("admin1", "admin2", "location", "actor1", "actor2", "notes", "details"):
        assert getattr(after, name) == getattr(before, name), name
    assert after.geo_precision == before.geo_precision
    store.dispose()


def test_a_newer_acled_revision_may_blank_a_field(sqlite_url):
    store = Store(sqlite_url)
    header = "event_id_cnty,event_date,event_type,country,admin1,admin2,fatalities,timestamp\n"
    ingest_file(
        store,
        io.BytesIO((header + "SYR1,2024-01-02,Battles,Syria,Idleb,Ariha,1,100\n").encode()),
        name="a.csv",
    )
    older = header + "SYR1,2024-01-02,Battles,Syria,Idleb,,1,90\n"
    ingest_file(store, io.BytesIO(older.encode()), name="b.csv")
    assert stored(store, "acled", "SYR1").admin2 == "Ariha"
    newer = header + "SYR1,2024-01-02,Battles,Syria,Idleb,,2,200\n"
    report = ingest_file(store, io.BytesIO(newer.encode()), name="c.csv")
    assert report.updated == 1
    row = stored(store, "acled", "SYR1")
    assert row.admin2 is None and row.fatalities == 2
    store.dispose()


def test_precision_is_stored_and_shown(sqlite_url):
    store = Store(sqlite_url)
    ingest_file(store, DATA / "ucdp_syria_2016_2017.csv")
    total = stored(store, "ucdp", "399001")
    assert (total.date_precision, total.geo_precision) == (5, 6)
    assert not total.week_precise and not total.place_precise
    assert total.date_end == dt.date(2016, 12, 31)
    assert json.loads(total.details)["conflict_name"] == "Syria: Government"
    from risk.incidents.theatres import load_theatres

    theatres = load_theatres("data/theatres.toml")
    page = find_incidents(store, theatres, end=dt.date(2016, 1, 1), limit=None)
    assert page.rows["precision"].tolist() == [
        "dated only to 2016-01-01 .. 2016-12-31; not in weekly counts; located only to a "
        "region or the country; not on the map"
    ]
    points = map_points(store, theatres, end=dt.date(2016, 1, 1))
    assert points.points.empty and points.without_coordinates == 1
    store.dispose()


def test_migration_4_upgrades_an_older_store_and_backfills_coverage(database_url):
    store = Store(database_url)
    text = "id,date,country,event_type,fatalities\na,2024-01-03,Syria,battle,1\n"
    ingest_file(store, io.BytesIO(text.encode()), name="log.csv")
    with store.write() as connection:  # make it look like a store written before version 4
        connection.execute(sa.text("DROP TABLE coverage"))
        for table in ("incidents", "incident_history"):
            for column in precision_columns():
                connection.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column.name}"))
        connection.execute(sa.text("DELETE FROM schema_version WHERE version >= 4"))
    store.dispose()
    store = Store(database_url)
    assert migrations.latest_version() >= 4
    ranges = coverage_ranges(store)
    assert ranges[["source", "country"]].values.tolist() == [["native", "Syria"]]
    row = stored(store, "native", "a")
    assert row.week_precise and row.place_precise and row.date_end is None
    store.dispose()
