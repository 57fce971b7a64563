from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).parent.parent
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py"))


@pytest.fixture
def demo_env(sqlite_url, monkeypatch):
    monkeypatch.setenv("RISK_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("RISK_LOAD_DEMO", "1")


@pytest.fixture
def empty_env(sqlite_url, monkeypatch):
    monkeypatch.setenv("RISK_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("RISK_LOAD_DEMO", "0")


def run_page(page: str) -> AppTest:
    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    app.run()
    app.switch_page(page)
    app.run()
    return app


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_demo_data(demo_env, page):
    app = run_page(page)
    assert not app.exception, app.exception
    assert any("simulated demo data" in info.value for info in app.info)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_an_empty_store(empty_env, page):
    app = run_page(page)
    assert not app.exception, app.exception
