"""Benchmark: the stored weekly counts (risk.store.cells) on a 1M-incident SQLite store.

    .venv/bin/python bench/cells.py [--rounds 3] [--skip-big]

Uses bench/ui.py's store (the demo repeated to 1,000,000 incidents, built on first use under
bench/out/) and copies it, so every run starts from the same data. Prints, medians over
``--rounds``: the migration to the cells schema (the batch index), building a cell set (the
first read under a new theatres box set), the panel's four reads from the cells against a
recount of all incidents, a 20,000-row ingest into the 1M store and its undo with the part spent
on the cells, and the batch lookup as an index read against a full scan. Unless --skip-big:
a 1M-row ingest into an empty store with no cell set, with one (the delta covers all rows), and
without the batch index. Not a test: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from risk.incidents.theatres import load_theatres  # noqa: E402
from risk.store import cells  # noqa: E402
from risk.store.database import Store, cell_sets, weekly_actor_cells, weekly_cells  # noqa: E402
from risk.store.ingest import ingest_file, undo_batch  # noqa: E402

OUT = ROOT / "bench" / "out"
BIG = OUT / "ui_demo_1000000.db"
BIG_CSV = OUT / "ui_demo_1000000.csv"
DEMO = ROOT / "data" / "demo" / "acled_demo.csv.gz"
THEATRES = load_theatres(ROOT / "data" / "theatres.toml")


class Timer:
    """Wraps cells.apply_batch to add up the time spent keeping cells up to date."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.original = cells.apply_batch

    def __enter__(self) -> Timer:
        def timed(*args: Any, **kwargs: Any) -> None:
            start = time.perf_counter()
            try:
                self.original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        cells.apply_batch = timed  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        cells.apply_batch = self.original  # type: ignore[assignment]


def timed(function: Callable[[], Any]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def write_new_rows(path: Path, rows: int, tag: str) -> None:
    """``rows`` demo rows with new ids (a load of new incidents into the 1M store)."""
    with gzip.open(DEMO, "rt", encoding="utf-8", newline="") as source:
        reader = csv.DictReader(source)
        with open(path, "w", encoding="utf-8", newline="") as target:
            writer = csv.DictWriter(target, fieldnames=reader.fieldnames or [])
            writer.writeheader()
            for i, row in enumerate(reader):
                if i >= rows:
                    break
                row["event_id_cnty"] = f"{row['event_id_cnty']}-{tag}"
                writer.writerow(row)


def copy_store(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)


def median(values: list[float]) -> str:
    return (
        f"{statistics.median(values):.2f} s (of {len(values)}: {min(values):.2f}-{max(values):.2f})"
    )


def drop_sets(store: Store) -> None:
    with store.write() as connection:
        for table in (weekly_cells, weekly_actor_cells, cell_sets):
            connection.execute(table.delete())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-big", action="store_true", help="skip the 1M-row ingests")
    parser.add_argument("--only-big", action="store_true", help="only the 1M-row ingests")
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    if not args.only_big:
        small(args.rounds)
    if not args.skip_big:
        big(args.rounds)


def small(rounds: int) -> None:
    """Build, reads, a 20,000-row load and undo on (a copy of) the 1M store."""
    if not BIG.exists():
        sys.exit(f"{BIG} is missing: run .venv/bin/python bench/ui.py once to build it")
    database = OUT / "cells_bench.db"
    copy_store(BIG, database)
    url = f"sqlite:///{database}"
    with sa.create_engine(url).connect() as connection:
        version = connection.execute(sa.text("SELECT max(version) FROM schema_version")).scalar()
    start = time.perf_counter()
    store = Store(url)
    seconds = time.perf_counter() - start
    if version is not None and version < 6:
        print(f"migration {version} -> 6 (batch index) on 1M incidents: {seconds:.2f} s")

    builds = []
    for _ in range(rounds):
        drop_sets(store)
        builds.append(timed(lambda: cells.weekly_counts(store, THEATRES)))
    print(f"build a cell set (first read under new theatre boxes): {median(builds)}")
    with store.read() as connection:
        sizes = [
            connection.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (weekly_cells, weekly_actor_cells)
        ]
    print(f"cells: {sizes[0]:,} weekly cells, {sizes[1]:,} actor cells")

    print("\nread                 from cells           recount of all incidents")
    for name in ("weekly_counts", "weekly_actors", "theatre_places", "theatre_centroids"):
        stored = getattr(cells, name)
        recount = getattr(cells, f"recount_{name}")
        fast = [timed(lambda f=stored: f(store, THEATRES)) for _ in range(rounds)]
        slow = [timed(lambda f=recount: f(store, THEATRES)) for _ in range(rounds)]
        print(f"{name:<20} {statistics.median(fast):>8.3f} s {statistics.median(slow):>20.2f} s")

    loads, load_cells, undos, undo_cells = [], [], [], []
    for round_ in range(rounds):
        path = OUT / f"cells_new_{round_}.csv"
        write_new_rows(path, 20_000, f"new{round_}")
        with Timer() as part:
            report = ingest_file(store, path, origin="bench")
        loads.append(report.seconds)
        load_cells.append(part.seconds)
        with Timer() as part:
            undos.append(timed(lambda b=report.batch_id: undo_batch(store, b)))
        undo_cells.append(part.seconds)
    print(f"\ningest 20,000 new rows into the 1M store: {median(loads)}")
    print(f"  of which the cells' delta: {median(load_cells)}")
    print(f"undo of that load: {median(undos)}")
    print(f"  of which the cells' delta: {median(undo_cells)}")

    raw = sa.create_engine(url)
    with raw.connect() as connection:
        batch = connection.execute(sa.text("SELECT max(batch_id) FROM incidents")).scalar()
        indexed = [
            timed(
                lambda: connection.execute(
                    sa.text("SELECT count(*) FROM incidents WHERE batch_id = :b"), {"b": batch}
                ).scalar()
            )
            for _ in range(rounds)
        ]
        scan = [
            timed(
                lambda: connection.execute(
                    sa.text("SELECT count(*) FROM incidents NOT INDEXED WHERE batch_id = :b"),
                    {"b": batch},
                ).scalar()
            )
            for _ in range(rounds)
        ]
    print(f"a batch's rows by the batch index: {median(indexed)}; by a full scan: {median(scan)}")
    store.dispose()


def big(rounds: int) -> None:
    """The 1M-row file into an empty store: no cell set, one, and no batch index."""
    if not BIG_CSV.exists():
        sys.exit(f"{BIG_CSV} is missing: bench/ui.py writes it when it builds its store")
    print("\ningest the 1M-row file into an empty store:")
    for label, with_set, with_index in (
        ("no cell set", False, True),
        ("one cell set (delta over all 1M rows)", True, True),
        ("no cell set, no batch index", False, False),
    ):
        totals, parts = [], []
        for _ in range(max(1, rounds - 1)):
            empty = OUT / "cells_big_ingest.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{empty}{suffix}").unlink(missing_ok=True)
            fresh = Store(f"sqlite:///{empty}")
            if not with_index:
                with fresh.write() as connection:
                    connection.execute(sa.text("DROP INDEX ix_incidents_batch_id"))
            if with_set:
                cells.weekly_counts(fresh, THEATRES)
            with Timer() as part:
                report = ingest_file(fresh, BIG_CSV, origin="bench")
            totals.append(report.seconds)
            parts.append(part.seconds)
            fresh.dispose()
        print(f"  {label}: {median(totals)}; cells' delta {median(parts)}")


if __name__ == "__main__":
    main()
