"""The multi-user deployment (README "Deployment"): several dashboard processes and one refresh
job against one PostgreSQL database all see the same data."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page

from risk.store.database import Store
from risk.store.ingest import ingest_file
from tests.browser.driver import (
    PAGES,
    ROOT,
    free_port,
    go_to,
    open_dashboard,
    start_server,
    stop_server,
)

DATA = Path(__file__).parent.parent / "data"
OVERVIEW = next(p for p in PAGES if p.slug == "overview")
DATA_PAGE = next(p for p in PAGES if p.slug == "data")


def total_incidents(page: Page) -> int:
    """The Data page's own count of stored incidents, read from the screen."""
    go_to(page, OVERVIEW)
    go_to(page, DATA_PAGE)
    text = page.get_by_text(re.compile(r"incidents in all")).first.inner_text()
    return int(re.search(r"([\d,]+) incidents in all", text).group(1).replace(",", ""))


def eventually(expected: int, page: Page, seconds: float = 30) -> int:
    """The page's count once it shows ``expected``, or the last count after ``seconds``."""
    deadline = time.monotonic() + seconds
    while (count := total_incidents(page)) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    return count


@pytest.mark.browser
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_dashboards_and_a_refresh_share_one_postgresql(database_url, browser, tmp_path):
    store = Store(database_url)
    ingest_file(store, DATA / "acled_current.csv")
    store.dispose()
    ports = [free_port(), free_port()]
    servers = [
        start_server(database_url, port, tmp_path / f"server{i}.log")
        for i, port in enumerate(ports)
    ]
    pages = []
    try:
        pages = [open_dashboard(browser, f"http://127.0.0.1:{port}") for port in ports]
        assert [total_incidents(page) for page in pages] == [8, 8]

        # The scheduler's job, from a third process: a refresh that loads a dropped file.
        incoming = tmp_path / "incoming"
        incoming.mkdir()
        (incoming / "log.csv").write_text(
            "id,date,country,event_type,fatalities\n"
            + "".join(f"d{i},2024-01-2{i},Iraq,battle,{i}\n" for i in range(5))
        )
        sources = tmp_path / "sources.toml"
        sources.write_text('[[source]]\nname = "drop"\nkind = "folder"\npath = "incoming"\n')
        env = {**os.environ, "RISK_DATABASE_URL": database_url, "RISK_SOURCES": str(sources)}
        refresh = subprocess.run(
            [sys.executable, "-m", "risk", "refresh"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert refresh.returncode == 0, refresh.stderr

        # Each server shows new data from elsewhere on its next run (stored weekly counts).
        assert [eventually(13, page) for page in pages] == [13, 13]
    finally:
        for page in pages:
            page.context.close()
        for server in servers:
            stop_server(server)
