"""The News page in Chromium: paste the seed report, find its incidents, load them."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.browser import driver
from tests.browser.test_dashboard import Traffic, assert_clean

pytestmark = pytest.mark.browser
SEED_REPORT = driver.ROOT / "../shared/reference/seed-report.txt"


def test_paste_find_review_and_load_the_seed_report(dashboard, browser, tmp_path):
    if not SEED_REPORT.exists():
        pytest.skip(f"the seed report is not at {SEED_REPORT}")
    page = driver.open_dashboard(browser, dashboard)
    traffic = Traffic(page, dashboard)
    driver.go_to(page, next(s for s in driver.PAGES if s.slug == "news"))
    page.get_by_label("Report text").fill(SEED_REPORT.read_text(encoding="utf-8"))
    # The date input is three segments (year, month, day); type each and leave the field.
    for segment, value in (("year", "2024"), ("month", "01"), ("day", "20")):
        page.get_by_role("spinbutton", name=re.compile(rf"^{segment}, Report date")).click()
        page.keyboard.type(value)
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Find incidents").click()
    load = page.get_by_role("button", name="Load 4 incidents as one batch")
    load.wait_for(timeout=60_000)
    assert_clean(page)
    # A scratch folder unless RISK_SCREENSHOTS asks for another (as in test_dashboard.py).
    screenshots = Path(os.environ.get("RISK_SCREENSHOTS") or tmp_path)
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=screenshots / "news.png")
    load.click()
    page.get_by_text(re.compile(r"Loaded batch \d+ \(news:Attack on Ain al")).wait_for(
        timeout=120_000
    )
    assert traffic.outside() == []
    page.context.close()
