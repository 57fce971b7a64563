import datetime as dt
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from risk.forecast.target import SurgeTarget
from risk.incidents.theatres import load_theatres
from risk.refresh.runs import (
    RefreshBusy,
    recent_runs,
    refresh_lock,
    refresh_runs,
    retrain_reason,
    run_refresh,
    source_status,
)
from risk.refresh.sources import ConfigError, load_config
from risk.store.database import Store, batches, incident_history, incidents, utc_now
from risk.store.ingest import ingest_file, list_batches, undo_batch
from tests.fake_apis import (
    ACLED_EMAIL,
    ACLED_PASSWORD,
    ACLED_TOKEN,
    UCDP_TOKEN,
    FakeApi,
    Reply,
    acled_event,
    serve_acled,
    serve_csv,
    serve_ucdp,
    ucdp_event,
)

DATA = Path(__file__).parents[1] / "data"
ROOT = Path(__file__).parents[2]
NATIVE_HEADER = "id,date,country,event_type,fatalities,notes\n"


@pytest.fixture
def store(database_url):
    store = Store(database_url)
    yield store
    store.dispose()


@pytest.fixture
def api():
    server = FakeApi()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("ACLED_EMAIL", ACLED_EMAIL)
    monkeypatch.setenv("ACLED_PASSWORD", ACLED_PASSWORD)
    monkeypatch.setenv("UCDP_ACCESS_TOKEN", UCDP_TOKEN)


def write_config(
    tmp_path: Path,
    api: FakeApi | None,
    *,
    acled=True,
    ucdp=False,
    url=False,
    lease=1800,
    page_size=3,
    timeout=2.0,
    ucdp_versions='["23.1"]',
) -> Path:
    """A sources file: the drop folder tmp_path/incoming, plus fake-API sources."""
    (tmp_path / "incoming").mkdir(exist_ok=True)
    text = f"""
[refresh]
timeout = {timeout}
retries = 1
backoff = 0.01
lease_seconds = {lease}

[[source]]
name = "drop"
kind = "folder"
path = "incoming"
"""
    if api is not None:
        text += f"""
[[source]]
name = "acled"
kind = "acled"
enabled = {str(acled).lower()}
base_url = "{api.url}"
countries = ["Iraq", "Syria"]
start_date = 2024-01-01
page_size = {page_size}

[[source]]
name = "ucdp"
kind = "ucdp"
enabled = {str(ucdp).lower()}
base_url = "{api.url}/api"
versions = {ucdp_versions}
candidate_months = 0
country_ids = [652]
start_date = 2024-01-01

[[source]]
name = "feed"
kind = "url"
enabled = {str(url).lower()}
url = "{api.url}/feed.csv"
"""
    path = tmp_path / "sources.toml"
    path.write_text(text)
    return path


def refresh(store, path: Path, **kwargs):
    return run_refresh(store, config=load_config(path), update_model=False, **kwargs)


def snapshot(store: Store, without_batches: set[int] = frozenset()) -> tuple:
    """Incidents, history and batches (leaving out some batches), to compare runs."""
    with store.read() as connection:
        rows = connection.execute(
            sa.select(incidents)
            .where(incidents.c.batch_id.not_in(without_batches or [-1]))
            .order_by(incidents.c.source, incidents.c.source_id)
        ).all()
        history = connection.execute(
            sa.select(sa.func.count()).select_from(incident_history)
        ).scalar_one()
        batch_rows = connection.execute(
            sa.select(batches.c.id, batches.c.status, batches.c.sha256)
            .where(batches.c.id.not_in(without_batches or [-1]))
            .order_by(batches.c.id)
        ).all()
    return tuple(map(tuple, rows)), history, tuple(map(tuple, batch_rows))


def count(store: Store, **where) -> int:
    query = sa.select(sa.func.count()).select_from(incidents)
    for column, value in where.items():
        query = query.where(incidents.c[column] == value)
    with store.read() as connection:
        return connection.execute(query).scalar_one()


def native_file(prefix: str, n: int) -> str:
    rows = (f"{prefix}{i},2024-01-{1 + i % 28:02d},Iraq,battle,{i % 3},n\n" for i in range(n))
    return NATIVE_HEADER + "".join(rows)


def two_weeks_of_acled(n=7):
    return [acled_event(i, date=f"2024-01-{10 + i:02d}") for i in range(n)]


# -- a full refresh -----------------------------------------------------------------------------
def test_a_refresh_loads_every_source_as_batches_and_records_the_run(store, tmp_path, api):
    path = write_config(tmp_path, api, ucdp=True, url=True)
    (tmp_path / "incoming" / "log.csv").write_text(native_file("log-", 4))
    serve_acled(api, two_weeks_of_acled())
    serve_ucdp(api, {"23.1": [ucdp_event(i) for i in range(1, 4)]})
    serve_csv(api, "/feed.csv", native_file("feed-", 2))
    progress: list[str] = []

    record = refresh(store, path, trigger="test", progress=progress.append)

    assert record.status == "ok", record.as_json()
    by_name = {s.name: s for s in record.sources}
    assert [s.name for s in record.sources] == ["drop", "acled", "ucdp", "feed"]
    assert (by_name["drop"].added, by_name["acled"].added, by_name["ucdp"].added) == (4, 7, 3)
    assert by_name["feed"].added == 2 and record.added == 16
    assert count(store) == 16 and count(store, source="acled") == 7
    origins = set(list_batches(store)["origin"])
    assert origins == {"refresh:drop", "refresh:acled", "refresh:ucdp", "refresh:feed"}
    assert "acled: Iraq events page 3" in progress

    (run,) = recent_runs(store, 5)
    assert (run["id"], run["status"], run["trigger"], run["added"]) == (record.id, "ok", "test", 16)
    assert run["finished_at"] >= run["started_at"]
    assert [s["name"] for s in run["sources"]] == ["drop", "acled", "ucdp", "feed"]
    assert run["sources"][1]["batches"] == by_name["acled"].batches
    assert json.loads(json.dumps(record.as_json()))["sources"][0]["added"] == 4
    with store.read() as connection:  # the lock is released
        assert connection.execute(sa.select(refresh_lock)).first() is None


def test_the_same_events_again_change_nothing(store, tmp_path, api):
    path = write_config(tmp_path, api, ucdp=True)
    serve_acled(api, two_weeks_of_acled())
    serve_ucdp(api, {"23.1": [ucdp_event(1)]})
    (tmp_path / "incoming" / "log.csv").write_text(native_file("log-", 3))
    refresh(store, path)
    before = snapshot(store)

    record = refresh(store, path)

    assert record.status == "ok"
    assert (record.added, record.updated, record.withdrawn) == (0, 0, 0)
    assert snapshot(store) == before
    acled = record.sources[1]
    assert any("already loaded" in note for note in acled.notes), acled.notes


def test_a_renamed_copy_in_the_drop_folder_is_not_loaded_twice_and_bad_files_stay(store, tmp_path):
    path = write_config(tmp_path, None)
    incoming = tmp_path / "incoming"
    (incoming / "a.csv").write_text(native_file("a-", 3))
    (incoming / "bad.csv").write_text("this,is,not\nan,incident,file\n")
    first = refresh(store, path)
    assert first.sources[0].status == "failed"
    assert first.sources[0].added == 3  # the good file loaded all the same
    assert "1 of 2 files could not be loaded (left in the folder): bad.csv" in (
        first.sources[0].error or ""
    )
    assert (incoming / "bad.csv").exists() and (incoming / "a.csv").exists()

    (incoming / "bad.csv").unlink()
    (incoming / "a-copy.csv").write_bytes((incoming / "a.csv").read_bytes())
    second = refresh(store, path)
    assert second.status == "ok" and second.added == 0
    assert len(list_batches(store)) == 1
    assert "a-copy.csv: already loaded (batch 1)" in second.sources[0].notes


def test_acled_revisions_replace_events_and_deletions_withdraw_them_undoably(store, tmp_path, api):
    path = write_config(tmp_path, api)
    data = serve_acled(api, two_weeks_of_acled())
    refresh(store, path)
    assert count(store, source="acled") == 7

    revised = acled_event(3, date="2024-01-13", fatalities=9, timestamp=1_706_000_000)
    data["events"][3] = revised
    data["events"] = [e for e in data["events"] if e["event_id_cnty"] != "IRQ5"]  # deleted
    data["deleted"] = [
        {"event_id_cnty": "IRQ5", "deleted_timestamp": int(utc_now().timestamp())},
        {"event_id_cnty": "XYZ1", "deleted_timestamp": int(utc_now().timestamp())},  # not ours
    ]
    record = refresh(store, path)
    acled = record.sources[1]
    assert (acled.status, acled.added, acled.updated, acled.withdrawn) == ("ok", 0, 1, 1)
    assert count(store, source="acled") == 6
    # The window started a little before the newest stored event (revision_days = 60).
    read = api.hits("/api/acled/read")[-1]
    assert read.query["event_date"].startswith("2024-01-01|")  # clipped to start_date
    withdrawal_id = acled.batches[-1]
    withdrawal = list_batches(store).set_index("id").loc[withdrawal_id]
    assert (withdrawal["withdrawn"], withdrawal["status"]) == (1, "committed")

    undone = undo_batch(store, withdrawal_id)
    assert undone.restored == 1 and count(store, source="acled") == 7


@pytest.mark.parametrize(
    "fault",
    [
        "token-401",
        "wrong-password",
        "http-500",
        "timeout",
        "cut-off-body",
        "malformed-page-2",
        "deletions-fail",
        "ucdp-bad-token",
        "feed-cut-off",
    ],
)
def test_a_failing_source_changes_nothing_and_the_others_still_load(
    store, tmp_path, api, monkeypatch, fault
):
    path = write_config(tmp_path, api, ucdp=True, url=True, timeout=0.5)
    data = serve_acled(api, two_weeks_of_acled())
    ucdp = {"23.1": [ucdp_event(i) for i in range(1, 3)], "24.1": [ucdp_event(7)]}
    serve_ucdp(api, ucdp)
    serve_csv(api, "/feed.csv", native_file("feed-", 2))
    ingest_file(store, DATA / "acled_current.csv")  # what is already stored must stay as it is
    refresh(store, path)  # deletions are asked for only once ACLED events are stored
    # A new UCDP release to pull (pulled versions are never asked for again).
    versions = '["23.1", "24.1"]'
    path = write_config(tmp_path, api, ucdp=True, url=True, timeout=0.5, ucdp_versions=versions)
    data["events"] += [acled_event(i, date="2024-01-20") for i in range(20, 24)]
    data["deleted"] = [{"event_id_cnty": "IRQ1", "deleted_timestamp": 2_000_000_000}]
    serve_csv(api, "/feed.csv", native_file("feed-", 5))
    (tmp_path / "incoming" / "new.csv").write_text(native_file("new-", 2))
    before = snapshot(store)
    read_route = api.routes["/api/acled/read"]
    failing = {"ucdp-bad-token": "ucdp", "feed-cut-off": "feed"}.get(fault, "acled")
    if fault == "token-401":
        api.fail_next("/oauth/token", Reply(status=401, body=b'{"error": "invalid_client"}'))
    elif fault == "wrong-password":
        monkeypatch.setenv("ACLED_PASSWORD", "not-it")
    elif fault == "http-500":
        api.fail_next("/api/acled/read", Reply(status=500), Reply(status=500))
    elif fault == "timeout":
        api.fail_next("/api/acled/read", Reply(delay=0.8), Reply(delay=0.8))
    elif fault == "cut-off-body":
        api.fail_next("/api/acled/read", *[Reply(body=b'{"data": [{"a": 1}]}', cut_at=9)] * 2)
    elif fault == "malformed-page-2":
        broken = Reply(body=b'{"data": [{"event_id_cnty": "IRQ')
        api.routes["/api/acled/read"] = lambda r: (
            broken if r.query["page"] == "2" else read_route(r)
        )
    elif fault == "deletions-fail":
        api.fail_next("/api/deleted/read", Reply(status=502), Reply(status=502))
    elif fault == "ucdp-bad-token":
        monkeypatch.setenv("UCDP_ACCESS_TOKEN", "expired")
    elif fault == "feed-cut-off":
        cut = Reply(body=native_file("feed-", 5).encode(), cut_at=60, content_type="text/csv")
        api.fail_next("/feed.csv", cut, cut)

    record = refresh(store, path)

    results = {s.name: s for s in record.sources}
    assert record.status == "failed"
    assert [s.name for s in record.failed] == [failing]
    assert results[failing].error and results[failing].batches == []
    drop_batch = results["drop"].batches
    assert results["drop"].added == 2 and len(drop_batch) == 1
    others = {s.name: s.added for s in record.sources if s.name not in (failing, "drop")}
    # ACLED's four new events, UCDP's new release, the feed's three new rows
    assert set(others.values()) <= {4, 1, 3} and 0 not in others.values()
    changed = {b for s in record.sources for b in s.batches}
    assert snapshot(store, without_batches=changed) == before
    stored = json.dumps(recent_runs(store, 1), default=str)
    assert ACLED_PASSWORD not in stored and "not-it" not in stored and "expired" not in stored
    assert ACLED_TOKEN not in stored


def test_an_empty_page_is_not_a_failure(store, tmp_path, api):
    path = write_config(tmp_path, api)
    serve_acled(api, [])
    before = snapshot(store)
    record = refresh(store, path)
    assert record.status == "ok" and record.added == 0
    assert snapshot(store) == before


# -- one refresh at a time ----------------------------------------------------------------------
def test_two_refreshes_started_together_one_is_refused(store, tmp_path, api):
    path = write_config(tmp_path, api)
    serve_acled(api, two_weeks_of_acled())
    read = api.routes["/api/acled/read"]
    api.routes["/api/acled/read"] = lambda r: Reply(**{**read(r).__dict__, "delay": 0.3})
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def go():
        start.wait()
        try:
            outcomes.append(refresh(store, path))
        except RefreshBusy as busy:
            outcomes.append(busy)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = [o for o in outcomes if isinstance(o, RefreshBusy)]
    done = [o for o in outcomes if not isinstance(o, RefreshBusy)]
    assert len(refused) == 1 and len(done) == 1
    assert "another refresh is running (run" in str(refused[0])
    assert "this one was not started" in str(refused[0])
    assert count(store, source="acled") == 7
    assert [r["status"] for r in recent_runs(store)] == ["ok"]


def test_a_refresh_and_an_upload_at_the_same_time_lose_nothing_and_count_nothing_twice(
    store, tmp_path, api
):
    path = write_config(tmp_path, api, page_size=40)
    serve_acled(api, [acled_event(i, date=f"2024-01-{1 + i % 28:02d}") for i in range(200)])
    shared = native_file("shared-", 50)
    (tmp_path / "incoming" / "shared.csv").write_text(shared)
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def upload(text: str, name: str) -> None:
        start.wait()
        try:
            ingest_file(store, io.BytesIO(text.encode()), name=name, origin="upload")
        except BaseException as error:
            errors.append(error)

    def pull() -> None:
        start.wait()
        refresh(store, path)

    threads = [
        threading.Thread(target=pull),
        threading.Thread(target=upload, args=(native_file("up-", 150), "up.csv")),
        threading.Thread(target=upload, args=(shared, "shared.csv")),  # the drop folder's file
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count(store, source="acled") == 200
    assert count(store, source="native") == 150 + 50
    with store.read() as connection:
        repeated = connection.execute(
            sa.select(incidents.c.source, incidents.c.source_id)
            .group_by(incidents.c.source, incidents.c.source_id)
            .having(sa.func.count() > 1)
        ).all()
        added = connection.execute(sa.select(sa.func.sum(batches.c.added))).scalar_one()
    assert repeated == []
    assert added == count(store)  # every stored row was counted as added exactly once


def test_the_heartbeat_keeps_a_long_run_locked_and_a_dead_runs_lock_expires(store, tmp_path, api):
    path = write_config(tmp_path, api, lease=0.5)
    serve_acled(api, two_weeks_of_acled())
    read = api.routes["/api/acled/read"]
    # Four pages (Iraq 1-3, Syria 1) of 0.4 s: the run lasts three times its lease.
    api.routes["/api/acled/read"] = lambda r: Reply(**{**read(r).__dict__, "delay": 0.4})
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(refresh(store, path)))
    worker.start()
    threading.Event().wait(1.0)  # twice the lease: only the heartbeat keeps it
    with pytest.raises(RefreshBusy):
        refresh(store, path)
    worker.join()
    assert outcome[0].status == "ok"

    # A run that died: its run row says running and its lease is in the past.
    past = utc_now() - dt.timedelta(minutes=5)
    with store.write() as connection:
        run = refresh_runs.insert().values(
            started_at=past, status="running", trigger="cli", host="gone"
        )
        dead = connection.execute(run).inserted_primary_key[0]
        lapsed = dict(
            acquired_at=past, heartbeat_at=past, expires_at=past + dt.timedelta(seconds=1)
        )
        connection.execute(
            refresh_lock.insert().values(name="refresh", holder="gone:1:x", run_id=dead, **lapsed)
        )
    assert refresh(store, path).status == "ok"
    statuses = {r["id"]: r["status"] for r in recent_runs(store)}
    assert statuses[dead] == "abandoned"


# -- what the dashboard shows -------------------------------------------------------------------
def test_source_status_shows_freshness_and_stale_sources(store, tmp_path, api):
    path = write_config(tmp_path, api, url=True)
    serve_acled(api, two_weeks_of_acled())
    api.routes["/feed.csv"] = lambda _r: Reply(status=500)
    config = load_config(path)
    before = {s["name"]: s for s in source_status(store, config)}
    assert before["acled"]["last_success"] is None and not before["acled"]["stale"]
    assert before["acled"]["state"] == "never run"  # set-up, not staleness
    assert before["ucdp"]["enabled"] is False and before["ucdp"]["stale"] is False

    record = refresh(store, path)
    status = {s["name"]: s for s in source_status(store, config)}
    acled = status["acled"]
    assert acled["last_status"] == "ok" and acled["added"] == 7 and not acled["stale"]
    assert acled["last_success"] == acled["last_attempt"] and acled["state"] == "ok"
    assert acled["stale_after"] == dt.timedelta(days=14)  # twice the weekly schedule
    feed = status["feed"]
    assert feed["last_status"] == "failed" and feed["last_success"] is None and feed["stale"]
    assert "HTTP 500" in feed["last_error"] and feed["state"] == "failing, never loaded"
    later = record.finished_at + dt.timedelta(days=15)
    assert source_status(store, config, now=later)[1]["stale"] is True
    assert source_status(store, config, now=later)[1]["state"] == "stale"
    assert [r["status"] for r in recent_runs(store, 1)] == ["failed"]


# -- the model step -----------------------------------------------------------------------------
def test_retrain_reasons():
    target = SurgeTarget()
    now = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    fresh = {
        "target": target.as_dict(),
        "theatres_digest": "d",
        "created_at": "2024-02-20T00:00:00+00:00",
    }
    assert retrain_reason(fresh, target, "d", 28, now) is None
    assert retrain_reason(None, target, "d", 28, now) == "there is no model yet"
    assert "target" in retrain_reason(fresh, SurgeTarget(horizon=2), "d", 28, now)
    assert "theatre" in retrain_reason(fresh, target, "other", 28, now)
    assert "40 days old" in retrain_reason(fresh, target, "d", 28, now + dt.timedelta(days=30))


def test_the_model_is_rescored_and_retrained_only_when_due(store, tmp_path, api, monkeypatch):
    import risk.forecast.scores
    import risk.forecast.training

    path = write_config(tmp_path, api)
    serve_acled(api, two_weeks_of_acled())
    calls: list[str] = []

    class Scored:
        model_version, as_of = "v1", dt.date(2024, 1, 15)

    class Trained:
        class model:  # noqa: N801 - stands in for a SurgeModel
            version = "v1"

    def fake_train(*args, **kwargs):
        calls.append("train")
        return Trained()

    def fake_scores(*args, **kwargs):
        calls.append("score")
        return Scored()

    monkeypatch.setattr(risk.forecast.training, "train", fake_train)
    monkeypatch.setattr(risk.forecast.scores, "make_scores", fake_scores)
    theatres = load_theatres(ROOT / "data" / "theatres.toml")
    first = run_refresh(store, config=load_config(path), theatres=theatres, target=SurgeTarget())
    assert calls == ["train", "score"]  # no model yet
    assert first.model["retrained"] and first.model["scored_week"] == "2024-01-15"

    monkeypatch.setattr(
        risk.forecast.training,
        "model_metadata",
        lambda _store: {
            "target": SurgeTarget().as_dict(),
            "theatres_digest": risk.forecast.training.theatres_digest(theatres),
            "created_at": utc_now().isoformat(),
        },
    )
    calls.clear()
    second = run_refresh(store, config=load_config(path), theatres=theatres, target=SurgeTarget())
    assert calls == [] and second.model["status"] == "unchanged"


def test_too_little_data_to_train_is_recorded_not_a_failure(store, tmp_path, api):
    path = write_config(tmp_path, api)
    serve_acled(api, two_weeks_of_acled())
    record = run_refresh(store, config=load_config(path))
    assert record.status == "ok"
    assert record.model["status"] == "skipped" and record.model["note"]


def test_an_unknown_or_disabled_source_is_refused(store, tmp_path, api):
    path = write_config(tmp_path, api)
    with pytest.raises(ConfigError, match="no source named 'nope'"):
        refresh(store, path, only="nope")
    with pytest.raises(ConfigError, match="'ucdp' is disabled"):
        refresh(store, path, only="ucdp")
    assert recent_runs(store) == []


# -- the command line ---------------------------------------------------------------------------
def cli(*args: str, sources: Path, database_url: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        **{k: v for k, v in os.environ.items() if k != "RISK_THEATRES"},
        "RISK_DATABASE_URL": database_url,
        "RISK_SOURCES": str(sources),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "risk", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=120,
    )


def test_cli_refresh_prints_the_run_and_exits_nonzero_when_a_source_failed(
    sqlite_url, tmp_path, api
):
    path = write_config(tmp_path, api, url=True)
    serve_acled(api, two_weeks_of_acled())
    api.routes["/feed.csv"] = lambda _r: Reply(status=401, body=b"who are you?")

    ok = cli("refresh", "--source", "acled", "--json", sources=path, database_url=sqlite_url)
    assert ok.returncode == 0, ok.stderr
    run = json.loads(ok.stdout)
    assert (run["status"], run["added"], run["sources"][0]["name"]) == ("ok", 7, "acled")

    wrong = {"ACLED_PASSWORD": "nope-123"}
    failed = cli("refresh", sources=path, database_url=sqlite_url, **wrong)
    assert failed.returncode == 1
    assert "acled   acled   failed" in failed.stdout
    assert "feed: FAILED: feed: " in failed.stdout and "HTTP 401" in failed.stdout
    (line,) = failed.stderr.strip().splitlines()
    assert line.startswith("error: refresh run 2: 2 of 3 sources failed: acled, feed")
    assert "nope-123" not in failed.stdout + failed.stderr

    unknown = cli("refresh", "--source", "nope", sources=path, database_url=sqlite_url)
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("error: ") and "no source named 'nope'" in unknown.stderr


def test_cli_refresh_is_refused_while_another_runs(sqlite_url, tmp_path):
    path = write_config(tmp_path, None)
    store = Store(sqlite_url)
    now = utc_now()
    with store.write() as connection:
        live = dict(acquired_at=now, heartbeat_at=now, expires_at=now + dt.timedelta(minutes=10))
        connection.execute(
            refresh_lock.insert().values(
                name="refresh", holder="elsewhere:42:abc", run_id=7, **live
            )
        )
    store.dispose()
    busy = cli("refresh", sources=path, database_url=sqlite_url)
    assert busy.returncode == 1
    (line,) = busy.stderr.strip().splitlines()
    assert line.startswith("error: another refresh is running (run 7, started ")
    assert "on elsewhere:42" in line


# -- faults -------------------------------------------------------------------------------------
def _offset_in(pid: int, path: Path) -> int:
    """How far process ``pid`` has read into ``path`` (from /proc), 0 before it opens it."""
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            if os.readlink(fd) == str(path):
                info = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
                return int(info.split("pos:")[1].split()[0])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def test_killing_a_refresh_mid_load_leaves_the_store_and_the_next_run_completes(store, tmp_path):
    import random
    import signal
    import time

    path = write_config(tmp_path, None, lease=300)  # long lease: the dead pid must free it
    ingest_file(store, DATA / "acled_current.csv")
    before = snapshot(store)
    big = tmp_path / "incoming" / "big.csv"
    big.write_text(native_file("k", 300_000))
    env = {
        **os.environ,
        "RISK_DATABASE_URL": store.url,
        "RISK_SOURCES": str(path),
        "PYTHONPATH": str(ROOT),
    }
    rng = random.Random(5)
    for _ in range(2):
        process = subprocess.Popen(
            [sys.executable, "-m", "risk", "refresh"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        point = int(big.stat().st_size * rng.uniform(0.1, 0.9))
        deadline = time.monotonic() + 60
        while _offset_in(process.pid, big) < point and time.monotonic() < deadline:
            assert process.poll() is None, "the refresh ended before it could be killed"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert snapshot(store) == before
    record = refresh(store, path)  # not refused: the killed run's process is gone
    assert record.status == "ok" and record.added == 300_000
    statuses = [r["status"] for r in recent_runs(store)]
    assert statuses[0] == "ok" and statuses.count("abandoned") == 2


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_losing_the_postgresql_connection_fails_that_source_cleanly(
    postgres_server, database_url, tmp_path
):
    store = Store(database_url)
    path = write_config(tmp_path, None, lease=300)
    before = snapshot(store)
    (tmp_path / "incoming" / "big.csv").write_text(native_file("p", 200_000))
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(refresh(store, path)))
    worker.start()
    database = sa.make_url(database_url).database
    killer = sa.create_engine(postgres_server.url, isolation_level="AUTOCOMMIT")
    terminated = 0
    with killer.connect() as connection:
        for _ in range(600):  # wait until the load's transaction is writing, then cut it
            terminated = connection.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :db AND state <> 'idle' AND query ILIKE 'COPY incidents%'"
                ),
                {"db": database},
            ).scalar_one()
            if terminated or not worker.is_alive():
                break
            threading.Event().wait(0.05)
    killer.dispose()
    worker.join()
    assert terminated, "the load finished before its connection could be cut"
    record = outcome[0]
    assert record.status == "failed"
    (source,) = record.sources
    assert source.status == "failed" and source.error
    assert snapshot(store) == before, "nothing half-written"
    assert refresh(store, path).added == 200_000, "the next run completes"
    store.dispose()
