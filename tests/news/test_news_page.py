"""The News page under AppTest: paste the seed report, find the incidents, load them."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).parent.parent.parent
SEED_REPORT = ROOT / "../shared/reference/seed-report.txt"


@pytest.fixture
def empty_store_on_localhost(monkeypatch, tmp_path):
    monkeypatch.setenv("RISK_DATABASE_URL", f"sqlite:///{tmp_path / 'news.db'}")
    monkeypatch.setenv("RISK_LOAD_DEMO", "0")
    monkeypatch.delenv("RISK_ADMIN_PASSWORD", raising=False)
    before = streamlit_config.get_option("server.address")
    streamlit_config.set_option("server.address", "127.0.0.1")
    yield
    streamlit_config.set_option("server.address", before)


def open_news_page() -> AppTest:
    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    app.run()
    app.switch_page("pages/news.py")
    app.run()
    return app


def test_paste_the_seed_report_find_and_load_its_incidents(empty_store_on_localhost):
    if not SEED_REPORT.exists():
        pytest.skip(f"the seed report is not at {SEED_REPORT}")
    app = open_news_page()
    assert not app.exception
    app.text_area[0].input(SEED_REPORT.read_text(encoding="utf-8"))
    app.date_input(key="news_date").set_value("2024-01-20")
    app.button(key="news_extract").click()
    app.run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert "(report date 2024-01-20)" in "\n".join(t.value for t in app.text)
    assert app.button(key="news_load").label == "Load 4 incidents as one batch"
    sentences = "\n".join(t.value for t in app.text)
    assert "Ain al-Asad air base" in sentences and "Damascus" in sentences
    app.button(key="news_load").click()
    app.run()
    assert not app.exception, app.exception
    done = [s.value for s in app.success]
    assert done and done[0].startswith("Loaded batch 1"), done
    assert "4 new" in done[0]
    upload = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    upload.run()
    upload.switch_page("pages/upload.py")
    upload.run()
    loads = upload.dataframe[-1].value
    assert loads["origin"].iloc[0].startswith("news:Attack on Ain al-Asad")


def test_bad_input_is_refused_with_a_message_and_nothing_loaded(empty_store_on_localhost):
    app = open_news_page()
    app.text_area[0].input("   ")
    app.button(key="news_extract").click()
    app.run()
    assert not app.exception
    assert "empty" in app.error[0].value
    assert "news_load" not in [b.key for b in app.button]
    app.text_area[0].input("x" * (3 << 20))
    app.button(key="news_extract").click()
    app.run()
    assert "MB" in app.error[0].value
    assert "news_load" not in [b.key for b in app.button]
