"""Stored weekly counts (risk.store.cells) always equal a recount from the incidents."""

import contextlib
import datetime as dt
import io
import math
import threading

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from risk.forecast import panel
from risk.incidents.theatres import Theatre, Theatres
from risk.store import cells, queries
from risk.store.database import (
    Store,
    StoreError,
    batches,
    cell_sets,
    coverage,
    incident_history,
    incidents,
    rejected_rows,
    weekly_actor_cells,
    weekly_cells,
)
from risk.store.ingest import ingest_file, undo_batch, withdraw_events

RED_SEA = (32.0, 12.0, 44.0, 20.0)
# A sea box first (it takes Yemen's coast), places after; a region before its country.
WITH_BOX = Theatres(
    [
        Theatre("Red Sea", boxes=(RED_SEA,)),
        Theatre("Yemen", countries=("Yemen",)),
        Theatre("Aleppo", regions=(("Syria", "Aleppo"),)),
        Theatre("Syria", countries=("Syria",)),
    ]
)
# The same box behind a country: Yemen's coast stays Yemen, only the sea is "Sea".
BOX_LATER = Theatres(
    [
        Theatre("Yemen", countries=("Yemen",)),
        Theatre("Sea", boxes=(RED_SEA,)),
        Theatre("Syria", countries=("Syria",)),
    ]
)
NO_BOX = Theatres([Theatre("Syria", countries=("Syria",)), Theatre("Iraq", countries=("Iraq",))])
ALL = (WITH_BOX, BOX_LATER, NO_BOX)

ACLED_HEADER = (
    "event_id_cnty,event_date,event_type,country,admin1,latitude,longitude,actor1,actor2,"
    "fatalities,timestamp,time_precision\n"
)
NATIVE_HEADER = "id,date,country,admin1,latitude,longitude,event_type,fatalities,actor1\n"
PLACES = [
    ("Syria", "Aleppo", "36.2", "37.1"),
    ("Syria", "Idleb", "35.9", "36.6"),
    ("Yemen", "Al Hudaydah", "14.8", "42.95"),  # on the coast: inside the sea box
    ("Yemen", "Sanaa", "15.35", "44.2"),
    ("Iraq", "Baghdad", "33.3", "44.4"),
    ("", "", "15.5", "41.0"),  # at sea: no country
    ("Iraq", "Anbar", "", ""),  # not located
]
TYPES = ["Battles", "Protests", "Riots", "Strategic developments"]
ACTORS = ["", "Army", "Militia A", "Militia B"]


@st.composite
def acled_rows(draw):
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        country, admin1, lat, lon = draw(st.sampled_from(PLACES))
        day = dt.date(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 27)))
        rows.append(
            ",".join(
                [
                    f"E{draw(st.integers(1, 8))}",
                    day.isoformat(),
                    draw(st.sampled_from(TYPES)),
                    country,
                    admin1,
                    lat,
                    lon,
                    draw(st.sampled_from(ACTORS)),
                    draw(st.sampled_from(ACTORS)),
                    str(draw(st.integers(0, 5))),
                    str(draw(st.integers(1, 3))),  # newer timestamps revise the event
                    draw(st.sampled_from(["1", "1", "3"])),  # 3: month only, not weekly
                ]
            )
        )
    return ("acled", ACLED_HEADER + "\n".join(rows) + "\n")


@st.composite
def native_rows(draw):
    rows = []
    for _ in range(draw(st.integers(1, 4))):
        country, admin1, lat, lon = draw(st.sampled_from(PLACES[:5]))
        day = dt.date(2024, 1, 1) + dt.timedelta(days=draw(st.integers(0, 27)))
        kind = draw(st.sampled_from(["battle", "protest"]))
        fatalities = draw(st.integers(0, 3))
        actor = draw(st.sampled_from(ACTORS))
        rows.append(
            f"N{draw(st.integers(1, 4))},{day},{country},{admin1},{lat},{lon},{kind},"
            f"{fatalities},{actor}"
        )
    return ("native", NATIVE_HEADER + "\n".join(rows) + "\n")


operations = st.lists(
    st.one_of(
        st.tuples(st.just("load"), st.one_of(acled_rows(), native_rows())),
        st.tuples(st.just("undo"), st.integers(0, 5)),
        st.tuples(st.just("withdraw"), st.lists(st.integers(1, 8), min_size=1, max_size=3)),
    ),
    min_size=1,
    max_size=7,
)


@pytest.fixture
def store(database_url):
    opened = Store(database_url)
    yield opened
    opened.dispose()


def _empty(store: Store) -> None:
    with store.write() as connection:
        for table in (
            weekly_cells,
            weekly_actor_cells,
            cell_sets,
            incidents,
            incident_history,
            coverage,
            rejected_rows,
            batches,
        ):
            connection.execute(table.delete())


def _run(store: Store, operation: tuple) -> None:
    kind, value = operation
    if kind == "load":
        fmt, text = value
        ingest_file(store, io.BytesIO(text.encode()), name=f"{fmt}.csv", file_format=fmt)
    elif kind == "undo":
        with store.read() as connection:
            committed = (
                connection.execute(
                    sa.select(batches.c.id)
                    .where(batches.c.status == "committed")
                    .order_by(batches.c.id.desc())
                )
                .scalars()
                .all()
            )
        if committed:
            # Refused when a later batch replaced some of its rows; nothing changes then.
            with contextlib.suppress(StoreError):
                undo_batch(store, committed[value % len(committed)])
    else:
        withdraw_events(store, "acled", [f"E{i}" for i in value], name="deleted")


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    key = [c for c in ("theatre", "week", "source", "category") if c in frame]
    return frame.sort_values(key).reset_index(drop=True)


def assert_cells_match_recount(store: Store, theatres: Theatres) -> None:
    pd.testing.assert_frame_equal(
        _sorted(cells.weekly_counts(store, theatres)),
        _sorted(cells.recount_weekly_counts(store, theatres)),
    )
    pd.testing.assert_frame_equal(
        _sorted(cells.weekly_actors(store, theatres)),
        _sorted(cells.recount_weekly_actors(store, theatres)),
    )
    assert sorted(cells.theatre_places(store, theatres)) == sorted(
        cells.recount_theatre_places(store, theatres)
    )
    stored, counted = (
        cells.theatre_centroids(store, theatres),
        cells.recount_theatre_centroids(store, theatres),
    )
    assert stored.keys() == counted.keys()
    for name, (lat, lon) in counted.items():
        assert math.isclose(stored[name][0], lat, abs_tol=1e-9)
        assert math.isclose(stored[name][1], lon, abs_tol=1e-9)


def recount_theatre_stats(store: Store, theatres: Theatres) -> pd.DataFrame:
    """theatre_stats as it was computed before the cells: one GROUP BY over all incidents."""
    with store.read() as connection:
        theatre = queries.theatre_column(connection, theatres)
        rows = connection.execute(
            sa.select(
                theatre,
                sa.func.count(),
                sa.func.sum(sa.case((incidents.c.violent, 1), else_=0)),
                sa.func.sum(incidents.c.fatalities),
                sa.func.min(incidents.c.event_date),
                sa.func.max(incidents.c.event_date),
            ).group_by(sa.literal_column("theatre"))
        ).all()
    return {
        name: (int(n), int(v), int(f), str(a)[:10], str(b)[:10]) for name, n, v, f, a, b in rows
    }


def assert_stats_match_recount(store: Store, theatres: Theatres) -> None:
    stats = queries.theatre_stats(store, theatres)
    stored = {
        row.theatre: (
            row.incidents,
            row.violent,
            row.fatalities,
            str(row.first_date),
            str(row.last_date),
        )
        for row in stats.itertuples()
        if row.incidents
    }
    assert stored == recount_theatre_stats(store, theatres)
    with store.read() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(incidents)).scalar_one()
    assert queries.store_summary(store).total_incidents == count
    sources = queries.theatre_sources(store, theatres)
    assert {name for name, listed in sources.items() if listed} == set(stored)


def _no_empty_cells(store: Store) -> None:
    with store.read() as connection:
        for table in (weekly_cells, weekly_actor_cells):
            empty = connection.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.incidents <= 0)
            ).scalar_one()
            assert empty == 0, f"{table.name} keeps rows with no incidents"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(before=operations, after=operations)
def test_cells_equal_a_recount_after_any_loads_undos_and_withdrawals(store, before, after):
    _empty(store)  # one store per test, emptied per example
    for operation in before:
        _run(store, operation)
    for theatres in ALL:  # the sets are built here from what is stored, then kept up to date
        assert_cells_match_recount(store, theatres)
    for operation in after:
        _run(store, operation)
    for theatres in ALL:
        assert_cells_match_recount(store, theatres)
        assert_stats_match_recount(store, theatres)
    _no_empty_cells(store)
    assert len(cells.stored_sets(store)) == 2  # WITH_BOX and BOX_LATER share one box set


NATIVE = (
    "id,date,country,admin1,latitude,longitude,event_type,fatalities\n"
    "a,2024-01-02,Yemen,Al Hudaydah,14.8,42.95,battle,2\n"
    "b,2024-01-03,,,15.5,41.0,battle,0\n"
    "c,2024-01-09,Syria,Aleppo,36.2,37.1,protest,0\n"
)


def load(store: Store, text: str, name: str = "log.csv") -> int:
    return ingest_file(store, io.BytesIO(text.encode()), name=name).batch_id


def test_a_box_theatre_takes_events_at_sea_and_on_its_coast(store):
    load(store, NATIVE)
    counts = cells.weekly_counts(store, WITH_BOX)
    assert counts.groupby("theatre")["incidents"].sum().to_dict() == {"Red Sea": 2, "Aleppo": 1}
    later = cells.weekly_counts(store, BOX_LATER)
    assert later.groupby("theatre")["incidents"].sum().to_dict() == {
        "Yemen": 1,
        "Sea": 1,
        "Syria": 1,
    }
    assert cells.theatre_centroids(store, WITH_BOX)["Red Sea"] == pytest.approx((15.15, 41.975))


def test_a_load_updates_every_stored_set_and_undo_takes_it_back(store):
    load(store, NATIVE)
    for theatres in ALL:
        cells.weekly_counts(store, theatres)  # builds the two box sets
    batch = load(store, "id,date,country,event_type,fatalities\nd,2024-01-10,Syria,battle,1\n")
    with store.read() as connection:
        per_set = connection.execute(
            sa.select(weekly_cells.c.set_id, sa.func.sum(weekly_cells.c.incidents)).group_by(
                weekly_cells.c.set_id
            )
        ).all()
    assert sorted(n for _, n in per_set) == [4, 4]
    for theatres in ALL:
        assert_cells_match_recount(store, theatres)
    undo_batch(store, batch)
    counts = cells.weekly_counts(store, NO_BOX)
    assert counts.groupby("theatre")["incidents"].sum().to_dict() == {"Syria": 1, "Other": 2}
    for theatres in ALL:
        assert_cells_match_recount(store, theatres)


def test_a_load_counts_an_event_in_overlapping_boxes_for_the_first_box_theatre(store):
    # Loads count their new events from their own rows (no GROUP BY): the box rule must be
    # the one SQL applies, the first box theatre in file order holding the point.
    overlapping = Theatres(
        [
            Theatre("Bab al-Mandab", boxes=((42.0, 12.0, 44.0, 13.5),)),
            Theatre("Red Sea", boxes=(RED_SEA,)),
            Theatre("Gulf of Aden", boxes=((43.0, 10.0, 52.0, 13.0),)),
        ]
    )
    reversed_order = Theatres(list(reversed(overlapping.theatres)))
    load(store, NATIVE)
    for theatres in (overlapping, reversed_order):
        cells.weekly_counts(store, theatres)  # both box sets exist before the next load
    load(
        store,
        "id,date,country,admin1,latitude,longitude,event_type,fatalities,actor1\n"
        "e,2024-01-04,,,12.6,43.4,battle,1,Navy\n"  # inside all three boxes
        "f,2024-01-05,,,12.5,43.1,battle,0,\n"  # the same three, without an actor
        "g,2024-01-06,,,11.0,50.0,battle,0,Navy\n",  # the Gulf of Aden only
        name="sea.csv",
    )
    first = cells.weekly_counts(store, overlapping).groupby("theatre")["incidents"].sum()
    assert first.to_dict() == {"Bab al-Mandab": 2, "Red Sea": 2, "Gulf of Aden": 1, "Other": 1}
    last = cells.weekly_counts(store, reversed_order).groupby("theatre")["incidents"].sum()
    assert last.to_dict() == {"Gulf of Aden": 3, "Red Sea": 2, "Other": 1}
    for theatres in (overlapping, reversed_order):
        assert_cells_match_recount(store, theatres)


def test_a_dry_run_leaves_the_cells_alone(store):
    load(store, NATIVE)
    before = cells.weekly_counts(store, WITH_BOX)
    report = ingest_file(
        store,
        io.BytesIO(b"id,date,country,event_type,fatalities\nz,2024-01-10,Syria,battle,1\n"),
        name="x.csv",
        dry_run=True,
    )
    assert report.added == 1
    pd.testing.assert_frame_equal(cells.weekly_counts(store, WITH_BOX), before)


def test_the_least_recently_used_sets_are_dropped_beyond_the_limit(store, monkeypatch):
    load(store, NATIVE)
    monkeypatch.setattr(cells, "KEEP_SETS", 2)
    boxes = [Theatres([Theatre("Sea", boxes=((30.0 + i, 10.0, 45.0, 20.0),))]) for i in range(3)]
    for theatres in boxes:
        cells.weekly_counts(store, theatres)
    kept = cells.stored_sets(store)
    assert len(kept) == 2
    assert cells._definition(cells.box_groups(boxes[0]))[0] not in set(kept["fingerprint"])
    with store.read() as connection:
        orphans = connection.execute(
            sa.select(sa.func.count())
            .select_from(weekly_cells)
            .where(weekly_cells.c.set_id.not_in(kept["id"].tolist()))
        ).scalar_one()
    assert orphans == 0
    # A dropped set is built again when it is needed, and is right.
    assert_cells_match_recount(store, boxes[0])


def test_two_processes_building_the_same_set_at_once_make_one(database_url):
    first, second = Store(database_url), Store(database_url)
    load(first, NATIVE)
    results: list[pd.DataFrame] = []
    errors: list[BaseException] = []

    def read(opened: Store) -> None:
        try:
            results.append(cells.weekly_counts(opened, WITH_BOX))
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=read, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    pd.testing.assert_frame_equal(_sorted(results[0]), _sorted(results[1]))
    assert len(cells.stored_sets(first)) == 1
    first.dispose()
    second.dispose()


def test_the_panel_reads_the_cells(store):
    load(store, NATIVE)
    cells.weekly_counts(store, WITH_BOX)
    # Change the incidents behind the cells' back: the panel must not recount them.
    with store.write() as connection:
        connection.execute(incidents.update().values(fatalities=100))
    counts = panel.weekly_counts(store, WITH_BOX)
    assert counts["fatalities"].sum() == 2


def test_the_computed_panel_is_stored_and_replaced_when_data_changes(store):
    target = panel.SurgeTarget()
    load(store, NATIVE)
    computed = panel.weekly_panel(store, WITH_BOX, target)
    key = panel.panel_key(store, WITH_BOX, target)
    pd.testing.assert_frame_equal(cells.stored_panel(store, key), computed)
    pd.testing.assert_frame_equal(panel.weekly_panel(store, WITH_BOX, target), computed)
    # Other theatres or another target are other panels.
    assert panel.panel_key(store, BOX_LATER, target) != key
    assert panel.panel_key(store, WITH_BOX, panel.SurgeTarget(ratio=3.0)) != key

    batch = load(store, "id,date,country,event_type,fatalities\nd,2024-01-10,Syria,battle,1\n")
    assert panel.panel_key(store, WITH_BOX, target) != key
    after = panel.weekly_panel(store, WITH_BOX, target)
    assert after["incidents"].sum() == computed["incidents"].sum() + 1
    undo_batch(store, batch)  # an undo is a new data version too
    assert panel.weekly_panel(store, WITH_BOX, target)["incidents"].sum() == (
        computed["incidents"].sum()
    )


def test_storing_a_panel_never_waits_for_a_load_in_progress(sqlite_url):
    store = Store(sqlite_url)
    load(store, NATIVE)
    frame = panel.weekly_panel(store, NO_BOX, panel.SurgeTarget())
    with store.write():  # a load holds the writer lock
        assert cells.keep_panel(store, "another key", frame) is False
    assert cells.keep_panel(store, "another key", frame) is True
    store.dispose()


def test_undoing_a_withdrawal_of_an_event_loaded_again_is_refused_with_a_message(store):
    header = "event_id_cnty,event_date,event_type,country,fatalities,timestamp\n"
    load(store, header + "E1,2024-01-02,Battles,Syria,1,1\n", "a.csv")
    withdrawn = withdraw_events(store, "acled", ["E1"], name="deleted").batch_id
    again = load(store, header + "E1,2024-01-03,Battles,Syria,2,2\n", "b.csv")
    with pytest.raises(StoreError, match=f"later batch\\(es\\) {again} loaded again"):
        undo_batch(store, withdrawn)
    assert_cells_match_recount(store, NO_BOX)
    undo_batch(store, again)
    undo_batch(store, withdrawn)  # now it can go back in
    assert cells.weekly_counts(store, NO_BOX)["fatalities"].sum() == 1
    assert_cells_match_recount(store, NO_BOX)
