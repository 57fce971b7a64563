"""Benchmark: how fast the dashboard's pages draw on a store of 1M incidents.

    .venv/bin/python bench/ui.py [--rows 1000000] [--data demo|generator] [--rounds 3]

Builds a SQLite store under bench/out/ (kept between runs; --rebuild makes it again), trains
and scores with ``python -m risk init``, starts the dashboard on 127.0.0.1, and opens every
page in headless Chromium by its navigation link, printing the seconds from the click until
the page's title and all its charts have drawn: once on the cold server, then ``--rounds``
times warm (median and worst). Before that, the Overview's first draw after a server start
(``--rounds`` starts), and loading 20,000 new incidents into the store (then their undo),
rescoring as a refresh does, until the Overview is drawn again; ``--only-cold`` stops there.
Then it times the upload preview of a 100,000-row file (from
bench/ingest.py's generator) from choosing the file in the real file input until the
preview's counts show. Not a test: the numbers depend on the machine.

``--data demo`` (default) repeats the simulated demo (2022-2024) with new ids and jittered
places up to ``--rows``, so the store has the demo's surges and a model can be trained and
scored. ``--data generator`` uses bench/ingest.py's generator alone: its dates are uniform
over 2018-2024, so there are no surges, no model can be trained and pages show counts only.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "browser")]

import driver  # noqa: E402  (tests/browser/driver.py: start the server, wait for pages)
from playwright.sync_api import sync_playwright  # noqa: E402

from bench.ingest import write_file  # noqa: E402

OUT = ROOT / "bench" / "out"
DEMO = ROOT / "data" / "demo" / "acled_demo.csv.gz"
TARGETS = {"overview": 2.0}
DEFAULT_TARGET = 3.0
PREVIEW_ROWS = 100_000
PREVIEW_TARGET = 5.0
COLD_TARGET = 1.5
INCREMENT = 20_000
INCREMENTAL_TARGET = 3.0


def write_scaled_demo(path: Path, rows: int) -> None:
    """The demo repeated until ``rows``: new ids, places jittered by up to ~3 km."""
    rng = random.Random(20240120)
    with gzip.open(DEMO, "rt", encoding="utf-8", newline="") as source:
        demo = list(csv.DictReader(source))
    columns = list(demo[0])
    with open(path, "w", encoding="utf-8", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=columns)
        writer.writeheader()
        written, copy = 0, 0
        while written < rows:
            # The last copy is thinned evenly, so every theatre keeps its shape over time.
            keep = min(1.0, (rows - written) / len(demo))
            for row in demo:
                if written >= rows or (keep < 1.0 and rng.random() > keep):
                    continue
                if copy:
                    row = dict(row)
                    row["event_id_cnty"] = f"{row['event_id_cnty']}-{copy}"
                    for axis in ("latitude", "longitude"):
                        if row[axis]:
                            row[axis] = f"{float(row[axis]) + rng.uniform(-0.03, 0.03):.4f}"
                writer.writerow(row)
                written += 1
            copy += 1


def run(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def build_store(database: Path, rows: int, data: str) -> None:
    source = OUT / f"ui_{data}_{rows}.csv"
    if not source.exists():
        start = time.perf_counter()
        (write_scaled_demo if data == "demo" else write_file)(source, rows)
        print(f"wrote {source.name} in {time.perf_counter() - start:.0f} s")
    env = {**os.environ, "RISK_DATABASE_URL": f"sqlite:///{database}", "RISK_LOAD_DEMO": "0"}
    seconds = run([sys.executable, "-m", "risk", "ingest", str(source)], env)
    print(f"ingested {rows:,} rows in {seconds:.0f} s")
    seconds = run([sys.executable, "-m", "risk", "init"], env)
    print(f"init (panel, model selection by backtest, scores) in {seconds:.0f} s")


def write_new_incidents(path: Path, rows: int, tag: str) -> None:
    """``rows`` demo rows of its latest months with new ids: a load of news into the store."""
    with gzip.open(DEMO, "rt", encoding="utf-8", newline="") as source:
        demo = [r for r in csv.DictReader(source) if r["event_date"] >= "2024-09-01"]
    with open(path, "w", encoding="utf-8", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=list(demo[0]))
        writer.writeheader()
        for i in range(rows):
            row = dict(demo[i % len(demo)])
            row["event_id_cnty"] = f"{row['event_id_cnty']}-{tag}{i}"
            writer.writerow(row)


def rescore(url: str) -> None:
    """What a refresh does after loading: the panel, then the latest week scored."""
    from risk.forecast.panel import weekly_panel
    from risk.forecast.scores import make_scores
    from risk.forecast.target import SurgeTarget
    from risk.incidents.theatres import load_theatres
    from risk.store.database import Store

    store = Store(url)
    theatres, target = load_theatres(ROOT / "data" / "theatres.toml"), SurgeTarget()
    make_scores(store, theatres, target, panel=weekly_panel(store, theatres, target))
    store.dispose()


def cold_and_incremental(database: Path, rounds: int) -> None:
    """The Overview's first draw after a server start, and new data to new scores on it."""
    from risk.store.database import Store
    from risk.store.ingest import ingest_file, undo_batch

    url = f"sqlite:///{database}"
    colds, returning, seconds = [], [], []
    shares = [server_share_cold(url) for _ in range(rounds)]  # before playwright's event loop
    with sync_playwright() as playwright:
        browser = driver.launch(playwright)
        # An analyst who has opened the dashboard before: the browser keeps Streamlit's
        # static files (several MB of JavaScript, plotly's alone 4.7 MB) in its cache. Same
        # port every start, so the cache's origin stays the same.
        port = driver.free_port()
        known = browser.new_context(viewport=driver.VIEWPORT)
        for round_ in range(rounds + 1):
            server = driver.start_server(url, port, OUT / "ui_streamlit.log")
            try:
                start = time.perf_counter()
                page = known.new_page()
                page.goto(f"http://127.0.0.1:{port}/")
                driver.wait_drawn(page, driver.PAGES[0])
                page.close()
                if round_:  # the first start only fills the browser's cache
                    returning.append(time.perf_counter() - start)
            finally:
                driver.stop_server(server)
        known.close()
        for _ in range(rounds):
            port = driver.free_port()
            server = driver.start_server(url, port, OUT / "ui_streamlit.log")
            try:
                for times in (colds, seconds):
                    start = time.perf_counter()
                    driver.open_dashboard(browser, f"http://127.0.0.1:{port}").context.close()
                    times.append(time.perf_counter() - start)
            finally:
                driver.stop_server(server)
        print(
            f"cold first page (server started, Overview drawn), {rounds} starts, a returning "
            f"visitor (static files in the browser's cache): median "
            f"{statistics.median(returning):.2f} s, worst {max(returning):.2f} s   "
            f"{verdict(statistics.median(returning), COLD_TARGET)}"
        )
        print(
            f"  the server's share (started, Overview's script run and sent over Streamlit's "
            f"WebSocket, no browser): median {statistics.median(shares):.2f} s, worst "
            f"{max(shares):.2f} s   {verdict(statistics.median(shares), COLD_TARGET)}"
        )
        print(
            f"  the same with an empty browser cache (first visit ever): median "
            f"{statistics.median(colds):.2f} s, worst {max(colds):.2f} s"
        )
        # A new browser on the same server: its modules are imported, its caches filled.
        print(
            f"  the next visitor (new browser context, same server): median "
            f"{statistics.median(seconds):.2f} s"
        )
        port = driver.free_port()
        server = driver.start_server(url, port, OUT / "ui_streamlit.log")
        try:
            page = driver.open_dashboard(browser, f"http://127.0.0.1:{port}")
            loads, undos = [], []
            for round_ in range(rounds):
                path = OUT / f"incremental_{round_}.csv"
                write_new_incidents(path, INCREMENT, f"inc{round_}x")
                store = Store(url)
                start = time.perf_counter()
                batch = ingest_file(store, path, origin="bench").batch_id
                rescore(url)
                stored = time.perf_counter() - start
                driver.go_to(page, driver.PAGES[0])
                loads.append((time.perf_counter() - start, stored))
                driver.go_to(page, driver.PAGES[4])
                start = time.perf_counter()
                undo_batch(store, batch)
                rescore(url)
                stored = time.perf_counter() - start
                driver.go_to(page, driver.PAGES[0])
                undos.append((time.perf_counter() - start, stored))
                driver.go_to(page, driver.PAGES[4])
                store.dispose()
            for label, runs in (("load", loads), ("undo", undos)):
                total = statistics.median(t for t, _ in runs)
                print(
                    f"incremental: {label} {INCREMENT:,} new incidents, rescore, Overview drawn: "
                    f"median {total:.2f} s (of which {label} and rescore "
                    f"{statistics.median(s for _, s in runs):.2f} s), worst "
                    f"{max(t for t, _ in runs):.2f} s   {verdict(total, INCREMENTAL_TARGET)}"
                )
        finally:
            driver.stop_server(server)
        browser.close()


# Streamlit pages as small as pages get, to time the toolkit itself on this machine: the floor
# under any Overview built of the same elements (its table is a dataframe, its heat strip a
# plotly chart, each a script the browser loads, parses and runs when the element first shows).
FLOOR_PAGES = {
    "a title and a line of text": "",
    "+ a 10-row dataframe": "st.dataframe(pd.DataFrame({'a': range(10), 'b': range(10)}))\n",
    "+ a 3-bar plotly chart": "st.plotly_chart(go.Figure(go.Bar(x=[1, 2, 3], y=[3, 1, 2])))\n",
}
FLOOR_DRAWN = {
    "+ a 10-row dataframe": '[data-testid="stDataFrame"] canvas',
    "+ a 3-bar plotly chart": '[data-testid="stPlotlyChart"] .js-plotly-plot',
}


def streamlit_floor(rounds: int) -> None:
    """Returning-visitor times of bare Streamlit pages, started and opened like the Overview."""
    apps = OUT / "floor"
    apps.mkdir(exist_ok=True)
    both = "".join(FLOOR_PAGES.values())
    pages = {**FLOOR_PAGES, "+ both": both}
    drawn = {**FLOOR_DRAWN, "+ both": FLOOR_DRAWN["+ a 3-bar plotly chart"]}
    print("Streamlit alone on this machine (returning visitor, server started, page drawn):")
    with sync_playwright() as playwright:
        browser = driver.launch(playwright)
        for number, (label, body) in enumerate(pages.items()):
            app = apps / f"floor_{number}.py"
            app.write_text(
                "import pandas as pd\nimport plotly.graph_objects as go\nimport streamlit as st\n"
                "st.title('Floor')\nst.write('A line of text.')\n" + body
            )
            port = driver.free_port()
            context = browser.new_context(viewport=driver.VIEWPORT)
            times = []
            for round_ in range(rounds + 1):
                server = _start_app(app, port)
                try:
                    start = time.perf_counter()
                    page = context.new_page()
                    page.goto(f"http://127.0.0.1:{port}/")
                    page.get_by_role("heading", name="Floor", exact=True).wait_for(timeout=60_000)
                    if label in drawn:
                        page.locator(drawn[label]).first.wait_for(timeout=60_000)
                    if round_:  # the first start only fills the browser's cache
                        times.append(time.perf_counter() - start)
                    page.close()
                finally:
                    driver.stop_server(server)
            context.close()
            print(f"  {label:<28} median {statistics.median(times):.2f} s")
        browser.close()


def _start_app(app: Path, port: int) -> subprocess.Popen:
    """``streamlit run app`` on 127.0.0.1:port with the dashboard's server options."""
    # Started as ui.launch starts the dashboard: pandas and plotly imported before listening.
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pandas, plotly.graph_objects\n"
            "from streamlit.web import cli\n"
            "sys.argv = ['streamlit', 'run', *sys.argv[1:]]\n"
            "cli.main(prog_name='streamlit')",
            str(app),
            *driver.server_options(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    driver.wait_healthy(server, f"http://127.0.0.1:{port}")
    return server


def server_share_cold(url: str) -> float:
    """Seconds from asking a just-started server for the Overview until it has sent all of it,
    as bench/load.py's protocol users time it: the server's part of the cold first page."""
    import asyncio

    import websockets

    from bench.load import ProtocolUser

    async def first_page(base: str) -> float:
        socket = await websockets.connect(
            base.replace("http://", "ws://") + "/_stcore/stream",
            subprotocols=["streamlit"],
            max_size=None,
        )
        async with socket:
            seconds, problems = await ProtocolUser(socket).open(driver.PAGES[0].label)
        if problems:
            raise RuntimeError(f"the Overview failed on a cold server: {problems}")
        return seconds

    port = driver.free_port()
    server = driver.start_server(url, port, OUT / "ui_streamlit.log")
    try:
        return asyncio.run(first_page(f"http://127.0.0.1:{port}"))
    finally:
        driver.stop_server(server)


def verdict(seconds: float, target: float) -> str:
    return "ok" if seconds <= target else f"SLOW (target {target:g} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--data", choices=("demo", "generator"), default="demo")
    parser.add_argument("--rounds", type=int, default=3, help="warm visits of every page")
    parser.add_argument("--rebuild", action="store_true", help="build the store again")
    parser.add_argument(
        "--only-cold", action="store_true", help="only the cold first page and incremental loads"
    )
    parser.add_argument(
        "--only-floor", action="store_true", help="only Streamlit's own time for bare pages"
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.only_floor:
        streamlit_floor(args.rounds)
        return
    database = OUT / f"ui_{args.data}_{args.rows}.db"
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; store: {database.name}"
    )
    if args.rebuild or not database.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        build_store(database, args.rows, args.data)
    cold_and_incremental(database, args.rounds)
    streamlit_floor(args.rounds)
    if args.only_cold:
        return
    upload = OUT / f"upload_{PREVIEW_ROWS}.csv"
    if not upload.exists():
        write_file(upload, PREVIEW_ROWS)

    port = driver.free_port()
    server = driver.start_server(f"sqlite:///{database}", port, OUT / "ui_streamlit.log")
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as playwright:
            browser = driver.launch(playwright)
            start = time.perf_counter()
            page = driver.open_dashboard(browser, base)
            print(f"first load of the overview, cold server: {time.perf_counter() - start:.2f} s")
            print("\npage              cold (s)   warm median (s)   warm worst (s)")
            # Without a model (--data generator) the model page has no charts to wait for.
            charts = {"model": 0} if args.data == "generator" else {}
            for spec in (*driver.PAGES[1:], driver.PAGES[0]):
                cold = driver.go_to(page, spec, charts.get(spec.slug))
                warm = []
                for _ in range(args.rounds):
                    driver.go_to(page, driver.PAGES[4 if spec.slug != "upload" else 6])
                    warm.append(driver.go_to(page, spec, charts.get(spec.slug)))
                target = TARGETS.get(spec.slug, DEFAULT_TARGET)
                print(
                    f"{spec.label:<16}{cold:>9.2f}{statistics.median(warm):>18.2f}"
                    f"{max(warm):>17.2f}   {verdict(max(warm), target)}"
                )

            driver.go_to(page, driver.PAGES[4])
            start = time.perf_counter()
            page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
                upload
            )
            page.get_by_text("Rows read").wait_for(timeout=300_000)
            seconds = time.perf_counter() - start
            size = upload.stat().st_size / 1e6
            print(
                f"\nupload preview of {PREVIEW_ROWS:,} rows ({size:.0f} MB), from choosing the "
                f"file to the counts: {seconds:.2f} s   {verdict(seconds, PREVIEW_TARGET)}"
            )
            browser.close()
    finally:
        driver.stop_server(server)


if __name__ == "__main__":
    main()
