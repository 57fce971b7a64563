import csv
import datetime as dt
import io
import re
from pathlib import Path

import httpx
import pytest

from risk.refresh.sources import (
    ACLED_COLUMNS,
    ConfigError,
    PullContext,
    SourceError,
    candidate_versions,
    load_config,
    make_source,
)
from tests.fake_apis import (
    ACLED_EMAIL,
    ACLED_PASSWORD,
    TODAY,
    UCDP_TOKEN,
    FakeApi,
    Reply,
    acled_event,
    json_reply,
    serve_acled,
    serve_csv,
    serve_ucdp,
    ucdp_event,
)

ROOT = Path(__file__).parents[2]


@pytest.fixture
def api():
    server = FakeApi()
    yield server
    server.close()


@pytest.fixture
def credentials(monkeypatch):
    monkeypatch.setenv("ACLED_EMAIL", ACLED_EMAIL)
    monkeypatch.setenv("ACLED_PASSWORD", ACLED_PASSWORD)
    monkeypatch.setenv("UCDP_ACCESS_TOKEN", UCDP_TOKEN)


def source_from(tmp_path: Path, text: str, name: str | None = None):
    path = tmp_path / "sources.toml"
    path.write_text("[refresh]\ntimeout = 0.5\nretries = 2\nbackoff = 0.01\n" + text)
    config = load_config(path)
    chosen = config.source(name) if name else config.sources[0]
    return make_source(chosen)


def acled_source(tmp_path: Path, api: FakeApi, extra: str = ""):
    return source_from(
        tmp_path,
        f"""
[[source]]
name = "acled"
kind = "acled"
base_url = "{api.url}"
countries = ["Iraq", "Syria"]
start_date = 2024-01-01
page_size = 3
{extra}
""",
    )


class Context:
    """A PullContext with a real client, a fixed date and recorded back-off sleeps."""

    def __init__(self, newest=None, revision=None, state=None):
        self.sleeps: list[float] = []
        self.client = httpx.Client()
        self.ctx = PullContext(
            client=self.client,
            state=state or {},
            newest_event=lambda _fmt: newest,
            newest_revision=lambda _fmt: revision,
            today=TODAY,
            sleep=self.sleeps.append,
        )


@pytest.fixture
def ctx():
    context = Context()
    yield context
    context.client.close()


def rows_of(pulled_file) -> list[dict[str, str]]:
    text = pulled_file.source().read().decode()
    return list(csv.DictReader(io.StringIO(text)))


# -- configuration ------------------------------------------------------------------------------
def test_default_sources_file_needs_no_network_and_holds_no_secret():
    config = load_config(ROOT / "data" / "sources.toml")
    assert {s.kind for s in config.enabled} == {"folder"}
    kinds = {s.kind: s for s in config.sources}
    assert {"acled", "ucdp", "url"} <= set(kinds)
    assert not kinds["acled"].enabled and not kinds["ucdp"].enabled
    assert kinds["acled"].options["password_env"] == "ACLED_PASSWORD"  # noqa: S105
    assert kinds["ucdp"].options["token_env"] == "UCDP_ACCESS_TOKEN"  # noqa: S105
    assert config.cron == "0 6 * * 3"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[[source]]\nname = "a"\nkind = "acled"\ncountries = ["Iraq"]\npassword = "x"\n',
            "must not be written in the file; put it in an environment variable and name that "
            'variable: password_env = "VARIABLE"',
        ),
        ('[[source]]\nname = "a"\nkind = "ftp"\n', "kind = 'ftp' must be one of"),
        (
            '[[source]]\nname = "a"\nkind = "folder"\npath = "x"\n'
            '[[source]]\nname = "a"\nkind = "folder"\npath = "y"\n',
            "the name is used twice",
        ),
        ('[schedule]\ncron = "every wednesday"\n', "is not a cron expression"),
        ('[[source]]\nname = "a"\nkind = "acled"\n', "a acled source needs countries"),
        ('[[source]]\nname = "a"\nkind = "url"\nurl = "ftp://x/y.csv"\n', "http:// or https://"),
        ('[[source]]\nname = "a"\nkind = "folder"\npath = "x"\ncolour = 1\n', "unknown key"),
        ("[[source]\n", "not a valid TOML file"),
    ],
)
def test_a_bad_sources_file_is_refused_with_where_and_why(tmp_path, body, message):
    path = tmp_path / "sources.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match="sources.toml") as caught:
        load_config(path)
    assert message in str(caught.value)


def test_a_missing_sources_file_says_how_to_fix_it(tmp_path):
    with pytest.raises(ConfigError, match="RISK_SOURCES"):
        load_config(tmp_path / "nope.toml")


# -- ACLED --------------------------------------------------------------------------------------
def test_acled_pull_gets_a_token_reads_every_page_and_lists_deletions(
    tmp_path, api, ctx, credentials
):
    events = [acled_event(i, date=f"2024-01-{10 + i:02d}") for i in range(7)]
    events.append(acled_event(99, country="Lebanon", prefix="LBN"))  # not a configured country
    serve_acled(
        api,
        events,
        deleted=[
            {"event_id_cnty": "IRQ500", "deleted_timestamp": 1_706_000_000},
            {"event_id_cnty": "IRQ501", "deleted_timestamp": 1_000},  # before the window
        ],
    )
    ctx.ctx.state = {"deleted_since": 1_705_900_000}
    pulled = acled_source(tmp_path, api).pull(ctx.ctx)

    token = api.hits("/oauth/token")[0]
    assert token.method == "POST"
    assert token.form == {
        "username": ACLED_EMAIL,
        "password": ACLED_PASSWORD,
        "grant_type": "password",
        "client_id": "acled",
    }
    reads = api.hits("/api/acled/read")
    # One country at a time, every page until a short one.
    assert [(r.query["country"], r.query["page"]) for r in reads] == [
        ("Iraq", "1"),
        ("Iraq", "2"),
        ("Iraq", "3"),
        ("Syria", "1"),
    ]
    first = reads[0]
    assert first.headers["authorization"] == "Bearer tok-123"
    assert first.query["event_date"] == f"2024-01-01|{TODAY}"
    assert (first.query["_format"], first.query["limit"]) == ("json", "3")

    (file,) = pulled.files
    assert file.file_format == "acled"
    # Covered: the window asked for, up to the newest event returned (later days unpublished).
    assert file.covers == (dt.date(2024, 1, 1), dt.date(2024, 1, 16))
    rows = rows_of(file)
    assert list(rows[0]) == list(ACLED_COLUMNS)
    assert sorted(r["event_id_cnty"] for r in rows) == [f"IRQ{i}" for i in range(7)]
    assert rows[0]["notes"].endswith('"quotes", commas\nand a newline.')
    assert pulled.withdrawn_ids == ["IRQ500"]
    deleted = api.hits("/api/deleted/read")[0]
    assert int(deleted.query["deleted_timestamp"]) == 1_705_900_000 - 86_400
    assert pulled.state["deleted_since"] > 1_705_900_000


def test_acled_window_starts_a_little_before_the_newest_stored_event(tmp_path, api, credentials):
    serve_acled(api, [acled_event(1)])
    context = Context(newest=dt.date(2024, 1, 20), revision=1_705_000_000)
    try:
        acled_source(tmp_path, api, "revision_days = 10").pull(context.ctx)
    finally:
        context.client.close()
    assert api.hits("/api/acled/read")[0].query["event_date"] == f"2024-01-10|{TODAY}"
    # Events are stored, so deletions since the newest stored revision are asked for.
    assert int(api.hits("/api/deleted/read")[0].query["deleted_timestamp"]) == 1_704_913_600


def test_acled_without_credentials_names_the_variables_and_sends_nothing(
    tmp_path, api, ctx, monkeypatch
):
    monkeypatch.delenv("ACLED_EMAIL", raising=False)
    monkeypatch.delenv("ACLED_PASSWORD", raising=False)
    serve_acled(api, [acled_event(1)])
    with pytest.raises(SourceError, match="ACLED_EMAIL is not set"):
        acled_source(tmp_path, api).pull(ctx.ctx)
    assert api.requests == []


def test_acled_wrong_password_is_clear_and_never_repeated(tmp_path, api, ctx, monkeypatch):
    monkeypatch.setenv("ACLED_EMAIL", ACLED_EMAIL)
    monkeypatch.setenv("ACLED_PASSWORD", "Wr0ng-And-Secret")
    serve_acled(api, [acled_event(1)])
    with pytest.raises(SourceError) as caught:
        acled_source(tmp_path, api).pull(ctx.ctx)
    message = str(caught.value)
    assert "ACLED refused the credentials in ACLED_EMAIL / ACLED_PASSWORD (HTTP 400" in message
    assert "Wr0ng-And-Secret" not in message and ACLED_EMAIL not in message
    assert api.hits("/api/acled/read") == []


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Reply(status=500, body=b"oops"), "HTTP 500 Internal Server Error (3 attempts)"),
        (Reply(delay=1.0), "timed out after 0.5 s (3 attempts)"),
        (
            Reply(body=b'{"status": 200, "data": [{"event_id_cnty": "IRQ1"}]}', cut_at=20),
            "the body is incomplete (3 attempts)",
        ),
    ],
    ids=["http-500", "timeout", "cut-off-body"],
)
def test_transient_failures_are_retried_with_backoff_then_reported(
    tmp_path, api, ctx, credentials, fault, reason
):
    serve_acled(api, [acled_event(1)])
    api.fail_next("/api/acled/read", fault, fault, fault)
    with pytest.raises(SourceError, match="events page 1") as caught:
        acled_source(tmp_path, api).pull(ctx.ctx)
    assert reason in str(caught.value)
    assert ctx.sleeps == [0.01, 0.02]  # backoff doubles; no wait after the last attempt


def test_a_transient_failure_that_clears_is_not_an_error(tmp_path, api, ctx, credentials):
    serve_acled(api, [acled_event(1)])
    api.fail_next("/api/acled/read", Reply(status=503, headers={"Retry-After": "0"}))
    pulled = acled_source(tmp_path, api).pull(ctx.ctx)
    assert len(rows_of(pulled.files[0])) == 1


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Reply(body=b'{"status": 200, "data": [{"event_id_cnty": "IRQ1", '), "not valid JSON"),
        (Reply(body=b""), "not valid JSON"),
        (json_reply({"status": 200, "success": True, "count": 0}), "no 'data' list"),
        (json_reply({"success": False, "data": [], "error": "quota"}), "ACLED reported an error"),
        (json_reply({"data": [{"event_date": "2024-01-01"}]}), "has no event_id_cnty"),
        (Reply(status=401, body=b"{}"), "rejected the access token (HTTP 401)"),
        (Reply(status=403, body=b"{}"), "HTTP 403"),
    ],
    ids=["truncated-json", "empty-body", "no-data", "error", "no-id", "401", "403"],
)
def test_malformed_or_refused_responses_are_reported(
    tmp_path, api, ctx, credentials, fault, message
):
    serve_acled(api, [acled_event(1)])
    api.fail_next("/api/acled/read", fault)
    with pytest.raises(SourceError, match=re.escape(message)):
        acled_source(tmp_path, api).pull(ctx.ctx)


def test_an_empty_first_page_means_nothing_new(tmp_path, api, ctx, credentials):
    serve_acled(api, [])
    pulled = acled_source(tmp_path, api).pull(ctx.ctx)
    assert pulled.files == [] and pulled.withdrawn_ids == []


def test_an_api_that_ignores_paging_is_caught(tmp_path, api, ctx, credentials):
    serve_acled(api, [])
    page = json_reply({"status": 200, "data": [acled_event(i) for i in range(3)]})
    api.routes["/api/acled/read"] = lambda _request: page
    with pytest.raises(SourceError, match="page 2 repeats page 1"):
        acled_source(tmp_path, api).pull(ctx.ctx)


# -- UCDP ---------------------------------------------------------------------------------------
def ucdp_source(tmp_path, api, versions='["23.1"]', candidate_months=2):
    return source_from(
        tmp_path,
        f"""
[[source]]
name = "ucdp"
kind = "ucdp"
base_url = "{api.url}/api"
versions = {versions}
candidate_months = {candidate_months}
country_ids = [652, 645]
start_date = 2024-01-01
page_size = 2
""",
    )


def test_candidate_versions_count_back_from_this_month():
    assert candidate_versions(dt.date(2024, 2, 1), 3) == ["24.0.2", "24.0.1", "23.0.12"]


def test_ucdp_pull_pages_every_version_once(tmp_path, api, ctx, credentials):
    serve_ucdp(
        api,
        {
            "23.1": [ucdp_event(i) for i in range(1, 6)] + [ucdp_event(50, country_id=660)],
            "24.0.1": [ucdp_event(100)],  # 24.0.2 is not released: HTTP 404, skipped
        },
    )
    source = ucdp_source(tmp_path, api)
    pulled = source.pull(ctx.ctx)
    hits = api.hits("/api/gedevents/23.1")
    assert [h.query["page"] for h in hits] == ["0", "1", "2"]
    assert hits[0].headers["x-ucdp-access-token"] == UCDP_TOKEN
    assert (hits[0].query["Country"], hits[0].query["StartDate"]) == ("652,645", "2024-01-01")
    assert [f.name for f in pulled.files] == [
        "UCDP API gedevents 23.1",
        "UCDP API gedevents 24.0.1",
    ]
    rows = rows_of(pulled.files[0])
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0]["date_start"] == "2024-01-12"
    assert "candidate version 24.0.2 is not released yet" in pulled.notes

    # Released versions never change: the next pull asks only for the unreleased one.
    api.requests.clear()
    again = source.pull(
        PullContext(client=ctx.client, state=pulled.state, today=TODAY, sleep=ctx.sleeps.append)
    )
    assert again.files == []
    assert {r.path for r in api.requests} == {"/api/gedevents/24.0.2"}


def test_ucdp_token_missing_or_refused(tmp_path, api, ctx, monkeypatch):
    serve_ucdp(api, {"23.1": [ucdp_event(1)]})
    monkeypatch.delenv("UCDP_ACCESS_TOKEN", raising=False)
    with pytest.raises(SourceError, match="UCDP_ACCESS_TOKEN is not set"):
        ucdp_source(tmp_path, api).pull(ctx.ctx)
    monkeypatch.setenv("UCDP_ACCESS_TOKEN", "not-the-token")
    with pytest.raises(SourceError, match="UCDP refused the access token") as caught:
        ucdp_source(tmp_path, api).pull(ctx.ctx)
    assert "not-the-token" not in str(caught.value)


def test_an_unknown_ucdp_version_is_an_error(tmp_path, api, ctx, credentials):
    serve_ucdp(api, {"23.1": [ucdp_event(1)]})
    with pytest.raises(SourceError, match="no gedevents version '99.1'"):
        ucdp_source(tmp_path, api, '["99.1"]', candidate_months=0).pull(ctx.ctx)


# -- URL and folder -----------------------------------------------------------------------------
def test_url_source_downloads_with_headers_from_the_environment(tmp_path, api, ctx, monkeypatch):
    serve_csv(api, "/feed.csv", "date,country,event_type,fatalities\n2024-01-02,Iraq,battle,1\n")
    monkeypatch.setenv("FEED_KEY", "k-777")
    source = source_from(
        tmp_path,
        f"""
[[source]]
name = "feed"
kind = "url"
url = "{api.url}/feed.csv?key=query-secret"
headers_env = {{ X-Api-Key = "FEED_KEY" }}
""",
    )
    (file,) = source.pull(ctx.ctx).files
    assert file.source().read().startswith(b"date,country")
    assert api.hits("/feed.csv")[0].headers["x-api-key"] == "k-777"
    assert file.name == f"{api.url}/feed.csv"  # no query string: it may hold a key

    api.fail_next("/feed.csv", Reply(status=404, body=b"gone"))
    with pytest.raises(SourceError, match="answered HTTP 404 Not Found: gone") as caught:
        source.pull(ctx.ctx)
    assert "query-secret" not in str(caught.value)

    cut = Reply(body=b"date,country,event_type,fatalities\n2024-01-02,Ir", cut_at=30)
    api.fail_next("/feed.csv", cut, cut, cut)
    with pytest.raises(SourceError, match="body is incomplete"):
        source.pull(ctx.ctx)


def test_folder_source_lists_finished_csv_files_oldest_first(tmp_path, ctx):
    folder = tmp_path / "incoming"
    folder.mkdir()
    for name in ("b.csv", "a.csv.gz", ".hidden.csv", "upload.csv.part", "notes.txt"):
        (folder / name).write_bytes(b"x")
    source = source_from(tmp_path, '[[source]]\nname = "drop"\nkind = "folder"\npath = "incoming"')
    names = [f.name for f in source.pull(ctx.ctx).files]
    assert sorted(names) == ["a.csv.gz", "b.csv"]
    missing = source_from(tmp_path, '[[source]]\nname = "d"\nkind = "folder"\npath = "new/dir"')
    assert missing.pull(ctx.ctx).files == []  # created, empty
    assert (tmp_path / "new" / "dir").is_dir()
