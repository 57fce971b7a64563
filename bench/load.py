"""Benchmark: simulated users browse the dashboard at once while refreshes write to its store.

    .venv/bin/python bench/load.py [--users 20] [--browsers 1] [--seconds 180] [--rows 1000000]
                                   [--refresh-rows 20000] [--retrain] [--think 5 15] [--ramp 1]

Uses bench/ui.py's store of ``--rows`` incidents (built on first use; a copy is taken so the
refreshes here do not change it) and starts one dashboard server on 127.0.0.1. After every
page has been visited once (a server that has been up a while), the users arrive ``--ramp``
seconds apart and open pages in random order, pausing ``--think`` seconds (uniform) between
clicks, for ``--seconds`` after the last arrives. Meanwhile ``python -m risk refresh`` runs
back to back, each run loading a new file of ``--refresh-rows`` incidents from a drop folder
and rescoring (``--retrain``: retraining too), so the pages keep meeting new data.

The default pause of 5-15 s is an analyst reading a page before the next click;
``--think 1 4`` makes it a stress test.

Two kinds of user. ``--users`` speak Streamlit's own protocol over its WebSocket, as the
browser does, and time each page from asking for it until the server has sent all of it: the
server's share, which is what more users make slower. ``--browsers`` are headless Chromium
tabs that click the navigation links and time until the page's title and charts have drawn:
the whole wait as a user sees it. (Twenty Chromium tabs would measure this machine's two
cores drawing twenty dashboards; real users draw on their own computers.)

Prints per page and kind the visits, median, 95th percentile and worst seconds, and every
error: a page not done within 60 s, an exception or error box on it, a JavaScript error, a
failed request, a failed refresh. Target: no errors, 95th percentile under 3 s for every page.
Not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "browser")]

import driver  # noqa: E402  (tests/browser/driver.py: server, page list, drawn predicate)
import websockets  # noqa: E402  (Streamlit's server dependency)
from playwright.async_api import Browser, Page, async_playwright  # noqa: E402
from streamlit.proto.Alert_pb2 import Alert  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ClientState_pb2 import ClientState  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from bench.ui import DEMO, OUT, build_store  # noqa: E402

TARGET_P95 = 3.0
DRAW_TIMEOUT = 60.0


@dataclass
class Visit:
    kind: str  # "server" (protocol user) or "browser"
    page: str
    started: float
    seconds: float | None  # None: not drawn in time
    during_refresh: bool


@dataclass
class Log:
    visits: list[Visit] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refreshes: list[tuple[float, float, dict]] = field(default_factory=list)  # start, end, run
    refreshing: bool = False
    first_loads: list[float] = field(default_factory=list)  # a protocol user's first page
    browser_first_loads: list[float] = field(default_factory=list)  # opening the URL


def copy_store(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(source) as reading, sqlite3.connect(target) as writing:
        reading.backup(writing)


def write_refresh_file(path: Path, rows: int, number: int) -> None:
    """``rows`` demo incidents under new ids, as a new ACLED export would bring them."""
    rng = random.Random(number)
    with gzip.open(DEMO, "rt", encoding="utf-8", newline="") as source:
        reader = csv.DictReader(source)
        demo = list(reader)
    with open(path, "w", encoding="utf-8", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=reader.fieldnames)
        writer.writeheader()
        for row in rng.sample(demo, min(rows, len(demo))):
            writer.writerow({**row, "event_id_cnty": f"{row['event_id_cnty']}-load{number}"})


async def visit(page: Page, spec: driver.PageSpec) -> float:
    """Seconds from clicking the page's navigation link until it has drawn."""
    start = time.perf_counter()
    await page.locator('[data-testid="stTopNavLink"]').filter(has_text=spec.label).first.click()
    await page.get_by_role("heading", name=spec.title, exact=True).wait_for(
        timeout=DRAW_TIMEOUT * 1000
    )
    await page.wait_for_function(
        driver.DRAWN_JS, arg=spec.charts, timeout=DRAW_TIMEOUT * 1000, polling=50
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


async def browser_user(number: int, browser: Browser, base: str, args, log: Log, deadline: float):
    rng = random.Random(number)
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
        try:
            seconds: float | None = await visit(page, spec)
        except Exception as error:  # noqa: BLE001 (a timeout or a closed page: an error to count)
            seconds = None
            log.errors.append(f"user {number}: {spec.label} not drawn: {str(error)[:200]}")
            if not await open_front(page, base, log, number):  # start again from the front
                return
            current = driver.PAGES[0]
        else:
            current = spec
            log.errors.extend(f"user {number}: {spec.label}: {p}" for p in await problems_on(page))
        log.visits.append(Visit("browser", spec.label, started, seconds, during))
    await context.close()


class ProtocolUser:
    """One browser session as the server sees it: Streamlit's messages over its WebSocket."""

    def __init__(self, socket, number: int, log: Log) -> None:
        self.socket, self.number, self.log = socket, number, log
        self.hashes: dict[str, str] = {}  # page label -> page_script_hash

    async def open(self, label: str) -> float:
        """Ask for a page; seconds until the server has sent all of it."""
        request = BackMsg(rerun_script=ClientState(page_script_hash=self.hashes.get(label, "")))
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
                    self.log.errors.append(f"user {self.number}: {label}: {shown}: {text[:200]}")
            elif kind == "script_finished":
                if message.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                    self.log.errors.append(f"user {self.number}: {label}: script did not finish")
                return time.perf_counter() - start


async def protocol_user(number: int, base: str, args, log: Log, deadline: float) -> None:
    rng = random.Random(number)
    await asyncio.sleep(number * args.ramp)
    url = base.replace("http://", "ws://") + "/_stcore/stream"
    try:
        async with websockets.connect(url, subprotocols=["streamlit"], max_size=None) as socket:
            client = ProtocolUser(socket, number, log)
            log.first_loads.append(await client.open(driver.PAGES[0].label))
            current = driver.PAGES[0]
            while time.perf_counter() < deadline:
                await asyncio.sleep(rng.uniform(*args.think))
                spec = rng.choice([p for p in driver.PAGES if p != current])
                started, during = time.perf_counter(), log.refreshing
                seconds: float | None = await client.open(spec.label)
                log.visits.append(Visit("server", spec.label, started, seconds, during))
                current = spec
    except (TimeoutError, OSError, websockets.ConnectionClosed) as error:
        log.errors.append(f"user {number}: connection failed or timed out: {error!r}")


async def refresher(args, log: Log, database: Path, folder: Path, start: float, deadline: float):
    incoming = folder / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    for old in incoming.glob("*.csv"):  # a previous run's files: the store copy is fresh
        old.unlink()
    sources = folder / "sources.toml"
    sources.write_text(
        f"[refresh]\nretrain_days = {0 if args.retrain else 3650}\n\n"
        '[[source]]\nname = "drop"\nkind = "folder"\npath = "incoming"\n'
    )
    env = {
        **os.environ,
        "RISK_DATABASE_URL": f"sqlite:///{database}",
        "RISK_LOAD_DEMO": "0",
        "RISK_SOURCES": str(sources),
    }
    await asyncio.sleep(max(0.0, start - time.perf_counter()))
    number = 0
    while time.perf_counter() < deadline:
        number += 1
        write_refresh_file(incoming / f"new_{number}.csv", args.refresh_rows, number)
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


def server_memory(pid: int) -> str:
    """Resident and peak resident memory of a process (Linux /proc)."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    resident, peak = (int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))
    return f"{resident:,.0f} MB resident, peak {peak:,.0f} MB"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def report(log: Log) -> None:
    def row(label: str, visits: list[Visit]) -> str:
        drawn = [v.seconds for v in visits if v.seconds is not None]
        failed = len(visits) - len(drawn)
        if not drawn:
            return f"{label:<16}{len(visits):>7}{'':>10}{'':>9}{'':>9}{failed:>9}"
        p95 = percentile(drawn, 0.95)
        verdict = "ok" if p95 <= TARGET_P95 and not failed else f"MISSED (p95 < {TARGET_P95:g} s)"
        return (
            f"{label:<16}{len(visits):>7}{statistics.median(drawn):>10.2f}{p95:>9.2f}"
            f"{max(drawn):>9.2f}{failed:>9}   {verdict}"
        )

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
            print("page             visits  median s    p95 s  worst s  not done")
            for spec in driver.PAGES:
                print(row(spec.label, [v for v in chosen if v.page == spec.label]))
            print(row("every page", chosen))

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
    print(f"\nerrors: {len(log.errors)}")
    for error in log.errors[:30]:
        print(f"  {error}")


async def main_async(args, database: Path, base: str) -> Log:
    log = Log()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=driver.CHROMIUM, args=driver.CHROMIUM_ARGS
        )
        # A server that has been up a while: every page once, before the users arrive.
        warm = await browser.new_page(viewport=driver.VIEWPORT)
        await warm.goto(f"{base}/")
        await warm.wait_for_function(driver.DRAWN_JS, arg=1, timeout=DRAW_TIMEOUT * 1000)
        for spec in (*driver.PAGES[1:], driver.PAGES[0]):
            await visit(warm, spec)
        await warm.close()

        start = time.perf_counter()
        deadline = start + args.ramp * args.users + args.seconds
        await asyncio.gather(
            *(protocol_user(n, base, args, log, deadline) for n in range(args.users)),
            *(
                browser_user(args.users + n, browser, base, args, log, deadline)
                for n in range(args.browsers)
            ),
            refresher(args, log, database, OUT / "load", start + 10, deadline),
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
    parser.add_argument("--ramp", type=float, default=1.0, help="seconds between arrivals")
    parser.add_argument("--retrain", action="store_true", help="every refresh retrains")
    parser.add_argument(
        "--think", type=float, nargs=2, default=(5.0, 15.0), help="pause between clicks (s)"
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    built = OUT / f"ui_demo_{args.rows}.db"
    if not built.exists():
        build_store(built, args.rows, "demo")
    database = OUT / f"load_{args.rows}.db"
    copy_store(built, database)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; store: {args.rows:,} incidents (SQLite); "
        f"{args.users} protocol users + {args.browsers} in Chromium for {args.seconds:g} s, "
        f"think {args.think[0]:g}-{args.think[1]:g} s; "
        f"refreshes of {args.refresh_rows:,} rows{' with retraining' if args.retrain else ''}"
    )
    port = driver.free_port()
    server = driver.start_server(f"sqlite:///{database}", port, OUT / "load_streamlit.log")
    try:
        log = asyncio.run(main_async(args, database, f"http://127.0.0.1:{port}"))
        memory = server_memory(server.pid)
    finally:
        driver.stop_server(server)
    report(log)
    print(f"\ndashboard server memory at the end: {memory}")


if __name__ == "__main__":
    main()
