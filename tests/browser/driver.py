"""Drive the dashboard in Debian's Chromium: start a server, open pages, wait until drawn.

Shared by the browser tests (tests/browser/) and the page benchmark (bench/ui.py). Playwright
drives /usr/bin/chromium; browsers are never downloaded.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}


# True once the page's script has finished, nothing is stale and ``charts`` plotly charts
# (and the map's land) have drawn. Shared with bench/load.py's async driver.
DRAWN_JS = """(charts) => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.dataset.testScriptState !== 'notRunning') return false;
    if (document.querySelector('[data-stale="true"]')) return false;
    const drawn = document.querySelectorAll('[data-testid="stPlotlyChart"]');
    if (drawn.length < charts) return false;
    for (const chart of drawn) {
        if (!chart.querySelector('.js-plotly-plot .main-svg')) return false;
        if (chart.querySelector('g.geo') &&
            !chart.querySelector('g.geo g.layer.land > path[d]')) return false;
    }
    return true;
}"""


@dataclass(frozen=True)
class PageSpec:
    """A page: its navigation label, its title, and how many plotly charts it draws on the
    demo data."""

    label: str
    title: str
    charts: int
    slug: str


PAGES = (
    PageSpec("Overview", "Regional escalation risk", 1, "overview"),
    PageSpec("Trends", "Trends", 3, "trends"),
    PageSpec("Theatre detail", "Theatre detail", 1, "theatre"),
    PageSpec("Map", "Map", 1, "map"),
    PageSpec("Upload", "Upload", 0, "upload"),
    PageSpec("News", "News", 0, "news"),
    PageSpec("Model", "Model", 3, "model"),
    PageSpec("Data", "Data", 0, "data"),
    PageSpec("Track record", "Track record", 1, "track_record"),
    PageSpec("Synchrony", "Synchrony", 2, "synchrony"),
    PageSpec("Alerts", "Alerts", 0, "alerts"),
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_options(port: int) -> list[str]:
    """Streamlit options for a test or bench server: 127.0.0.1:port, headless, no watcher."""
    return [
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]


def start_server(
    database_url: str, port: int, log: Path, options: tuple[str, ...] = (), **env: str
) -> subprocess.Popen:
    """The dashboard (``python -m ui.launch``, as scripts/start runs it) on 127.0.0.1:port, in
    its own process group.

    ``options`` are more Streamlit command-line options (e.g. ``--secrets.files``).
    """
    environment = {**os.environ, "RISK_DATABASE_URL": database_url, "RISK_LOAD_DEMO": "0", **env}
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ui.launch",
                *server_options(port),
                *options,
            ],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_healthy(server, f"http://127.0.0.1:{port}", log)
    return server


def wait_healthy(server: subprocess.Popen, base: str, log: Path | None = None) -> None:
    """Until the Streamlit server at ``base`` answers its health check (60 s at most)."""
    said = (lambda: log.read_text()) if log else (lambda: "")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode}: {said()}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    stop_server(server)
    raise RuntimeError(f"streamlit did not answer on {base} within 60 s: {said()}")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def open_dashboard(browser: Browser, base: str) -> Page:
    """A 1366x768 page on the dashboard's front page (sub-page URLs are not opened directly)."""
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.goto(f"{base}/")
    wait_drawn(page, PAGES[0])
    return page


def go_to(page: Page, spec: PageSpec, charts: int | None = None, timeout: float = 60) -> float:
    """Click the page's navigation link; seconds until its title and charts are drawn."""
    start = time.perf_counter()
    page.locator('[data-testid="stTopNavLink"]').filter(has_text=spec.label).first.click()
    wait_drawn(page, spec, charts, timeout)
    return time.perf_counter() - start


def wait_drawn(page: Page, spec: PageSpec, charts: int | None = None, timeout: float = 60) -> None:
    """Until the page's title shows, its script has finished and its charts have drawn.

    ``charts`` (default: the page's count on the demo data) is how many plotly charts to wait
    for: their components load lazily, so one not yet in the page cannot be waited on
    otherwise. The map counts as drawn when its land layer has a path.
    """
    page.get_by_role("heading", name=spec.title, exact=True).wait_for(timeout=timeout * 1000)
    page.wait_for_function(
        DRAWN_JS,
        arg=spec.charts if charts is None else charts,
        timeout=timeout * 1000,
        polling=50,
    )


def charts_drawn(page: Page) -> int:
    return page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').count()


def land_path(page: Page) -> str:
    """The ``d`` of the map's land layer ('' when plotly drew no land)."""
    land = page.locator(".js-plotly-plot g.geo g.layer.land > path").first
    land.wait_for(state="attached", timeout=30_000)
    return land.get_attribute("d") or ""
