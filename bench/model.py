"""Benchmark: the full model rebuild (panel, nested backtest, fit, scoring).

    .venv/bin/python bench/model.py [--rows 1000000] [--theatres FILE] [--only-scale]

Times the rebuild three times: on the demo data, on a store of about ``--rows`` incidents made
by replicating the demo's incidents under new ids (same rhythm, ten times the volume), and on a
synthetic panel of 100 theatres x 10 years of weekly counts (tests/synthetic.py), the scale the
rebuild must manage in 120 s. Prints the seconds of each step. Not a test: the numbers depend
on the machine.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from risk.config import DEFAULT_THEATRES_PATH, DEMO_DATA_PATH  # noqa: E402
from risk.forecast.panel import build_panel, weekly_panel  # noqa: E402
from risk.forecast.scores import make_scores, score_week  # noqa: E402
from risk.forecast.target import SurgeTarget  # noqa: E402
from risk.forecast.training import train  # noqa: E402
from risk.incidents.theatres import Theatres, load_theatres, parse_theatres  # noqa: E402
from risk.store.database import Store  # noqa: E402
from risk.store.ingest import ingest_file  # noqa: E402
from risk.store.queries import store_summary  # noqa: E402
from tests.synthetic import synthetic_counts  # noqa: E402

OUT = ROOT / "bench" / "out"


def fresh_store(name: str) -> Store:
    path = OUT / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return Store(f"sqlite:///{path}")


def replicated_demo(rows: int) -> Path:
    """The demo's incidents repeated under new ids until ``rows`` incidents."""
    path = OUT / f"demo_x_{rows}.csv"
    if path.exists():
        return path
    with gzip.open(DEMO_DATA_PATH, "rt", encoding="utf-8") as handle:
        demo = pd.read_csv(handle, dtype=str, keep_default_na=False)
    copies, written = 0, 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        while written < rows:
            part = demo.head(rows - written).copy()
            part["event_id_cnty"] = part["event_id_cnty"] + f"R{copies}"
            part.to_csv(out, index=False, header=copies == 0)
            written += len(part)
            copies += 1
    return path


def rebuild(store: Store, theatres_path: Path, label: str) -> None:
    theatres = load_theatres(theatres_path)
    target = SurgeTarget()
    total = store_summary(store).total_incidents
    clock = time.perf_counter()
    panel = weekly_panel(store, theatres, target)
    panel_s = time.perf_counter() - clock
    report = train(store, theatres, target, panel=panel)
    train_s = time.perf_counter() - clock - panel_s
    make_scores(store, theatres, target, model=report.model, panel=panel)
    score_s = time.perf_counter() - clock - panel_s - train_s
    whole = time.perf_counter() - clock
    print(
        f"{label}: {total:,} incidents, {panel['theatre'].nunique()} theatres, {len(panel):,} "
        f"theatre-weeks; panel {panel_s:.1f} s, train incl. {len(report.candidates)} candidate "
        f"backtests {train_s:.1f} s (backtest {report.seconds['backtest']:.1f} s), score "
        f"{score_s:.1f} s; full rebuild {whole:.1f} s"
    )


def scale_rebuild(theatre_count: int = 100, years: int = 10) -> float:
    """The rebuild on a synthetic panel of ``theatre_count`` theatres x ``years`` of weeks."""
    target = SurgeTarget()
    counts = synthetic_counts(theatres=theatre_count, weeks=52 * years, seed=0)
    names = sorted(counts["theatre"].unique())
    theatres = Theatres(
        parse_theatres({"theatre": [{"name": n, "countries": ["Iraq"]} for n in names]}, "bench")
    )
    actors = pd.DataFrame(columns=["theatre", "week", "actors"])
    clock = time.perf_counter()
    panel = build_panel(counts, actors, target, names)
    panel_s = time.perf_counter() - clock
    report = train(None, theatres, target, panel=panel, save=False)  # type: ignore[arg-type]
    train_s = time.perf_counter() - clock - panel_s
    scored = score_week(report.model, panel, panel["week"].max())
    whole = time.perf_counter() - clock
    print(
        f"synthetic {theatre_count} theatres x {years} years: {len(panel):,} theatre-weeks; "
        f"panel {panel_s:.1f} s, nested backtest {report.seconds['backtest']:.1f} s "
        f"({len(report.backtest.folds)} folds, {len(report.candidates)} candidates), fit "
        f"{report.seconds['fit']:.1f} s, score {whole - panel_s - train_s:.1f} s "
        f"({len(scored)} theatres); full rebuild {whole:.1f} s (target: 120 s or less)"
    )
    return whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--theatres", type=Path, default=DEFAULT_THEATRES_PATH)
    parser.add_argument(
        "--only-scale", action="store_true", help="only the 100 theatres x 10 years case"
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    python = platform.python_version()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {python}")
    scale_rebuild()
    if args.only_scale:
        return
    demo = fresh_store("bench_model_demo.db")
    ingest_file(demo, DEMO_DATA_PATH)
    rebuild(demo, args.theatres, "demo")
    big = fresh_store("bench_model_big.db")
    ingest_file(big, replicated_demo(args.rows))
    rebuild(big, args.theatres, f"{args.rows:,}-row store")


if __name__ == "__main__":
    main()
