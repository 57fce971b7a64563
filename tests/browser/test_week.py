"""The weekly brief in a real browser: downloaded from the Overview, it opens offline with every
chart drawn, reads at phone width and prints; the new pages load cleanly (test_dashboard.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser import driver

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
CHARTS_DRAWN = """() => {
    const charts = document.querySelectorAll('.chart');
    if (charts.length < 3) return false;
    for (const chart of charts) {
        if (!chart.querySelector('.main-svg')) return false;
        if (chart.querySelector('g.geo') && !chart.querySelector('g.geo g.layer.land > path[d]'))
            return false;
    }
    return true;
}"""


@pytest.fixture(scope="module")
def brief(dashboard, browser, tmp_path_factory):
    """The brief as the Overview's download button gives it."""
    page = driver.open_dashboard(browser, dashboard)
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Weekly brief (HTML)").click()
    path = tmp_path_factory.mktemp("brief") / "brief.html"
    download.value.save_as(path)
    page.context.close()
    return path


def open_brief(browser, path, viewport):
    page = browser.new_context(viewport=viewport).new_page()
    requests, problems = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    page.wait_for_function(CHARTS_DRAWN, timeout=60_000, polling=100)
    return page, requests, problems


def test_the_brief_opens_offline_with_every_chart_drawn(brief, browser):
    page, requests, problems = open_brief(browser, brief, driver.VIEWPORT)
    assert problems == []
    # Nothing but the file itself: no script, style, font, image or map shapes fetched.
    assert [url for url in requests if urlsplit(url).scheme not in ("file", "data")] == []
    assert len({url for url in requests if url.startswith("file:")}) == 1
    assert page.locator(".chart .main-svg").count() >= 3
    assert page.locator("g.geo g.layer.land > path").count() == 1
    text = page.locator("body").inner_text()
    assert "Simulated demo data" in text
    for heading in ("This week's scores", "Movers since last week", "Theatre by theatre"):
        assert heading in text
    page.context.close()


def test_the_brief_reads_on_a_phone_and_prints(brief, browser):
    page, _, problems = open_brief(browser, brief, PHONE)
    assert problems == []
    # Nothing wider than the screen: tables scroll inside their box, charts fit.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    widths = page.locator(".chart .main-svg").evaluate_all(
        "(svgs) => svgs.map((s) => s.getBoundingClientRect().right)"
    )
    assert max(widths) <= PHONE["width"]
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 2
    page.context.close()
