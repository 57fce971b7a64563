"""Benchmark: simulated users browse the dashboard at once while refreshes write to its store.

    .venv/bin/python bench/load.py [--users 20] [--browsers 1] [--seconds 180] [--rows 1000000]
                                   [--refresh-rows 20000] [--refresh-every 0] [--retrain]
                                   [--think 5 15] [--ramp 1]
                                   [--database sqlite|postgresql] [--servers 1] [--rebuild]

The scale-out configuration of issue 12 (PostgreSQL, two dashboard servers, 50 users, a
refresh every minute, 3 minutes; target: 0 errors and an overall p95 under 2 s):

    .venv/bin/python bench/load.py --database postgresql --servers 2 --users 50 \
        --refresh-every 60 --seconds 180

Uses bench/ui.py's store of ``--rows`` incidents, built on first use (``--rebuild``: again).
``--database sqlite`` (default) takes a copy of that SQLite file, so the refreshes here do not
change it. ``--database postgresql`` starts a throwaway PostgreSQL server (tests/pgserver.py:
Debian's binaries, a temporary directory, deleted at the end). The first time, it loads the
store as the SQLite one was built, ``python -m risk ingest`` of bench/ui.py's CSV and then
``python -m risk train`` (nested backtest, fit, scores), printing how long each took, and saves
the server's data directory under bench/out/pg<version>_demo_<rows>; later runs start the
server on a copy of it.

``--servers N`` starts N dashboard servers on 127.0.0.1 (one port each) on the same store;
the users are spread over them round-robin. After every page has been visited once on every
server (servers that have been up a while), the users arrive ``--ramp`` seconds apart and open
pages in random order, pausing ``--think`` seconds (uniform) between clicks, for ``--seconds``
after the last arrives. Meanwhile ``python -m risk refresh`` loads a new file of
``--refresh-rows`` incidents from a drop folder and rescores (``--retrain``: retraining too),
so the pages keep meeting new data: back to back by default, or one starting every
``--refresh-every`` seconds (a refresh that overruns delays the next, which then starts at once).

The default pause of 5-15 s is an analyst reading a page before the next click;
``--think 1 4`` makes it a stress test.

Two kinds of user. ``--users`` speak Streamlit's own protocol over its WebSocket, as the
browser does, and time each page from asking for it until the server has sent all of it: the
server's share, which is what more users make slower. ``--browsers`` are headless Chromium
tabs that click the navigation links and time until the page's title and charts have drawn:
the whole wait as a user sees it. (Twenty Chromium tabs would measure this machine's two
cores drawing twenty dashboards; real users draw on their own computers.)

Prints the machine (cores; load average at the start and end of the browsing, and the CPU
seconds each server and this script used meanwhile, which on a shared machine tell a starved
run from a busy one), then per page and kind the visits, median, 95th percentile and worst
seconds and the errors on that page's visits, the same per server, the overall 95th
percentile, and every error: a page not done within 60 s, an exception or error box on it, a
JavaScript error, a failed request or connection, a failed refresh. Targets: no errors, 95th
percentile under 3 s for every page; for the scale-out configuration, under 2 s over all
pages. The simulated users run in this script's process, on the same cores as the servers:
their times include waiting for it.
Not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import functools
import gzip
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "browser")]

import driver  # noqa: E402  (tests/browser/driver.py: server, page list, drawn predicate)
import websockets  # noqa: E402  (Streamlit's server dependency)
from playwright.async_api import Browser, Page, async_playwright  # noqa: E402
from streamlit.proto.Alert_pb2 import Alert  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ClientState_pb2 import ClientState  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from bench.ui import DEMO, OUT, build_store, run, write_scaled_demo  # noqa: E402
from tests.pgserver import ThrowawayPostgres, postgres_bindir  # noqa: E402

TARGET_P95 = 3.0  # every page
TARGET_OVERALL_P95 = 2.0  # all pages together, issue 12's scale-out target
DRAW_TIMEOUT = 60.0
# Warming up is not measured, and a cold page on a busy machine can take longer than a minute.
WARM_TIMEOUT = 300.0
REFRESH_DELAY = 10.0  # seconds after the users start before the first refresh


@dataclass
class Visit:
    kind: str  # "server" (protocol user) or "browser"
    page: str
    server: int  # which dashboard server (0-based)
    started: float
    seconds: float | None  # None: not drawn in time
    during_refresh: bool
    errors: int = 0  # errors on this visit: not done, exception or error box


@dataclass
class Log:
    visits: list[Visit] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refreshes: list[tuple[float, float, dict]] = field(default_factory=list)  # start, end, run
    refreshing: bool = False
    late_refreshes: int = 0  # started after their slot because the one before overran
    first_loads: list[float] = field(default_factory=list)  # a protocol user's first page
    browser_first_loads: list[float] = field(default_factory=list)  # opening the URL


def copy_store(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(source) as reading, sqlite3.connect(target) as writing:
        reading.backup(writing)


def postgres_store(rows: int, rebuild: bool) -> tuple[ThrowawayPostgres, str]:
    """A throwaway PostgreSQL server holding the store as bench/ui.py builds it, and the
    store's URL.

    The first time (or with ``rebuild``), loads bench/ui.py's CSV with ``python -m risk ingest``
    and trains and scores with ``python -m risk train``, then saves the server's data
    directory under bench/out/; later runs start on a copy of it.
    """
    saved = OUT / f"pg{postgres_bindir().parent.name}_demo_{rows}"
    if rebuild:
        shutil.rmtree(saved, ignore_errors=True)
    if saved.exists():
        server = ThrowawayPostgres(data_from=saved)
        server.start()
        print(f"PostgreSQL: a copy of the store saved in {saved.relative_to(ROOT)}", flush=True)
        return server, server.url_for("risk")
    server = ThrowawayPostgres()
    server.start()
    try:
        url = server.create_database("risk")
        source = OUT / f"ui_demo_{rows}.csv"
        if not source.exists():
            write_scaled_demo(source, rows)
        env = {**os.environ, "RISK_DATABASE_URL": url, "RISK_LOAD_DEMO": "0"}
        seconds = run([sys.executable, "-m", "risk", "ingest", str(source)], env)
        print(f"PostgreSQL: ingested {rows:,} rows in {seconds:.0f} s", flush=True)
        seconds = run([sys.executable, "-m", "risk", "train"], env)
        print(f"PostgreSQL: trained and scored in {seconds:.0f} s", flush=True)
        server.save(saved)
    except BaseException:
        server.stop()
        raise
    return server, server.url_for("risk")  # save() starts the server again, on a new port


@functools.cache
def demo_rows() -> tuple[list[str], list[dict[str, str]]]:
    """The demo's columns and rows, read once: the refreshes draw their files from them."""
    with gzip.open(DEMO, "rt", encoding="utf-8", newline="") as source:
        reader = csv.DictReader(source)
        rows = list(reader)
    return list(reader.fieldnames or ()), rows


def write_refresh_file(path: Path, rows: int, number: int) -> None:
    """``rows`` demo incidents under new ids, as a new ACLED export would bring them."""
    rng = random.Random(number)
    columns, demo = demo_rows()
    with open(path, "w", encoding="utf-8", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=columns)
        writer.writeheader()
        for row in rng.sample(demo, min(rows, len(demo))):
            writer.writerow({**row, "event_id_cnty": f"{row['event_id_cnty']}-load{number}"})


async def visit(page: Page, spec: driver.PageSpec, timeout: float = DRAW_TIMEOUT) -> float:
    """Seconds from clicking the page's navigation link until it has drawn."""
    start = time.perf_counter()
    await page.locator('[data-testid="stTopNavLink"]').filter(has_text=spec.label).first.click()
    await page.get_by_role("heading", name=spec.title, exact=True).wait_for(timeout=timeout * 1000)
    await page.wait_for_function(
        driver.DRAWN_JS, arg=spec.charts, timeout=timeout * 1000, polling=50
    )
    return time.perf_counter() - start


async def problems_on(page: Page) -> list[str]:
    found = []
    if await page.locator('[data-testid="stException"]').count():
        found.append("exception shown")
    errors = page.locator('[data-testid="stAlertContentError"]')
    for index in range(await errors.count()):
        found.append(f"error shown: {(await errors.nth(index).inner_text())[:200]}")
    return found


async def open_front(page: Page, base: str, log: Log, number: int) -> bool:
    """Open the dashboard's front page; False (an error logged) when it does not draw."""
    try:
        await page.goto(f"{base}/", timeout=DRAW_TIMEOUT * 1000)
        await page.wait_for_function(driver.DRAWN_JS, arg=1, timeout=DRAW_TIMEOUT * 1000)
    except Exception as error:  # noqa: BLE001 (counted, and this user stops)
        log.errors.append(f"user {number}: front page not drawn: {str(error)[:200]}")
        return False
    return True


async def browser_user(
    number: int, browser: Browser, bases: list[str], args, log: Log, deadline: float
) -> None:
    rng = random.Random(number)
    server = number % len(bases)
    base = bases[server]
    context = await browser.new_context(viewport=driver.VIEWPORT)
    page = await context.new_page()
    page.on("pageerror", lambda error: log.errors.append(f"user {number}: JS error {error}"))
    page.on(
        "requestfailed",
        lambda request: log.errors.append(
            f"user {number}: request failed {request.url} ({request.failure})"
        ),
    )
    await asyncio.sleep(number * args.ramp)  # users arrive one after another
    arrived = time.perf_counter()
    if not await open_front(page, base, log, number):
        return
    log.browser_first_loads.append(time.perf_counter() - arrived)
    current = driver.PAGES[0]
    while time.perf_counter() < deadline:
        await asyncio.sleep(rng.uniform(*args.think))
        spec = rng.choice([p for p in driver.PAGES if p != current])
        started, during = time.perf_counter(), log.refreshing
        problems: list[str] = []
        try:
            seconds: float | None = await visit(page, spec)
        except Exception as error:  # noqa: BLE001 (a timeout or a closed page: an error to count)
            seconds = None
            problems.append(f"not drawn: {str(error)[:200]}")
        else:
            problems.extend(await problems_on(page))
        log.errors.extend(f"user {number} on server {server}: {spec.label}: {p}" for p in problems)
        log.visits.append(
            Visit("browser", spec.label, server, started, seconds, during, len(problems))
        )
        if seconds is None:
            if not await open_front(page, base, log, number):  # start again from the front
                return
            current = driver.PAGES[0]
        else:
            current = spec
    await context.close()


class ProtocolUser:
    """One browser session as the server sees it: Streamlit's messages over its WebSocket."""

    def __init__(self, socket) -> None:
        self.socket = socket
        self.hashes: dict[str, str] = {}  # page label -> page_script_hash

    async def open(self, label: str) -> tuple[float, list[str]]:
        """Ask for a page: seconds until the server has sent all of it, and the problems on it
        (exceptions, error boxes, a script that did not finish)."""
        request = BackMsg(rerun_script=ClientState(page_script_hash=self.hashes.get(label, "")))
        problems: list[str] = []
        start = time.perf_counter()
        await self.socket.send(request.SerializeToString())
        while True:
            message = ForwardMsg()
            message.ParseFromString(await asyncio.wait_for(self.socket.recv(), DRAW_TIMEOUT))
            kind = message.WhichOneof("type")
            if kind == "navigation":
                for page in message.navigation.app_pages:
                    self.hashes[page.page_name] = page.page_script_hash
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                shown = element.WhichOneof("type")
                if shown == "exception" or (
                    shown == "alert" and element.alert.format == Alert.ERROR
                ):
                    text = element.exception.message if shown == "exception" else element.alert.body
                    problems.append(f"{shown}: {text[:200]}")
            elif kind == "script_finished":
                if message.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                    problems.append("script did not finish")
                return time.perf_counter() - start, problems


async def protocol_user(number: int, bases: list[str], args, log: Log, deadline: float) -> None:
    rng = random.Random(number)
    server = number % len(bases)  # round-robin, as a load balancer with sticky sessions would
    who = f"user {number} on server {server}"
    await asyncio.sleep(number * args.ramp)
    url = bases[server].replace("http://", "ws://") + "/_stcore/stream"
    try:
        socket = await websockets.connect(url, subprotocols=["streamlit"], max_size=None)
    except (TimeoutError, OSError) as error:
        log.errors.append(f"{who}: connection failed: {error!r}")
        return
    async with socket:
        client = ProtocolUser(socket)
        spec = driver.PAGES[0]
        try:
            seconds, problems = await client.open(spec.label)
            log.first_loads.append(seconds)
            log.errors.extend(f"{who}: first page {spec.label}: {p}" for p in problems)
            while time.perf_counter() < deadline:
                await asyncio.sleep(rng.uniform(*args.think))
                spec = rng.choice([p for p in driver.PAGES if p != spec])
                started, during = time.perf_counter(), log.refreshing
                try:
                    seconds, problems = await client.open(spec.label)
                except (TimeoutError, OSError, websockets.ConnectionClosed) as error:
                    # Not done: counted on the page, and this user stops (the socket's state
                    # is unknown).
                    log.visits.append(Visit("server", spec.label, server, started, None, during, 1))
                    log.errors.append(f"{who}: {spec.label}: not done: {error!r}")
                    return
                log.errors.extend(f"{who}: {spec.label}: {p}" for p in problems)
                log.visits.append(
                    Visit("server", spec.label, server, started, seconds, during, len(problems))
                )
        except (TimeoutError, OSError, websockets.ConnectionClosed) as error:
            log.errors.append(f"{who}: first page not done: {error!r}")


async def refresher(args, log: Log, url: str, folder: Path, start: float, deadline: float):
    """``python -m risk refresh`` from ``start`` until ``deadline``: back to back, or one
    every ``args.refresh_every`` seconds."""
    incoming = folder / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    for old in incoming.glob("*.csv"):  # a previous run's files: the store is fresh
        old.unlink()
    sources = folder / "sources.toml"
    sources.write_text(
        f"[refresh]\nretrain_days = {0 if args.retrain else 3650}\n\n"
        '[[source]]\nname = "drop"\nkind = "folder"\npath = "incoming"\n'
    )
    env = {
        **os.environ,
        "RISK_DATABASE_URL": url,
        "RISK_LOAD_DEMO": "0",
        "RISK_SOURCES": str(sources),
    }
    await asyncio.to_thread(demo_rows)  # read the demo now, off the users' event loop
    number, slot = 0, start
    while slot < deadline:
        now = time.perf_counter()
        if now < slot:
            await asyncio.sleep(slot - now)
        elif args.refresh_every and now - slot > 1.0:
            log.late_refreshes += 1
        number += 1
        # In a thread, so that the event loop (the users and their clocks) keeps turning.
        await asyncio.to_thread(
            write_refresh_file, incoming / f"new_{number}.csv", args.refresh_rows, number
        )
        began = time.perf_counter()
        log.refreshing = True
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "risk",
            "refresh",
            "--json",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        log.refreshing = False
        try:
            record = json.loads(out)
        except json.JSONDecodeError:
            record = {"status": f"exit {process.returncode}", "error": err.decode()[-300:]}
        if process.returncode != 0:
            log.errors.append(f"refresh {number} failed: {record.get('error') or err[-300:]}")
        log.refreshes.append((began, time.perf_counter(), record))
        # The next one: in its slot, or back to back.
        slot = start + number * args.refresh_every if args.refresh_every else time.perf_counter()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_memory(pid: int) -> str:
    """Resident and peak resident memory of a process (Linux /proc)."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    resident, peak = (int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))
    return f"{resident:,.0f} MB resident, peak {peak:,.0f} MB"


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def row(label: str, visits: list[Visit], target: float = TARGET_P95) -> str:
    """One line of a table: visits, median, p95, worst, errors and the verdict."""
    drawn = [v.seconds for v in visits if v.seconds is not None]
    errors = sum(v.errors for v in visits)
    if not drawn:
        return f"{label:<16}{len(visits):>7}{'':>10}{'':>9}{'':>9}{errors:>8}"
    p95 = percentile(drawn, 0.95)
    verdict = (
        "ok" if p95 <= target and not errors else f"MISSED (target: p95 < {target:g} s, no errors)"
    )
    return (
        f"{label:<16}{len(visits):>7}{statistics.median(drawn):>10.2f}{p95:>9.2f}"
        f"{max(drawn):>9.2f}{errors:>8}   {verdict}"
    )


def report(log: Log, servers: int) -> None:
    header = "page             visits  median s    p95 s  worst s  errors"
    for kind, title in (
        ("server", "server: asking for a page until all of it is sent (protocol users)"),
        ("browser", "browser: clicking a page's link until it has drawn (Chromium users)"),
    ):
        of_kind = [v for v in log.visits if v.kind == kind]
        if not of_kind:
            continue
        for heading, chosen in (
            ("all visits", of_kind),
            ("visits begun while a refresh was writing", [v for v in of_kind if v.during_refresh]),
        ):
            print(f"\n{title}; {heading}")
            print(header)
            for spec in driver.PAGES:
                print(row(spec.label, [v for v in chosen if v.page == spec.label]))
            print(row("every page", chosen))
        if servers > 1:
            print(f"\n{title}; per server")
            print(header)
            for server in range(servers):
                print(row(f"server {server}", [v for v in of_kind if v.server == server]))

    for loads, what in (
        (log.first_loads, "first page of each arriving protocol user"),
        (log.browser_first_loads, "opening the dashboard's URL in a new Chromium tab"),
    ):
        if loads:
            print(
                f"\n{what}: {len(loads)} users, median {statistics.median(loads):.2f} s, "
                f"worst {max(loads):.2f} s"
            )
    print(f"\nrefreshes: {len(log.refreshes)}")
    for began, ended, record in log.refreshes:
        model = record.get("model") or {}
        print(
            f"  {ended - began:6.1f} s  {record.get('status')}: {record.get('added', 0):,} added; "
            f"model {model.get('status', '-')}{' (retrained)' if model.get('retrained') else ''}"
        )
    busy = sum(ended - began for began, ended, _ in log.refreshes)
    print(f"  a refresh was writing for {busy:.0f} s of the run")
    if log.late_refreshes:
        print(f"  {log.late_refreshes} started late: the refresh before had overrun its slot")

    drawn = [v.seconds for v in log.visits if v.seconds is not None]
    if drawn:
        p95 = percentile(drawn, 0.95)
        verdict = "ok" if p95 < TARGET_OVERALL_P95 else "MISSED"
        print(
            f"\noverall: {len(log.visits)} page visits, p95 {p95:.2f} s "
            f"(scale-out target {TARGET_OVERALL_P95:g} s: {verdict})"
        )
    print(f"errors: {len(log.errors)} (target 0)")
    for error in log.errors[:30]:
        print(f"  {error}")
    if len(log.errors) > 30:
        print(f"  ... and {len(log.errors) - 30} more")


async def main_async(args, url: str, bases: list[str], pids: list[int]) -> Log:
    log = Log()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=driver.CHROMIUM, args=driver.CHROMIUM_ARGS
        )
        # Servers that have been up a while: every page once on each, before the users arrive.
        for base in bases:
            warm = await browser.new_page(viewport=driver.VIEWPORT)
            await warm.goto(f"{base}/", timeout=WARM_TIMEOUT * 1000)
            await warm.wait_for_function(driver.DRAWN_JS, arg=1, timeout=WARM_TIMEOUT * 1000)
            for spec in (*driver.PAGES[1:], driver.PAGES[0]):
                await visit(warm, spec, WARM_TIMEOUT)
            await warm.close()

        print(f"load average (1 / 5 / 15 min) as the users start: {load_average()}", flush=True)
        # CPU used while the users browse: on a shared machine, what the servers and this
        # script got of the cores tells whether a slow run was starved or busy.
        watched = (os.getpid(), *pids)
        cpu_before = [cpu_seconds(pid) for pid in watched]
        start = time.perf_counter()
        deadline = start + args.ramp * args.users + args.seconds
        await asyncio.gather(
            *(protocol_user(n, bases, args, log, deadline) for n in range(args.users)),
            *(
                browser_user(args.users + n, browser, bases, args, log, deadline)
                for n in range(args.browsers)
            ),
            refresher(args, log, url, OUT / "load", start + REFRESH_DELAY, deadline),
        )
        wall = time.perf_counter() - start
        print(f"load average (1 / 5 / 15 min) at the end: {load_average()}")
        used = [cpu_seconds(pid) - before for pid, before in zip(watched, cpu_before, strict=True)]
        print(
            f"CPU used in the {wall:.0f} s of browsing: this script (the protocol users) "
            f"{used[0]:.0f} s"
            + "".join(f", server {n} {seconds:.0f} s" for n, seconds in enumerate(used[1:]))
        )
        await browser.close()
    return log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20, help="protocol users")
    parser.add_argument("--browsers", type=int, default=1, help="Chromium users")
    parser.add_argument("--seconds", type=float, default=180, help="how long the users browse")
    parser.add_argument("--rows", type=int, default=1_000_000, help="incidents in the store")
    parser.add_argument("--refresh-rows", type=int, default=20_000, help="rows per refresh")
    parser.add_argument(
        "--refresh-every",
        type=float,
        default=0,
        help="seconds between refresh starts (0: back to back)",
    )
    parser.add_argument("--ramp", type=float, default=1.0, help="seconds between arrivals")
    parser.add_argument("--retrain", action="store_true", help="every refresh retrains")
    parser.add_argument(
        "--think", type=float, nargs=2, default=(5.0, 15.0), help="pause between clicks (s)"
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the store: a copy of the SQLite file, or a throwaway PostgreSQL server",
    )
    parser.add_argument("--servers", type=int, default=1, help="dashboard servers")
    parser.add_argument("--rebuild", action="store_true", help="build the store again")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average (1 / 5 / 15 min) {load_average()}\n"
        f"store: {args.rows:,} incidents ({args.database}); {args.servers} dashboard server(s); "
        f"{args.users} protocol users + {args.browsers} in Chromium for {args.seconds:g} s, "
        f"think {args.think[0]:g}-{args.think[1]:g} s; refreshes of {args.refresh_rows:,} rows"
        f"{' with retraining' if args.retrain else ''}, "
        + (f"one every {args.refresh_every:g} s" if args.refresh_every else "back to back"),
        flush=True,
    )
    postgres: ThrowawayPostgres | None = None
    servers: list[Popen] = []
    try:
        if args.database == "postgresql":
            postgres, url = postgres_store(args.rows, args.rebuild)
        else:
            built = OUT / f"ui_demo_{args.rows}.db"
            if args.rebuild or not built.exists():
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{built}{suffix}").unlink(missing_ok=True)
                build_store(built, args.rows, "demo")
            database = OUT / f"load_{args.rows}.db"
            copy_store(built, database)
            url = f"sqlite:///{database}"
        ports = [driver.free_port() for _ in range(args.servers)]
        for number, port in enumerate(ports):
            servers.append(driver.start_server(url, port, OUT / f"load_streamlit_{number}.log"))
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        log = asyncio.run(main_async(args, url, bases, [server.pid for server in servers]))
        memory = [server_memory(server.pid) for server in servers]
    finally:
        for server in servers:
            driver.stop_server(server)
        if postgres is not None:
            postgres.stop()
    report(log, args.servers)
    for number, used in enumerate(memory):
        print(f"\ndashboard server {number} memory at the end: {used}")


if __name__ == "__main__":
    main()
