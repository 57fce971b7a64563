import datetime as dt
import io
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from risk.incidents.csv_reader import FileProblem
from risk.store.database import Store, StoreError, incident_history, incidents
from risk.store.ingest import _prefetched, batch_rejections, ingest_file, list_batches, undo_batch

DATA = Path(__file__).parents[1] / "data"
NATIVE_HEADER = "id,date,country,admin1,event_type,fatalities,notes\n"
ACLED_HEADER = "event_id_cnty,event_date,event_type,country,admin1,fatalities,notes,timestamp\n"


def native(text: str) -> io.BytesIO:
    return io.BytesIO((NATIVE_HEADER + text).encode())


def acled(text: str) -> io.BytesIO:
    return io.BytesIO((ACLED_HEADER + text).encode())


@pytest.fixture
def store(database_url):
    store = Store(database_url)
    yield store
    store.dispose()


def snapshot(store: Store) -> tuple:
    """Everything ingest and undo may change, to compare before and after."""
    with store.read() as connection:
        rows = connection.execute(sa.select(incidents).order_by(incidents.c.id)).all()
        history = connection.execute(sa.select(sa.func.count()).select_from(incident_history))
        batch_rows = connection.execute(sa.text("SELECT id, status FROM batches ORDER BY id"))
        return tuple(map(tuple, rows)), history.scalar_one(), tuple(map(tuple, batch_rows))


def count(store: Store) -> int:
    with store.read() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(incidents)).scalar_one()


def test_ingest_records_an_audited_batch(store):
    report = ingest_file(store, DATA / "acled_current.csv")
    assert (report.rows_read, report.added, report.updated, report.duplicates) == (8, 8, 0, 0)
    assert report.rejected == []
    batches = list_batches(store)
    assert len(batches) == 1
    batch = batches.iloc[0]
    assert batch["file_name"] == "acled_current.csv"
    assert batch["format"] == "acled"
    assert len(batch["sha256"]) == 64
    assert (batch["rows_read"], batch["added"], batch["status"]) == (8, 8, "committed")
    assert count(store) == 8


def test_reingesting_a_file_adds_nothing(store):
    ingest_file(store, DATA / "acled_current.csv")
    before = count(store)
    again = ingest_file(store, DATA / "acled_current.csv")
    assert (again.added, again.updated, again.duplicates) == (0, 0, 8)
    assert count(store) == before
    # The same events in another export variant are the same events.
    variant = ingest_file(store, DATA / "acled_old_export.csv")
    assert (variant.added, variant.updated, variant.duplicates) == (0, 0, 8)


def test_newer_acled_revision_replaces_and_older_is_ignored(store):
    ingest_file(store, acled("IRQ1,2024-01-20,Battles,Iraq,Baghdad,1,first,1000\n"))
    newer = ingest_file(store, acled("IRQ1,2024-01-20,Battles,Iraq,Baghdad,4,revised,2000\n"))
    assert (newer.added, newer.updated) == (0, 1)
    older = ingest_file(store, acled("IRQ1,2024-01-20,Battles,Iraq,Baghdad,9,stale,1500\n"))
    assert (older.updated, older.duplicates) == (0, 1)
    with store.read() as connection:
        row = connection.execute(sa.select(incidents)).one()
    assert (row.fatalities, row.notes, row.revision_time) == (4, "revised", 2000)


def test_native_rows_update_by_id_and_by_content_without_id(store):
    ingest_file(
        store, native("a,2024-01-20,Iraq,Anbar,battle,1,x\n,2024-01-20,Iraq,Anbar,battle,0,y\n")
    )
    report = ingest_file(
        store, native("a,2024-01-20,Iraq,Anbar,battle,2,x\n,2024-01-20,Iraq,Anbar,battle,0,y\n")
    )
    assert (report.added, report.updated, report.duplicates) == (0, 1, 1)
    edited = ingest_file(store, native(",2024-01-20,Iraq,Anbar,battle,0,y edited\n"))
    assert edited.added == 1, "a row without id is identified by its content"


def test_repeated_id_inside_a_file_is_rejected_pointing_at_the_first(store):
    report = ingest_file(
        store, native("a,2024-01-20,Iraq,,battle,1,x\na,2024-01-21,Iraq,,battle,2,y\n")
    )
    assert report.added == 1
    assert [(r.line, r.reason) for r in report.rejected] == [
        (3, "duplicate id 'a': it is already on line 2")
    ]


def test_rejected_rows_are_kept_with_line_reason_and_row(store):
    report = ingest_file(
        store, native("a,2024-01-20,Iraq,,battle,-3,x\nb,2024-01-20,Iraq,,battle,1,y\n")
    )
    stored = batch_rejections(store, report.batch_id)
    assert stored[["line", "reason"]].values.tolist() == [[2, "fatalities '-3' is negative"]]
    assert '"fatalities": "-3"' in stored.iloc[0]["raw"]


def test_undo_removes_additions_and_restores_replaced_versions(store):
    first = ingest_file(store, acled("IRQ1,2024-01-20,Battles,Iraq,Baghdad,1,first,1000\n"))
    after_first = snapshot(store)
    second = ingest_file(
        store,
        acled(
            "IRQ1,2024-01-20,Battles,Iraq,Baghdad,4,revised,2000\n"
            "IRQ2,2024-01-21,Riots,Iraq,Basrah,0,new,2000\n"
        ),
    )
    assert (second.added, second.updated) == (1, 1)
    report = undo_batch(store, second.batch_id)
    assert (report.removed, report.restored) == (2, 1)
    rows, history, batches = snapshot(store)
    assert rows == after_first[0] and history == 0
    assert batches == ((first.batch_id, "committed"), (second.batch_id, "undone"))
    with pytest.raises(StoreError, match="already undone"):
        undo_batch(store, second.batch_id)


def test_undo_refuses_while_a_later_batch_replaced_its_rows(store):
    first = ingest_file(store, acled("IRQ1,2024-01-20,Battles,Iraq,Baghdad,1,first,1000\n"))
    second = ingest_file(store, acled("IRQ1,2024-01-20,Battles,Iraq,Baghdad,4,revised,2000\n"))
    with pytest.raises(StoreError, match=f"later batch\\(es\\) {second.batch_id}"):
        undo_batch(store, first.batch_id)
    undo_batch(store, second.batch_id)
    undo_batch(store, first.batch_id)
    assert count(store) == 0
    with pytest.raises(StoreError, match="no batch 999"):
        undo_batch(store, 999)


def test_a_file_that_fails_midway_leaves_the_store_unchanged(store):
    ingest_file(store, DATA / "acled_current.csv")
    before = snapshot(store)
    # Valid rows first, then bytes that are not UTF-8: found only after rows were merged.
    good = "".join(f"n{i},2024-01-{i % 28 + 1:02d},Iraq,,battle,0,ok\n" for i in range(2000))
    data = (NATIVE_HEADER + good).encode() + "n-bad,2024-01-01,Iraq,,battle,0,caf\xe9\n".encode(
        "latin-1"
    )
    with pytest.raises(FileProblem, match="not valid UTF-8"):
        ingest_file(store, io.BytesIO(data), name="half.csv")
    assert snapshot(store) == before


def test_dry_run_reports_the_counts_and_changes_nothing(store):
    ingest_file(store, DATA / "acled_current.csv")
    before = snapshot(store)
    preview = ingest_file(store, DATA / "acled_old_export.csv", dry_run=True)
    assert (preview.rows_read, preview.duplicates, preview.batch_id) == (8, 8, None)
    assert preview.first_date.isoformat() == "2024-01-19"
    assert snapshot(store) == before


def test_theatre_counts_in_the_report(store):
    from risk.incidents.theatres import load_theatres

    report = ingest_file(
        store, DATA / "acled_current.csv", theatres=load_theatres("data/theatres.toml")
    )
    assert report.theatres["Lebanon & northern Israel"] == 2  # Lebanon + Kiryat Shmona
    assert report.theatres["Other"] == 1  # Tower 22, Jordan


def _big_native(path: Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(NATIVE_HEADER)
        for i in range(rows):
            handle.write(f"k{i},2024-01-{i % 28 + 1:02d},Iraq,Anbar,battle,{i % 3},note {i}\n")


def _offset_in(pid: int, path: Path) -> int:
    """How far process ``pid`` has read into ``path`` (from /proc), 0 before it opens it."""
    fds = Path(f"/proc/{pid}/fd")
    try:
        for fd in fds.iterdir():
            if os.readlink(fd) == str(path):
                info = (Path(f"/proc/{pid}/fdinfo") / fd.name).read_text()
                return int(info.split("pos:")[1].split()[0])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def test_killing_an_ingest_at_random_points_leaves_the_store_as_it_was(store, tmp_path):
    ingest_file(store, DATA / "acled_current.csv")
    before = snapshot(store)
    big = tmp_path / "big.csv"
    _big_native(big, 300_000)
    size = big.stat().st_size
    env = {**os.environ, "RISK_DATABASE_URL": store.url, "PYTHONPATH": str(Path.cwd())}
    rng = random.Random(11)
    for attempt in range(4):
        errors = tmp_path / f"stderr-{attempt}.txt"
        process = subprocess.Popen(
            [sys.executable, "-m", "risk", "ingest", str(big)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors.open("w"),
        )
        # Kill it somewhere mid-file: rows are being parsed and written in its transaction.
        point = int(size * rng.uniform(0.1, 0.9))
        deadline = time.monotonic() + 60
        while _offset_in(process.pid, big) < point and time.monotonic() < deadline:
            assert process.poll() is None, (
                f"the ingest ended before it could be killed: {errors.read_text()[-2000:]}"
            )
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert snapshot(store) == before
    report = ingest_file(store, big)
    assert report.added == 300_000


def _indexes(store: Store) -> set[str]:
    return {i["name"] for i in sa.inspect(store.engine).get_indexes("incidents")}


def test_a_load_into_an_empty_store_keeps_the_date_index_whatever_happens(store, tmp_path):
    # Into an empty SQLite store the date index is rebuilt at the end of the load (faster);
    # a failed load must leave it in place, and a finished one must have rebuilt it.
    indexes = _indexes(store)
    assert "ix_incidents_event_date" in indexes
    good = "".join(f"n{i},2024-01-{i % 28 + 1:02d},Iraq,,battle,0,ok\n" for i in range(2000))
    bad = (NATIVE_HEADER + good).encode() + "n-x,2024-01-01,Iraq,,battle,0,caf\xe9\n".encode(
        "latin-1"
    )
    with pytest.raises(FileProblem):
        ingest_file(store, io.BytesIO(bad), name="half.csv")
    assert (count(store), _indexes(store)) == (0, indexes)
    report = ingest_file(store, native(good), name="good.csv")
    assert (report.added, count(store), _indexes(store)) == (2000, 2000, indexes)
    with store.read() as connection:
        in_january = connection.execute(
            sa.select(sa.func.count())
            .select_from(incidents)
            .where(incidents.c.event_date.between(dt.date(2024, 1, 1), dt.date(2024, 1, 7)))
        ).scalar_one()
    assert in_january == sum(1 for i in range(2000) if i % 28 < 7)


def test_killing_a_load_into_an_empty_store_leaves_it_empty_and_indexed(store, tmp_path):
    indexes = _indexes(store)
    big = tmp_path / "big.csv"
    _big_native(big, 300_000)
    env = {**os.environ, "RISK_DATABASE_URL": store.url, "PYTHONPATH": str(Path.cwd())}
    process = subprocess.Popen(
        [sys.executable, "-m", "risk", "ingest", str(big)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while _offset_in(process.pid, big) < big.stat().st_size // 2 and time.monotonic() < deadline:
        assert process.poll() is None, "the ingest ended before it could be killed"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (count(store), _indexes(store)) == (0, indexes)
    with store.read() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM batches")).scalar_one() == 0


def test_concurrent_writers_and_a_long_reader_wait_their_turn(store, tmp_path):
    """SQLite busy/locked (and PostgreSQL row locks) are waited out, never surfaced."""
    files = []
    for name in ("a", "b", "c"):
        path = tmp_path / f"{name}.csv"
        path.write_text(
            NATIVE_HEADER
            + "".join(
                f"{name}{i},2024-01-{i % 28 + 1:02d},Iraq,,battle,0,x\n" for i in range(20_000)
            )
        )
        files.append(path)
    errors: list[BaseException] = []
    reports = []

    def load(path: Path) -> None:
        try:
            reports.append(ingest_file(store, path))
        except BaseException as error:  # noqa: BLE001 - collected for the assertion below
            errors.append(error)

    with store.read() as reader:  # a reader holding its snapshot throughout
        seen_before = reader.execute(sa.select(sa.func.count()).select_from(incidents)).scalar()
        threads = [threading.Thread(target=load, args=(path,)) for path in files]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        still = reader.execute(sa.select(sa.func.count()).select_from(incidents)).scalar()
    assert errors == []
    assert sorted(r.added for r in reports) == [20_000] * 3
    assert count(store) == 60_000
    assert still == seen_before == 0, "the reader kept its consistent snapshot"


def test_a_consumer_that_stops_early_never_waits_for_the_reader_thread():
    # The reader thread may be handing over its last entry when the load stops (an error, a
    # row limit): closing must not wait for a queue nobody reads any more.
    for stop_after in (1, 2):
        items = _prefetched(iter([1, 2]), depth=1)
        taken = [next(items) for _ in range(stop_after)]
        time.sleep(0.3)  # the reader is now blocked on the full queue
        closing = threading.Thread(target=items.close)
        closing.start()
        closing.join(5)
        assert not closing.is_alive(), f"closing after {taken} waited for the reader"
