"""The weekly brief: every section, data escaped, nothing to fetch, stale theatres said so;
the CLI writes it (and a PDF through Chromium when installed)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from risk.cli import main
from risk.forecast.scores import make_scores
from risk.forecast.target import SurgeTarget
from risk.forecast.training import train
from risk.report.brief import CHROMIUM, BriefError, build_brief, print_pdf
from risk.store.database import Store, scores
from risk.store.ingest import ingest_file
from tests.forecast.test_scores import COUNTRIES, theatres_file, write_incidents

TARGET = SurgeTarget()
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def scored_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("brief")
    log = folder / "log.csv"
    write_incidents(log)
    # One incident whose place name is markup, in the last week (it reaches the map).
    hostile = folder / "hostile.csv"
    hostile.write_text(
        "date,country,location,latitude,longitude,event_type,fatalities\n"
        f'2023-06-28,Iraq,"{HOSTILE}",33.3,44.4,battle,1\n',
        encoding="utf-8",
    )
    url = f"sqlite:///{folder / 'brief.db'}"
    store = Store(url)
    ingest_file(store, log)
    ingest_file(store, hostile)
    theatres = theatres_file()
    model = train(store, theatres, TARGET, candidates=("logistic",)).model
    make_scores(store, theatres, TARGET, model=model)
    store.dispose()
    return url


def test_the_brief_has_every_section_and_nothing_to_fetch(scored_store):
    store = Store(scored_store)
    page = build_brief(store, theatres_file(), TARGET)
    for heading in (
        "This week's scores",
        "Movers since last week",
        "Region heat strip",
        "Theatre by theatre",
        "Map of the week",
        "Data freshness",
    ):
        assert f"<h2>{heading}</h2>" in page
    for country in COUNTRIES:
        assert f"<h3>{country}</h3>" in page
    assert page.count('class="chart"') == 3  # probabilities, heat strip, map
    assert "Expected" in page and "80% range" in page
    assert "Simulated demo data" not in page
    # Self-contained: no script, style or image comes from elsewhere; plotly and shapes inline.
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page)
    assert '"world_110m":{"type":"Topology"' in page
    assert "default-src 'none'" in page
    store.dispose()


def test_data_strings_are_escaped(scored_store):
    store = Store(scored_store)
    page = build_brief(store, theatres_file(), TARGET)
    assert HOSTILE not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # on the map, as text
    store.dispose()


def test_a_theatre_without_a_score_reads_no_recent_data(scored_store, tmp_path):
    copy = tmp_path / "copy.db"
    shutil.copy(scored_store.removeprefix("sqlite:///"), copy)
    store = Store(f"sqlite:///{copy}")
    with store.write() as connection:
        connection.execute(scores.delete().where(scores.c.theatre == "Iran"))
    page = build_brief(store, theatres_file(), TARGET)
    iran = page.split("<h3>Iran</h3>")[1].split("</p>")[0]
    assert "no recent data" in iran and "Probability" not in iran
    store.dispose()


def test_an_empty_store_gets_a_clear_message(sqlite_url):
    with pytest.raises(BriefError, match="no incidents yet"):
        build_brief(Store(sqlite_url), theatres_file(), TARGET)


def test_cli_brief_writes_html_and_pdf(scored_store, tmp_path, monkeypatch, capsys):
    theatres = tmp_path / "theatres.toml"
    theatres.write_text(
        "".join(f'[[theatre]]\nname = "{c}"\ncountries = ["{c}"]\n' for c in COUNTRIES)
    )
    monkeypatch.setenv("RISK_DATABASE_URL", scored_store)
    monkeypatch.setenv("RISK_THEATRES", str(theatres))
    out = tmp_path / "brief.html"
    assert main(["brief", "--out", str(out), "--as-of", "2023-06-20"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "weekly brief, 2023-06-12 to 2023-06-18" in text
    assert main(["brief"]) == 1
    assert "--out FILE.html" in capsys.readouterr().err
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: the PDF is not printed here")
    pdf = tmp_path / "brief.pdf"
    assert main(["brief", "--pdf", str(pdf)]) == 0
    assert pdf.read_bytes().startswith(b"%PDF")


def test_without_chromium_the_pdf_says_so(tmp_path):
    page = tmp_path / "b.html"
    page.write_text("<html></html>")
    with pytest.raises(BriefError, match="Chromium is not installed"):
        print_pdf(page, tmp_path / "b.pdf", chromium=str(tmp_path / "no-chromium"))


def test_scores_stored_for_the_week_are_used(scored_store):
    store = Store(scored_store)
    with store.read() as connection:
        week = connection.execute(sa.select(sa.func.max(scores.c.as_of))).scalar_one()
    page = build_brief(store, theatres_file(), TARGET)
    assert f"weekly brief, {week}" in page
    store.dispose()
