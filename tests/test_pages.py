"""Every dashboard page under Streamlit's AppTest: demo data, an empty store, one theatre;
and the interactions: filters, theatre links, the upload flow with its sign-in, undo.

The demo and one-theatre stores are built once per session with ``python -m risk init`` (as
``scripts/start`` does; the demo store is shared with the browser tests, see conftest.py) and
copied for tests that change them.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import sqlite3
from pathlib import Path

import pytest
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from tests.conftest import copy_store, run_risk

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py"))
NEEDS_DATA = {"pages/overview.py", "pages/trends.py", "pages/theatre.py", "pages/map.py"}
DEMO_BANNER = "simulated demo data"


def build_store(path: Path, *files: Path) -> Path:
    """A SQLite store made by the CLI (in this process): the files, then init."""
    env = {**os.environ, "RISK_DATABASE_URL": f"sqlite:///{path}", "RISK_LOAD_DEMO": "0"}
    for file in files:
        done = run_risk("ingest", str(file), env=env)
        assert done.returncode == 0, done.stderr
    done = run_risk("init", env=env)
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture(scope="session")
def one_theatre_store(tmp_path_factory) -> Path:
    """Only the demo's Iraq incidents."""
    folder = tmp_path_factory.mktemp("iraq")
    iraq = folder / "iraq.csv"
    with gzip.open(ROOT / "data/demo/acled_demo.csv.gz", "rt", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        with open(iraq, "w", newline="", encoding="utf-8") as target:
            writer = csv.DictWriter(target, fieldnames=reader.fieldnames)
            writer.writeheader()
            writer.writerows(row for row in reader if row["country"] == "Iraq")
    return build_store(folder / "iraq.db", iraq)


@pytest.fixture(scope="session")
def unscored_store(one_theatre_store, tmp_path_factory) -> Path:
    """Incidents, but no model and no scores (too little data, or never trained)."""
    path = copy_store(one_theatre_store, tmp_path_factory.mktemp("unscored") / "unscored.db")
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM scores")
        connection.execute("DELETE FROM models")
    return path


def use_store(monkeypatch, path: Path | None, tmp_path: Path) -> None:
    url = f"sqlite:///{path}" if path else f"sqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("RISK_DATABASE_URL", url)
    monkeypatch.setenv("RISK_LOAD_DEMO", "0")
    monkeypatch.delenv("RISK_ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("RISK_UPLOAD_MAX_ROWS", raising=False)


@pytest.fixture
def demo(demo_store, monkeypatch, tmp_path):
    """The shared demo store, for tests that only read."""
    use_store(monkeypatch, demo_store, tmp_path)


@pytest.fixture
def demo_copy(demo_store, monkeypatch, tmp_path):
    """A private copy of the demo store, for tests that load or undo."""
    use_store(monkeypatch, copy_store(demo_store, tmp_path / "demo.db"), tmp_path)


@pytest.fixture
def empty(monkeypatch, tmp_path):
    use_store(monkeypatch, None, tmp_path)


@pytest.fixture
def one_theatre(one_theatre_store, monkeypatch, tmp_path):
    use_store(monkeypatch, one_theatre_store, tmp_path)


def listening_on(address: str):
    before = streamlit_config.get_option("server.address")
    streamlit_config.set_option("server.address", address)
    yield
    streamlit_config.set_option("server.address", before)


@pytest.fixture
def unscored(unscored_store, monkeypatch, tmp_path):
    use_store(monkeypatch, unscored_store, tmp_path)


@pytest.fixture
def on_localhost():
    """The server listens on 127.0.0.1 only."""
    yield from listening_on("127.0.0.1")


@pytest.fixture
def on_the_network():
    """The server listens on every interface."""
    yield from listening_on("0.0.0.0")  # noqa: S104 (what is tested)


def open_page(page: str, secrets: dict | None = None, **query: str) -> AppTest:
    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    for name, value in (secrets or {}).items():
        app.secrets[name] = value
    app.run()
    for name, value in query.items():
        app.query_params[name] = value
    app.switch_page(page)
    app.run()
    return app


CALENDAR_WARNING = "The newest incident is from"


def assert_clean(app: AppTest) -> None:
    """No exception, no error and no warning on the page.

    Stores built from the (old) demo rows trip the overview's calendar check, which is right
    for them and is tested on its own; it is the one warning allowed here.
    """
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    warnings = [w.value for w in app.warning if not w.value.startswith(CALENDAR_WARNING)]
    assert not warnings, warnings


def infos(app: AppTest) -> str:
    return "\n".join(i.value for i in app.info)


def texts(app: AppTest) -> str:
    parts = [*app.caption, *app.text, *app.markdown, *app.subheader, *app.info, *app.success]
    return "\n".join(str(p.value) for p in parts)


def charts(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


# -- every page, three stores -----------------------------------------------------------------
@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_demo_data(demo, page):
    app = open_page(page)
    assert_clean(app)
    assert DEMO_BANNER in infos(app)
    assert "Scores for the week 2024-12-23 to 2024-12-29" in texts(app)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_an_empty_store(empty, page):
    app = open_page(page)
    assert_clean(app)
    assert DEMO_BANNER not in infos(app)
    if page in NEEDS_DATA:
        assert "No incidents yet" in infos(app)
        assert not app.get("plotly_chart")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_a_one_theatre_store(one_theatre, page):
    app = open_page(page)
    assert_clean(app)
    assert DEMO_BANNER not in infos(app)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_a_store_without_a_model(unscored, page):
    app = open_page(page)
    assert_clean(app)
    if page in {"pages/overview.py", "pages/theatre.py", "pages/model.py"}:
        assert "no trained model yet" in infos(app)


# -- what the pages show ----------------------------------------------------------------------
def test_overview_lists_every_theatre_with_its_score(demo):
    app = open_page("pages/overview.py")
    table = app.dataframe[0].value
    assert sorted(table["theatre"].tolist()) == sorted(
        [
            "Iraq",
            "Syria",
            "Lebanon & northern Israel",
            "Israel & Palestine",
            "Yemen & Red Sea",
            "Iran",
        ]
    )
    assert table["probability"].between(0, 100).all()
    assert set(table["band"]) <= {"low", "elevated", "high", "severe"}
    rank = {"low": 0, "elevated": 1, "high": 2, "severe": 3}
    ranks = table["band"].map(rank).tolist()
    assert ranks == sorted(ranks, reverse=True)  # sorted by band, highest first
    assert all(
        s.startswith("⚠") or s[0] in "+-" for s in table["skill"]
    )  # a skill figure or a mark, never a number for a theatre too thin to rate
    assert all(len(points) == 26 for points in table["recent"])
    heat = charts(app)[0]
    assert {trace["type"] for trace in heat["data"]} == {"bar", "heatmap", "scatter"}
    assert "Week 2024-12-23 to 2024-12-29" in texts(app)


def test_overview_links_open_the_theatre_detail(demo):
    app = open_page("pages/overview.py")
    links = {link.proto.label: link.proto for link in app.get("page_link")}
    assert links["Syria"].page == "theatre"
    assert links["Syria"].query_string == "theatre=Syria"
    assert links["Lebanon & northern Israel"].query_string == "theatre=Lebanon+%26+northern+Israel"
    detail = open_page("pages/theatre.py", theatre="Syria")
    assert_clean(detail)
    assert detail.selectbox(key="theatre").value == "Syria"


def test_trends_filters(demo):
    app = open_page("pages/trends.py")
    app.multiselect(key="trend_theatres").set_value(["Iraq", "Iran"])
    app.multiselect(key="trend_categories").set_value(["battle"])
    app.segmented_control(key="trend_scale").set_value("log")
    app.run()
    assert_clean(app)
    lines = charts(app)[0]
    assert {trace["name"] for trace in lines["data"]} >= {"Iraq", "Iran"}
    assert not {trace["name"] for trace in lines["data"]} & {"Syria", "Yemen & Red Sea"}
    assert lines["layout"]["yaxis"]["type"] == "log"
    assert "Weekly incidents (Battles)" in texts(app)
    app.multiselect(key="trend_categories").set_value([])
    app.run()
    assert_clean(app)
    assert "Choose at least one theatre and one category." in infos(app)


def test_theatre_detail_searches_incidents(demo):
    app = open_page("pages/theatre.py", theatre="Iraq")
    assert "Why: the drivers of this score" in texts(app)
    everything = app.dataframe[-1].value
    assert len(everything) > 0
    app.text_input(key="incident_search").set_value(everything["actor1"].iloc[0])
    app.run()
    assert_clean(app)
    found = app.dataframe[-1].value
    assert 0 < len(found) <= len(everything)
    app.text_input(key="incident_search").set_value("no such actor %_")
    app.run()
    assert_clean(app)
    assert "0 incidents match" in texts(app)
    history = charts(app)[0]
    names = {trace.get("name") for trace in history["data"]}
    assert "forecaster, out of sample (backtest)" in names
    assert "live score (stored)" in names


def test_map_filters_and_draws_from_the_shipped_shapes(demo):
    app = open_page("pages/map.py")
    chart = app.get("plotly_chart")[0]
    assert json.loads(chart.proto.config)["topojsonURL"] == "app/static/"
    geo = json.loads(chart.proto.spec)["layout"]["geo"]
    assert geo["resolution"] == 50 and geo["scope"] == "world"
    app.multiselect(key="map_categories").set_value(["protest"])
    app.run()
    assert_clean(app)
    traces = charts(app)[0]["data"]
    assert [trace["name"] for trace in traces] == ["Protests"]


def test_model_page_shows_the_backtest_against_baselines(demo):
    app = open_page("pages/model.py")
    pooled = app.dataframe[1].value
    assert pooled["forecaster"].iloc[0] == "The forecaster, as chosen fold by fold (nested)"
    assert len(pooled) >= 5
    assert "surges in a week when its violent incidents" in texts(app)


def test_data_page_reports_sources(demo):
    app = open_page("pages/data.py")
    assert app.dataframe[0].value["incidents"].sum() == 107_645
    assert "Sources" in texts(app)


# -- freshness and refresh --------------------------------------------------------------------
def test_overview_says_when_the_latest_week_has_no_data(one_theatre):
    app = open_page("pages/overview.py")
    calendar = [w.value for w in app.warning if w.value.startswith(CALENDAR_WARNING)]
    assert len(calendar) == 1
    assert "scores describe an older week" in calendar[0]


def test_the_demo_is_not_called_out_of_date(demo):
    app = open_page("pages/overview.py")
    assert not app.warning


def write_sources(folder: Path, extra: str = "") -> Path:
    """A sources file with one drop folder (``incoming``) and no retries."""
    (folder / "incoming").mkdir(exist_ok=True)
    path = folder / "sources.toml"
    path.write_text(
        "[refresh]\nretries = 0\ntimeout = 2\n\n"
        '[[source]]\nname = "drop"\nkind = "folder"\npath = "incoming"\n' + extra
    )
    return path


def test_refresh_now_loads_the_sources_and_lists_the_run(
    demo_copy, on_localhost, tmp_path, monkeypatch
):
    sources = write_sources(tmp_path)
    monkeypatch.setenv("RISK_SOURCES", str(sources))
    (tmp_path / "incoming" / "log.csv").write_text(
        "id,date,country,event_type,fatalities\n"
        + "".join(f"n{i},2024-01-2{i},Iraq,battle,{i}\n" for i in range(5))
    )
    app = open_page("pages/data.py")
    assert app.dataframe[0].value["incidents"].sum() == 107_645
    assert "Recent refresh runs" not in texts(app)

    next(b for b in app.button if b.label == "Refresh now").click().run()
    assert_clean(app)
    assert [x.value for x in app.success] == ["Refresh done: 5 added, 0 updated, 0 withdrawn."]
    assert app.dataframe[0].value["incidents"].sum() == 107_650
    runs = next(d.value for d in app.dataframe if "trigger" in d.value.columns)
    assert runs[["trigger", "status", "added"]].values.tolist() == [["dashboard", "ok", 5]]
    assert runs["sources"].iloc[0] == "drop: ok"


def test_a_failing_source_shows_in_the_run_and_as_stale(
    demo_copy, on_localhost, tmp_path, monkeypatch
):
    closed = "http://127.0.0.1:9/incidents.csv"  # discard port: nothing listens
    sources = write_sources(
        tmp_path, f'\n[[source]]\nname = "feed"\nkind = "url"\nurl = "{closed}"\n'
    )
    monkeypatch.setenv("RISK_SOURCES", str(sources))
    app = open_page("pages/data.py")
    next(b for b in app.button if b.label == "Refresh now").click().run()
    assert app.warning[0].value == (
        "Refresh finished with failures: 0 added, 0 updated, 0 withdrawn. "
        "Failed: feed. See the run below."
    )
    runs = next(d.value for d in app.dataframe if "trigger" in d.value.columns)
    assert runs["status"].iloc[0] == "failed"
    assert runs["sources"].iloc[0] == "drop: ok, feed: failed"

    overview = open_page("pages/overview.py")
    assert [w.value for w in overview.warning][0].startswith("Stale source: feed ")


def test_refresh_now_needs_the_same_sign_in_as_uploads(demo, on_the_network):
    app = open_page("pages/data.py")
    assert "Refresh now" not in [b.label for b in app.button]
    assert "configure sign-in" in infos(app)


# -- changing data: sign-in, upload, undo -----------------------------------------------------
def test_upload_is_closed_off_localhost_without_sign_in(demo, on_the_network):
    app = open_page("pages/upload.py")
    assert_clean(app)
    assert not app.get("file_uploader")
    assert "configure sign-in" in infos(app)
    assert not app.get("button")  # no undo either


def test_upload_with_oidc_sign_in_configured(demo, on_localhost):
    auth = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "not-a-real-secret",
        "client_id": "dashboard",
        "client_secret": "not-a-real-secret",
        "server_metadata_url": "https://login.example/.well-known/openid-configuration",
    }
    app = open_page("pages/upload.py", secrets={"auth": auth})
    assert_clean(app)
    assert "Sign in to load files or undo loads." in infos(app)
    assert [b.label for b in app.button] == ["Sign in"]
    assert not app.get("file_uploader")


def test_upload_with_a_password(demo, on_the_network, monkeypatch):
    monkeypatch.setenv("RISK_ADMIN_PASSWORD", "s3cret")
    app = open_page("pages/upload.py")
    assert not app.get("file_uploader")
    app.text_input[0].input("wrong")
    app.button[0].click()
    app.run()
    assert [e.value for e in app.error] == ["That password is not right."]
    assert not app.get("file_uploader")
    app.text_input[0].input("s3cret")
    app.button[0].click()
    app.run()
    assert_clean(app)
    assert app.get("file_uploader")


def preview(app: AppTest, name: str, content: bytes) -> AppTest:
    app.get("file_uploader")[0].upload(name, content, "text/csv")
    app.run()
    return app


def test_upload_preview_commit_and_undo(demo_copy, on_localhost):
    app = open_page("pages/upload.py")
    assert_clean(app)
    content = (DATA / "native_log.csv").read_bytes() + b",2024-01-21,Iraq,,,,,,battle,,,-1,,\n"
    preview(app, "=my log.csv", content)
    assert_clean(app)
    assert "native" in texts(app)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Rows read"] == "4"
    assert metrics["New"] == "3"
    assert metrics["Rejected"] == "1"
    rejected = app.dataframe[1].value
    assert rejected["line"].tolist() == [5]
    assert "negative" in rejected["reason"].iloc[0]
    batches_before = len(app.dataframe[-1].value)

    app.button(key="confirm_load").click()
    app.run()
    assert_clean(app)
    done = [s.value for s in app.success]
    assert done and done[0].startswith("Loaded batch 2: 3 new"), done
    assert "Scored the week" in done[0]
    loads = app.dataframe[-1].value
    assert len(loads) == batches_before + 1
    assert loads["file_name"].iloc[0] == "=my log.csv"  # a label, shown as text
    assert not app.get("file_uploader")[0].value  # a fresh uploader for the next file

    assert undo_widget(app, "selectbox", "undo_batch_").value == 2  # the batch just loaded
    assert undo_widget(app, "button", "undo_button_").disabled
    undo_widget(app, "checkbox", "undo_sure_").check()
    app.run()
    undo_widget(app, "button", "undo_button_").click()
    app.run()
    assert_clean(app)
    assert [s.value for s in app.success][0].startswith("Undid batch 2: 3 incidents removed")
    loads = app.dataframe[-1].value
    assert loads.set_index("id").at[2, "status"] == "undone"


def undo_widget(app: AppTest, kind: str, prefix: str):
    """The one widget of the undo step whose key starts with prefix (keys carry round, batch)."""
    found = [w for w in app.get(kind) if str(w.key or "").startswith(prefix)]
    assert len(found) == 1, [w.key for w in app.get(kind)]
    return found[0]


def undo_enabled(app: AppTest) -> bool:
    buttons = [b for b in app.button if str(b.key or "").startswith("undo_button_")]
    return bool(buttons) and not buttons[0].disabled


def test_undo_never_acts_on_a_batch_the_user_did_not_confirm(demo_copy, on_localhost):
    """The reported data loss, step by step: load, undo it, rerun; batch 1 must stay safe."""
    app = open_page("pages/upload.py")
    seed = ROOT / "data" / "samples" / "seed-report-2024-01-20.csv"
    preview(app, seed.name, seed.read_bytes())
    app.button(key="confirm_load").click()
    app.run()
    assert_clean(app)
    assert undo_widget(app, "selectbox", "undo_batch_").value == 2
    undo_widget(app, "checkbox", "undo_sure_").check()
    app.run()
    assert undo_enabled(app)
    undo_widget(app, "button", "undo_button_").click()
    app.run()
    assert [s.value for s in app.success][0].startswith("Undid batch 2")

    # After the undo nothing is chosen or confirmed, and a rerun (previewing another file)
    # does not bring a confirmation back.
    assert undo_widget(app, "selectbox", "undo_batch_").value is None
    assert not [c for c in app.checkbox if str(c.key).startswith("undo_sure_")]
    assert not undo_enabled(app)
    preview(app, "log.csv", (DATA / "native_log.csv").read_bytes())
    assert not undo_enabled(app)

    # Choosing batch 1 (the 107,645 demo incidents) starts unconfirmed; a tick is not enough
    # for a batch that big: its number must be typed, and only its own number will do.
    undo_widget(app, "selectbox", "undo_batch_").set_value(1)
    app.run()
    assert not undo_widget(app, "checkbox", "undo_sure_").value
    assert not undo_enabled(app)
    undo_widget(app, "checkbox", "undo_sure_").check()
    app.run()
    assert not undo_enabled(app)
    undo_widget(app, "text_input", "undo_typed_").input("2")
    app.run()
    assert not undo_enabled(app)
    undo_widget(app, "text_input", "undo_typed_").input("1")
    app.run()
    assert undo_enabled(app)
    assert app.dataframe[-1].value.set_index("id").at[1, "status"] == "committed"


def test_an_undo_confirmation_belongs_to_one_batch(demo_copy, on_localhost):
    app = open_page("pages/upload.py")
    for name in ("a.csv", "b.csv"):
        content = (DATA / "native_log.csv").read_bytes()
        if name == "b.csv":
            content = content.replace(b"2024-01", b"2023-11")
        preview(app, name, content)
        app.button(key="confirm_load").click()
        app.run()
    assert undo_widget(app, "selectbox", "undo_batch_").value == 3
    undo_widget(app, "checkbox", "undo_sure_").check()
    app.run()
    assert undo_enabled(app)
    undo_widget(app, "selectbox", "undo_batch_").set_value(2)  # another batch: unconfirmed
    app.run()
    assert not undo_widget(app, "checkbox", "undo_sure_").value
    assert not undo_enabled(app)
    undo_widget(app, "selectbox", "undo_batch_").set_value(3)  # and back: confirm again
    app.run()
    assert not undo_enabled(app)


def test_upload_refuses_unusable_files_and_says_why(demo_copy, on_localhost, monkeypatch):
    app = open_page("pages/upload.py")
    name = "![x](http://tracker.example/t.png).csv"
    preview(app, name, b"<!DOCTYPE html><html><body>Login</body></html>\n")
    assert not app.exception
    assert len(app.error) == 1
    # The file name is shown literally: no markdown image that would fetch from outside.
    assert app.error[0].value.startswith(
        r"This file cannot be loaded: \!\[x\]\(http\://tracker\.example/t\.png\)\.csv"
    )
    assert "HTML page" in app.error[0].value
    assert "confirm_load" not in [b.key for b in app.button]

    monkeypatch.setenv("RISK_UPLOAD_MAX_ROWS", "2")
    app = open_page("pages/upload.py")
    preview(app, "log.csv", (DATA / "native_log.csv").read_bytes())
    assert "more than 2 rows" in app.error[0].value


def test_a_file_with_nothing_new_cannot_be_committed(demo_copy, on_localhost):
    app = open_page("pages/upload.py")
    header = io.BytesIO()
    with gzip.open(ROOT / "data/demo/acled_demo.csv.gz", "rb") as demo_file:
        header.write(b"".join(demo_file.readline() for _ in range(4)))
    preview(app, "again.csv", header.getvalue())
    assert_clean(app)
    assert {m.label: m.value for m in app.metric}["Already stored"] == "3"
    assert app.button(key="confirm_load").disabled
    assert "Nothing to load" in infos(app)


# -- non-Latin text ---------------------------------------------------------------------------
@pytest.fixture
def arabic(monkeypatch, tmp_path):
    """A store of the bad-input corpus's Arabic, right-to-left file."""
    path = build_store(tmp_path / "arabic.db", DATA / "bad/31_arabic_right_to_left.csv")
    use_store(monkeypatch, path, tmp_path)
    return f"sqlite:///{path}"


def test_arabic_text_reaches_the_page_and_the_export_unchanged(arabic):
    from risk.export import safe_csv
    from risk.incidents.theatres import load_theatres
    from risk.store.database import Store
    from risk.store.queries import find_incidents

    actor, notes = "أنصار الله", "هجوم صاروخي على سفينة تجارية في البحر الأحمر"
    app = open_page("pages/theatre.py", theatre="Yemen & Red Sea")
    assert_clean(app)
    shown = app.dataframe[-1].value
    assert actor in shown["actor1"].tolist() and notes in shown["notes"].tolist()
    assert "\u202eevil\u202c" in shown["actor1"].tolist()

    # The page's download runs exactly this (reads.incidents_csv).
    store = Store(arabic)
    page = find_incidents(
        store, load_theatres(ROOT / "data/theatres.toml"), theatre_names=["Yemen & Red Sea"]
    )
    store.dispose()
    rows = list(csv.DictReader(io.StringIO(safe_csv(page.rows).decode("utf-8-sig"))))
    assert {(r["actor1"], r["notes"], r["country"]) for r in rows} >= {(actor, notes, "اليمن")}


# -- new data from elsewhere ------------------------------------------------------------------
def test_new_data_from_elsewhere_shows_on_the_next_run(demo_copy, tmp_path):
    from risk.store.database import Store
    from risk.store.ingest import ingest_file

    app = open_page("pages/data.py")
    assert app.dataframe[0].value["incidents"].sum() == 107_645

    # Another process (a refresh) loads five incidents: the stored weekly counts make a fresh
    # read cheap, so the next run shows them (no warm-up, no stale version served).
    log = tmp_path / "log.csv"
    log.write_text(
        "id,date,country,event_type,fatalities\n"
        + "".join(f"e{i},2024-01-2{i},Iraq,battle,{i}\n" for i in range(5))
    )
    elsewhere = Store(os.environ["RISK_DATABASE_URL"])
    ingest_file(elsewhere, log)
    elsewhere.dispose()

    app.run()
    assert_clean(app)
    assert app.dataframe[0].value["incidents"].sum() == 107_650


def test_a_database_that_cannot_be_reached_is_a_message_without_its_password(monkeypatch, tmp_path):
    from tests.browser.driver import free_port

    closed = free_port()  # nothing listens there
    monkeypatch.setenv("RISK_DATABASE_URL", f"postgresql+psycopg://me:s3cret@127.0.0.1:{closed}/r")
    monkeypatch.setenv("RISK_LOAD_DEMO", "0")
    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    app.run()
    assert not app.exception
    [error] = [e.value for e in app.error]
    assert error.startswith(
        f"cannot open the store at postgresql+psycopg://me:***@127.0.0.1:{closed}"
    )
    assert "Check `RISK_DATABASE_URL`" in error
    assert "s3cret" not in error


def test_an_unknown_export_is_mapped_saved_and_previewed(
    demo_copy, on_localhost, monkeypatch, tmp_path
):
    monkeypatch.setenv("RISK_FORMATS_DIR", str(tmp_path))
    app = open_page("pages/upload.py")
    preview(app, "ngo export.csv", (DATA / "ngo_incidents.csv").read_bytes())
    assert "cannot be loaded" in app.error[0].value
    # First guesses from the header; the analyst fixes the rest.
    assert app.selectbox(key="map_admin1").value == "admin_1"
    assert app.selectbox(key="map_actor1").value == "reported_perpetrator_name"
    app.text_input(key="map_date_format").input("%d/%m/%Y")
    app.selectbox(key="map_category").set_value("violence_against_civilians")
    app.text_input(key="map_name").input("ngo")
    app.button(key="map_save").click()
    app.run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert (tmp_path / "ngo.toml").exists()
    assert "saved mapping ngo" in texts(app)
    metrics = {m.label: m.value for m in app.metric}
    assert (metrics["Rows read"], metrics["New"], metrics["Rejected"]) == ("12", "12", "0")
    app.button(key="confirm_load").click()
    app.run()
    assert [s.value for s in app.success][0].startswith("Loaded batch 2: 12 new")


# -- the analyst's week: alerts, brief, track record, synchrony --------------------------------
def test_overview_offers_the_weekly_brief(demo):
    app = open_page("pages/overview.py")
    buttons = [b.proto.label for b in app.get("download_button")]
    assert "Weekly brief (HTML)" in buttons


def test_track_record_after_replaying_past_weeks(demo_copy):
    replayed = run_risk("scores", "--from", "2024-09-02", "--to", "2024-12-01", env={**os.environ})
    assert replayed.returncode == 0, replayed.stderr
    app = open_page("pages/track_record.py")
    assert_clean(app)
    metrics = {m.label: m.value for m in app.metric}
    assert int(metrics["Stored scores"].replace(",", "")) == 6 * 14  # 13 replayed weeks + 1
    # The replays were made by a model trained on those weeks: in sample, kept apart.
    assert metrics["Resolved, out of sample"] == "0"
    assert "No out-of-sample forecast has resolved yet" in infos(app)
    # 13 replayed weeks (2024-09-02 .. 2024-11-25) x 6 theatres, all resolved by the data's end.
    assert "In sample, not part of the record: 78 replayed forecasts" in texts(app)
    reliability = charts(app)[0]
    assert {t["name"] for t in reliability["data"]} == {"Perfect", "Backtest"}


def test_synchrony_shows_weeks_days_and_co_surges(demo):
    app = open_page("pages/synchrony.py")
    assert_clean(app)
    weekly, co_surge = charts(app)
    assert [t["name"] for t in weekly["data"]] == ["Above normal", "Surging"]
    assert co_surge["data"][0]["type"] == "heatmap"
    days = app.dataframe[0].value
    assert len(days) > 0 and (days["theatres"] >= 3).all()
    app.selectbox(key="sync_group").set_value("Israel")
    app.number_input(key="sync_min").set_value(6)
    app.run()
    assert_clean(app)
    assert "No such day in the stored incidents." in infos(app)


def test_alerts_page_lists_rules_what_fires_and_what_was_tried(demo_copy, tmp_path, monkeypatch):
    rules = tmp_path / "alerts.toml"
    rules.write_text(
        '[[alert]]\nname = "Everything"\nmin_probability = 0.0\nemail = ["a@example.org"]\n'
    )
    monkeypatch.setenv("RISK_ALERTS", str(rules))
    monkeypatch.setenv("RISK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RISK_SMTP_PORT", "9")  # nothing listens: the send fails
    monkeypatch.setenv("RISK_SMTP_PASSWORD", "page-secret")
    run_risk("alerts", env={**os.environ})
    app = open_page("pages/alerts.py")
    assert_clean(app)
    assert app.dataframe[0].value["rule"].tolist() == ["Everything"]
    assert len(app.dataframe[1].value) == 6  # every theatre fires
    log = app.dataframe[2].value
    assert set(log["status"]) == {"failed"} and len(log) == 6
    assert "page-secret" not in " ".join(log["error"])
