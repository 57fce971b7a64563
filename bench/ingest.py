"""Benchmark: ingest a 1M-row ACLED export into fresh SQLite and PostgreSQL stores; DuckDB.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--runs 3] [--no-postgres]
                                     [--postgres-url URL] [--keep]

Writes an ACLED-format file (31 columns, notes of realistic length, quoted newlines in some
notes) under bench/out/, and per run: loads it with ``python -m risk ingest`` in a child process
into a fresh SQLite store, into a SQLite store in use (a few incidents and the default
theatres' stored weekly counts, which the load keeps up to date) and (unless
``--no-postgres``) into a fresh PostgreSQL database, and times DuckDB reading the same file
into a table (``CREATE TABLE AS SELECT * FROM read_csv(...)``). Prints each run and the
medians: incidents per second, the child's CPU time (its reader process's included), peak
memory (the ingest and its reader process together, sampled every 50 ms), the ratio to DuckDB,
and the load average (the machine is shared, so wall times are upper bounds). PostgreSQL is a
throwaway server started the way the tests start theirs (``tests/pgserver.py``: fsync off),
or the server at ``--postgres-url`` (a database ``risk_bench_ingest`` is created and dropped
there). Not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from risk.incidents.formats import ACLED_COLUMNS  # noqa: E402

OUT = ROOT / "bench" / "out"
PLACES = [
    ("IRQ", 368, "Iraq", "Al Anbar", "Ramadi", 33.42, 43.30),
    ("IRQ", 368, "Iraq", "Baghdad", "Baghdad", 33.31, 44.36),
    ("SYR", 760, "Syria", "Aleppo", "Aleppo", 36.20, 37.16),
    ("SYR", 760, "Syria", "Idleb", "Idleb", 35.93, 36.63),
    ("LBN", 422, "Lebanon", "South", "Tyre", 33.27, 35.20),
    ("ISR", 376, "Israel", "HaZafon", "Kiryat Shmona", 33.21, 35.57),
    ("PSE", 275, "Palestine", "Gaza Strip", "Khan Yunis", 31.35, 34.31),
    ("YEM", 887, "Yemen", "Taizz", "Taizz", 13.58, 44.02),
    ("IRN", 364, "Iran", "Tehran", "Tehran", 35.69, 51.39),
]
TYPES = [
    ("Battles", "Armed clash"),
    ("Explosions/Remote violence", "Air/drone strike"),
    ("Violence against civilians", "Attack"),
    ("Protests", "Peaceful protest"),
    ("Riots", "Violent demonstration"),
    ("Strategic developments", "Arrests"),
]


def write_file(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(ACLED_COLUMNS)
        for i in range(rows):
            iso3, iso, country, admin1, location, lat, lon = rng.choice(PLACES)
            event_type, sub_type = rng.choice(TYPES)
            day = f"20{rng.randint(18, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            words = " ".join(
                rng.choice(
                    (
                        "forces",
                        "attacked",
                        "near",
                        "the",
                        "town",
                        "of",
                        "reportedly",
                        "wounded",
                        "civilians",
                        "militants",
                    )
                )
                for _ in range(rng.randint(15, 45))
            )
            notes = f"On {day}, {words} {location}." + ("\nUpdated." if i % 50 == 0 else "")
            writer.writerow(
                [
                    f"{iso3}{i}",
                    day,
                    day[:4],
                    1,
                    "Political violence",
                    event_type,
                    sub_type,
                    "Military Forces of Iraq (2022-)",
                    "",
                    "State forces",
                    "Islamic State (Iraq)",
                    "",
                    "Rebel group",
                    "State forces-Rebel group",
                    "",
                    iso,
                    "Middle East",
                    country,
                    admin1,
                    location,
                    "",
                    location,
                    f"{lat + rng.uniform(-0.3, 0.3):.4f}",
                    f"{lon + rng.uniform(-0.3, 0.3):.4f}",
                    1,
                    "Reuters; Al Jazeera",
                    "National",
                    notes,
                    rng.choice((0, 0, 0, 1, 2, 5)),
                    "",
                    1_700_000_000 + i,
                ]
            )


@dataclass
class Run:
    seconds: float
    cpu: float  # the child's user + system time, with its reader process's
    peak_mb: float  # resident memory of the child and its reader process together
    summary: str


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children (the ingest and its reader process)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(status.split("VmRSS:")[1].split()[0]) if "VmRSS:" in status else 0
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total / 1024


def time_ingest(path: Path, url: str) -> Run:
    env = {**os.environ, "RISK_DATABASE_URL": url, "RISK_LOAD_DEMO": "0"}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "risk", "ingest", str(path)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=err,
        )
        peak = [0.0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.05):
                peak[0] = max(peak[0], _tree_rss_mb(child.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # wait4 gives this child's CPU time (its reaped reader process's included).
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode:
            sys.exit(f"ingest failed: {err.read()}")
        summary = out.read().strip().splitlines()[1].strip()
    return Run(
        seconds=elapsed,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_mb=max(peak[0], usage.ru_maxrss / 1024),
        summary=summary,
    )


def store_in_use(database: Path) -> str:
    """A SQLite store as the dashboard leaves it: some incidents, and the stored weekly
    counts of the default theatres (which every load then keeps up to date)."""
    from risk.config import load_settings
    from risk.incidents.theatres import load_theatres
    from risk.store import cells
    from risk.store.database import Store
    from risk.store.ingest import ingest_file

    url = _fresh_sqlite(database)
    store = Store(url)
    ingest_file(store, ROOT / "tests" / "data" / "acled_current.csv")
    cells.weekly_counts(store, load_theatres(load_settings().theatres_path))
    store.dispose()
    return url


def time_duckdb(path: Path) -> float:
    import duckdb

    database = OUT / "bench.duckdb"
    database.unlink(missing_ok=True)
    connection = duckdb.connect(str(database))
    start = time.perf_counter()
    connection.execute(
        "CREATE TABLE incidents AS SELECT * FROM read_csv(?, header = true)", [str(path)]
    )
    elapsed = time.perf_counter() - start
    connection.close()
    database.unlink()
    return elapsed


class Postgres:
    """A PostgreSQL database for one run: dropped and created afresh."""

    NAME = "risk_bench_ingest"

    def __init__(self, url: str | None) -> None:
        self._server = None
        if url is None:
            from tests.pgserver import ThrowawayPostgres  # the tests' throwaway server

            self._server = ThrowawayPostgres()
            url = self._server.start()
        self.admin = sqlalchemy.make_url(url)

    def _admin(self, statement: str) -> None:
        engine = sqlalchemy.create_engine(
            self.admin.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
        )
        with engine.connect() as connection:
            connection.exec_driver_sql(statement)
        engine.dispose()

    def fresh(self) -> str:
        self._admin(f"DROP DATABASE IF EXISTS {self.NAME}")
        self._admin(f"CREATE DATABASE {self.NAME}")
        return self.admin.set(drivername="postgresql+psycopg", database=self.NAME).render_as_string(
            hide_password=False
        )

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
        else:
            self._admin(f"DROP DATABASE IF EXISTS {self.NAME}")


IN_USE = "SQLite, store in use (stored weekly counts kept up to date)"


def _fresh_sqlite(database: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{database}"


def _load() -> str:
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def _line(name: str, rows: int, run: Run) -> str:
    return (
        f"{name}: {run.seconds:.1f} s, {rows / run.seconds:,.0f} incidents/s, "
        f"CPU {run.cpu:.1f} s, peak memory {run.peak_mb:,.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs; medians are printed")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite and DuckDB only")
    parser.add_argument("--postgres-url", help="a server to use instead of a throwaway one")
    parser.add_argument("--keep", action="store_true", help="keep the generated file and store")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"acled_{args.rows}.csv"
    if not path.exists():
        write_file(path, args.rows)
    database = OUT / "bench_ingest.db"
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"file: {path.name}, {args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB")
    postgres = None if args.no_postgres else Postgres(args.postgres_url)
    sqlite_runs: list[Run] = []
    in_use_runs: list[Run] = []
    postgres_runs: list[Run] = []
    duck_runs: list[float] = []
    try:
        for number in range(1, args.runs + 1):
            print(f"run {number} ({_load()})", flush=True)
            sqlite_runs.append(time_ingest(path, _fresh_sqlite(database)))
            print("  " + _line("SQLite", args.rows, sqlite_runs[-1]), flush=True)
            in_use_runs.append(time_ingest(path, store_in_use(database)))
            print("  " + _line(IN_USE, args.rows, in_use_runs[-1]), flush=True)
            if postgres is not None:
                postgres_runs.append(time_ingest(path, postgres.fresh()))
                print("  " + _line("PostgreSQL", args.rows, postgres_runs[-1]), flush=True)
            duck_runs.append(time_duckdb(path))
            print(f"  DuckDB read_csv into a table: {duck_runs[-1]:.1f} s", flush=True)
    finally:
        if postgres is not None:
            postgres.close()
    print(f"medians of {args.runs} run(s), {_load()}:")
    print(f"  ({sqlite_runs[-1].summary})")
    duck = statistics.median(duck_runs)
    for name, runs in (
        ("SQLite", sqlite_runs),
        (IN_USE, in_use_runs),
        ("PostgreSQL", postgres_runs),
    ):
        if not runs:
            continue
        median = Run(
            seconds=statistics.median(r.seconds for r in runs),
            cpu=statistics.median(r.cpu for r in runs),
            peak_mb=max(r.peak_mb for r in runs),
            summary="",
        )
        print(f"  {_line(name, args.rows, median)} (peak: the largest run's)")
        print(f"  {name} / DuckDB: {median.seconds / duck:.1f}x")
    print(f"  DuckDB: {duck:.1f} s")
    if not args.keep:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
