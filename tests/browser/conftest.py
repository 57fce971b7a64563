"""Fixtures of the browser suite: a dashboard server on a demo store, and Debian's Chromium.

The store is a copy of the session's demo store (``python -m risk init``: demo data, trained
model, scores; see tests/conftest.py), so the first page does not wait for the demo to load
and the model is trained once for the page tests and these.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser import driver
from tests.conftest import copy_store


@pytest.fixture(scope="session")
def dashboard(demo_store: Path, tmp_path_factory) -> Iterator[str]:
    """Base URL of a dashboard on 127.0.0.1 (a free port) over its own copy of the demo store."""
    folder = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{copy_store(demo_store, folder / 'demo.db')}"
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
