"""The dashboard in a real browser: every page loads cleanly and offline, the map draws land,
a CSV uploaded through the file input changes the counts, and an undo acts only on the batch
the user confirmed. Screenshots go to a scratch folder, or to ``RISK_SCREENSHOTS`` when set
(``scripts/screenshots`` sets it to docs/screenshots/ to refresh the README's images).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser import driver

pytestmark = pytest.mark.browser


class Traffic:
    """Every request a page makes, and those that failed."""

    def __init__(self, page, base: str) -> None:
        self.host = urlsplit(base).netloc
        self.requests: list[str] = []
        self.failed: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("requestfailed", lambda request: self.failed.append(request.url))
        page.on(
            "response",
            lambda response: (
                self.failed.append(f"{response.status} {response.url}")
                if response.status >= 400
                else None
            ),
        )

    def outside(self) -> list[str]:
        return [
            url
            for url in self.requests
            if not url.startswith(("data:", "blob:")) and urlsplit(url).netloc != self.host
        ]


def assert_clean(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    for kind in ("stAlertContentError", "stAlertContentWarning"):
        assert page.locator(f'[data-testid="{kind}"]').count() == 0, kind
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "Traceback" not in body and "Error:" not in body


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """Where screenshots go: a scratch folder, never the work tree unless asked to."""
    folder = Path(os.environ.get("RISK_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_every_page_loads_cleanly_and_offline(dashboard, browser, screenshots):
    page = browser.new_context(viewport=driver.VIEWPORT).new_page()
    traffic = Traffic(page, dashboard)
    page.goto(f"{dashboard}/")
    driver.wait_drawn(page, driver.PAGES[0])
    for spec in driver.PAGES:
        driver.go_to(page, spec)
        assert_clean(page)
        assert driver.charts_drawn(page) == spec.charts, spec.label
        assert "simulated demo data" in page.locator('[data-testid="stMain"]').inner_text()
        page.screenshot(path=screenshots / f"{spec.slug}.png")
    assert traffic.failed == []
    assert traffic.outside() == []
    assert any("/app/static/world_50m.json" in url for url in traffic.requests)
    page.context.close()


def test_the_map_draws_land_from_the_shipped_shapes(dashboard, browser):
    page = driver.open_dashboard(browser, dashboard)
    driver.go_to(page, next(s for s in driver.PAGES if s.slug == "map"))
    assert re.match(r"M[\d.\-,]+", driver.land_path(page))
    assert page.locator(".js-plotly-plot g.geo .scattergeo path.point").count() > 100
    page.context.close()


def test_choosing_a_theatre_opens_its_detail(dashboard, browser):
    page = driver.open_dashboard(browser, dashboard)
    page.locator('[data-testid="stPageLink"]').filter(has_text="Yemen & Red Sea").click()
    driver.wait_drawn(page, next(s for s in driver.PAGES if s.slug == "theatre"))
    assert "theatre=Yemen" in page.url
    box = page.locator('[data-testid="stSelectbox"]').first
    chosen = (
        box.inner_text()
        + " "
        + " ".join(box.locator("input").evaluate_all("(inputs) => inputs.map((i) => i.value)"))
    )
    assert "Yemen & Red Sea" in chosen, chosen
    page.context.close()


NEW_INCIDENTS = (
    "id,date,country,admin1,location,latitude,longitude,event_type,actor1,fatalities,notes\n"
    "browser-1,2024-12-30,Iraq,Baghdad,Baghdad,33.31,44.36,battle,Unknown,2,=1+1 test\n"
    "browser-2,2024-12-30,Syria,Aleppo,Aleppo,36.2,37.16,protest,Protesters,0,<b>bold</b>\n"
    "browser-3,2024-12-31,Iran,Tehran,Tehran,35.69,51.39,riot,Rioters,0,plain\n"
    "browser-4,2024-12-31,Iran,Tehran,Tehran,35.69,51.39,riot,Rioters,-5,negative\n"
)


def incidents_in_all(page) -> str:
    driver.go_to(page, next(s for s in driver.PAGES if s.slug == "data"))
    caption = page.get_by_text(re.compile(r"incidents in all")).inner_text()
    return caption.split(" incidents in all")[0]


def test_a_csv_uploaded_through_the_file_input_changes_the_counts(dashboard, browser, tmp_path):
    page = driver.open_dashboard(browser, dashboard)
    traffic = Traffic(page, dashboard)
    before = incidents_in_all(page)
    upload = next(s for s in driver.PAGES if s.slug == "upload")
    driver.go_to(page, upload)
    file = tmp_path / "my-log.csv"
    file.write_text(NEW_INCIDENTS, encoding="utf-8")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(file)
    page.get_by_text("Rows read").wait_for(timeout=60_000)
    metrics = page.locator('[data-testid="stMetric"]')
    assert metrics.filter(has_text="New").inner_text().endswith("3")
    assert metrics.filter(has_text="Rejected").inner_text().endswith("1")
    page.get_by_role("button", name=re.compile(r"^Load 3 new")).click()
    page.get_by_text(re.compile(r"Loaded batch \d+: 3 new")).wait_for(timeout=120_000)
    assert_clean(page)
    # The note's markup is shown as text in the table, never rendered.
    assert page.locator('[data-testid="stMain"] b', has_text="bold").count() == 0
    after = incidents_in_all(page)
    assert int(after.replace(",", "")) == int(before.replace(",", "")) + 3

    # A refused file's name is shown as text: its markdown image fetches nothing.
    driver.go_to(page, upload)
    named = tmp_path / "![x](http:__tracker.example_t.png).csv"
    named.write_text("<!DOCTYPE html><html><body>Log in</body></html>\n", encoding="utf-8")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(named)
    page.get_by_text(re.compile("This file cannot be loaded")).wait_for(timeout=60_000)
    assert "tracker.example" in page.locator('[data-testid="stAlertContentError"]').inner_text()
    assert traffic.outside() == []
    assert traffic.failed == []
    page.context.close()


def undo_button(page):
    return page.get_by_role("button", name="Undo this load")


def test_an_undo_acts_only_on_the_batch_the_user_confirmed(dashboard, browser, tmp_path):
    """The reported data loss replayed: load, undo, another preview; batch 1 stays unconfirmed."""
    page = driver.open_dashboard(browser, dashboard)
    upload = next(s for s in driver.PAGES if s.slug == "upload")
    driver.go_to(page, upload)
    seed = driver.ROOT / "data" / "samples" / "seed-report-2024-01-20.csv"
    file_input = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    file_input.set_input_files(seed)
    page.get_by_role("button", name=re.compile(r"^Load 5 new")).click()
    loaded = page.get_by_text(re.compile(r"Loaded batch (\d+): 5 new"))
    loaded.wait_for(timeout=120_000)
    batch = re.search(r"Loaded batch (\d+)", loaded.inner_text()).group(1)
    main = page.locator('[data-testid="stMain"]')
    page.get_by_text(f"Take batch {batch} out").wait_for()  # the batch just loaded is chosen
    driver.wait_drawn(page, upload)
    assert undo_button(page).is_disabled()
    page.get_by_text(f"Take batch {batch} out").click()
    page.wait_for_function(
        "() => { const b = [...document.querySelectorAll('button')]"
        ".find(x => x.innerText.trim() === 'Undo this load'); return b && !b.disabled; }",
        timeout=30_000,
    )
    undo_button(page).click()
    page.get_by_text(re.compile(rf"Undid batch {batch}: 5 incidents removed")).wait_for(
        timeout=120_000
    )
    # Nothing is chosen or confirmed now, and the next rerun (a preview) keeps it that way.
    driver.wait_drawn(page, upload)
    assert "Take batch" not in main.inner_text()
    assert undo_button(page).count() == 0
    other = tmp_path / "another.csv"
    other.write_text(NEW_INCIDENTS, encoding="utf-8")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(other)
    page.get_by_text("Rows read").wait_for(timeout=60_000)
    driver.wait_drawn(page, upload)
    assert "Take batch" not in main.inner_text()
    assert undo_button(page).count() == 0
    # Choosing the demo batch (107,645 incidents) starts unconfirmed, and a tick alone is not
    # enough: its number must be typed.
    chooser = page.locator('[data-testid="stSelectbox"]').filter(has_text=re.compile(r"^Batch"))
    chooser.locator("input").click()
    page.keyboard.type("1: ")
    page.keyboard.press("Enter")
    page.get_by_text("Take batch 1 out").wait_for()
    assert undo_button(page).is_disabled()
    page.get_by_text("Take batch 1 out").click()
    page.get_by_text(re.compile(r"type the batch number \(1\)")).wait_for()
    page.wait_for_timeout(500)
    assert undo_button(page).is_disabled()
    page.context.close()


def test_an_unknown_export_is_mapped_saved_and_loaded(dashboard, browser):
    """An NGO's export matches no known format: map its columns, name the mapping, load it."""
    page = driver.open_dashboard(browser, dashboard)
    upload = next(s for s in driver.PAGES if s.slug == "upload")
    driver.go_to(page, upload)
    ngo = driver.ROOT / "tests" / "data" / "ngo_incidents.csv"
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(ngo)
    page.get_by_text("This file cannot be loaded").first.wait_for(timeout=60_000)
    date_format = page.get_by_label(re.compile(r"^Date format"))
    date_format.fill("%d/%m/%Y")
    date_format.press("Enter")
    name = page.get_by_label(re.compile(r"^Name \(2-10"))
    name.fill("ngo")
    name.press("Enter")
    driver.wait_drawn(page, upload)
    page.get_by_role("button", name="Save the mapping and preview the file").click()
    page.get_by_text("Rows read").wait_for(timeout=60_000)
    metrics = page.locator('[data-testid="stMetric"]')
    assert metrics.filter(has_text="New").inner_text().endswith("12")
    assert metrics.filter(has_text="Rejected").inner_text().endswith("0")
    page.get_by_role("button", name=re.compile(r"^Load 12 new")).click()
    page.get_by_text(re.compile(r"Loaded batch \d+: 12 new")).wait_for(timeout=120_000)
    assert_clean(page)
    page.context.close()
