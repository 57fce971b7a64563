"""Fixtures of the browser suite: a dashboard server on a demo store, and Debian's Chromium.

The store is made by ``python -m risk init`` (demo data, trained model, scores) before the
server starts, so the first page does not wait for the demo to load.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser import driver


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory) -> Iterator[str]:
    """Base URL of a dashboard on 127.0.0.1 (a free port) over a fresh demo store."""
    folder = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{folder / 'demo.db'}"
    subprocess.run(
        [sys.executable, "-m", "risk", "init"],
        cwd=driver.ROOT,
        env={**os.environ, "RISK_DATABASE_URL": url, "RISK_LOAD_DEMO": "1"},
        check=True,
        capture_output=True,
    )
    port = driver.free_port()
    # Mappings saved on the Upload page go to the scratch folder, never into data/formats/.
    formats = folder / "formats"
    server = driver.start_server(url, port, folder / "streamlit.log", RISK_FORMATS_DIR=str(formats))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        driver.stop_server(server)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = driver.launch(playwright)
        yield launched
        launched.close()
