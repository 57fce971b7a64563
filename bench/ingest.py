"""Benchmark: ingest a 1M-row ACLED export into a fresh SQLite store; compare with DuckDB.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--keep]

Writes an ACLED-format file (31 columns, notes of realistic length, quoted newlines in some
notes) under bench/out/, runs ``python -m risk ingest`` on it in a child process, and prints
incidents per second and the child's peak memory. Then times DuckDB loading the same file into
a table (``CREATE TABLE AS SELECT * FROM read_csv(...)``) and prints the ratio. Not a test:
the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

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


def time_ingest(path: Path, database: Path) -> tuple[float, float, str]:
    env = {**os.environ, "RISK_DATABASE_URL": f"sqlite:///{database}"}
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "risk", "ingest", str(path)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"ingest failed: {result.stderr}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak_mb, result.stdout.strip().splitlines()[1].strip()


def time_duckdb(path: Path) -> float:
    import duckdb

    connection = duckdb.connect(str(OUT / "bench.duckdb"))
    connection.execute("DROP TABLE IF EXISTS incidents")
    start = time.perf_counter()
    connection.execute(
        "CREATE TABLE incidents AS SELECT * FROM read_csv(?, header = true)", [str(path)]
    )
    elapsed = time.perf_counter() - start
    connection.close()
    (OUT / "bench.duckdb").unlink()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated file and store")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"acled_{args.rows}.csv"
    if not path.exists():
        write_file(path, args.rows)
    database = OUT / "bench_ingest.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"file: {path.name}, {args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB")
    seconds, peak_mb, summary = time_ingest(path, database)
    print(
        f"risk ingest: {seconds:.1f} s, {args.rows / seconds:,.0f} incidents/s, "
        f"peak memory {peak_mb:,.0f} MB ({summary})"
    )
    duck = time_duckdb(path)
    print(f"duckdb read_csv into a table: {duck:.1f} s")
    print(f"ratio risk/duckdb: {seconds / duck:.1f}x")
    if not args.keep:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
