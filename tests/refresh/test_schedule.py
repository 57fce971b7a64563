import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from risk.refresh.runs import recent_runs, run_refresh
from risk.refresh.schedule import check_cron, next_run, run_schedule, schedule_interval
from risk.refresh.sources import load_config
from risk.store.database import Store

ROOT = Path(__file__).parents[2]

UTC = dt.UTC


def test_the_default_schedule_is_wednesday_0600_utc_weekly():
    monday = dt.datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    first = next_run("0 6 * * 3", monday)
    assert first == dt.datetime(2024, 1, 3, 6, 0, tzinfo=UTC)
    assert first.strftime("%A") == "Wednesday"
    assert next_run("0 6 * * 3", first) == dt.datetime(2024, 1, 10, 6, 0, tzinfo=UTC)
    assert schedule_interval("0 6 * * 3", monday) == dt.timedelta(days=7)
    # A time given in another zone means the same instant.
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert next_run("0 6 * * 3", monday.astimezone(plus_two)) == first


@pytest.mark.parametrize("expression", ["", "0 6 * *", "61 * * * *", "every wednesday"])
def test_bad_cron_lines_are_refused(expression):
    with pytest.raises(ValueError, match="is not a cron expression"):
        check_cron(expression)


def test_the_scheduler_fires_every_second_and_survives_a_failed_run(caplog):
    calls: list[dt.datetime] = []

    def job():
        calls.append(dt.datetime.now(UTC))
        if len(calls) == 1:
            raise RuntimeError("source exploded")

    caplog.set_level("INFO", logger="risk.refresh.schedule")
    runs = run_schedule(job, "* * * * * *", max_runs=3)
    assert runs == 3 and len(calls) == 3
    assert all(b > a for a, b in zip(calls, calls[1:], strict=False))
    assert "run 1 failed; the schedule goes on" in caplog.text
    assert "RuntimeError: source exploded" in caplog.text


def test_the_scheduler_stops_when_asked_between_runs():
    stop = threading.Event()
    calls = []

    def job():
        calls.append(1)
        stop.set()

    # run_now: the first run starts at once; then the stop request ends the wait for the next.
    assert run_schedule(job, "0 6 * * 3", stop=stop, run_now=True) == 1
    assert calls == [1]


def drop_folder_config(tmp_path: Path) -> Path:
    (tmp_path / "incoming").mkdir()
    path = tmp_path / "sources.toml"
    path.write_text('[[source]]\nname = "drop"\nkind = "folder"\npath = "incoming"\n')
    return path


def test_the_scheduler_runs_the_refresh_and_records_each_run(database_url, tmp_path):
    store = Store(database_url)
    config = load_config(drop_folder_config(tmp_path))
    (tmp_path / "incoming" / "log.csv").write_text(
        "id,date,country,event_type,fatalities\nx1,2024-01-02,Iraq,battle,1\n"
    )

    def job():
        run_refresh(store, config=config, trigger="schedule", update_model=False)

    assert run_schedule(job, "* * * * * *", max_runs=2) == 2
    runs = recent_runs(store)
    assert [(r["trigger"], r["status"]) for r in runs] == [("schedule", "ok")] * 2
    assert [r["added"] for r in runs] == [0, 1]  # newest first: the second run found nothing new
    store.dispose()


def test_python_m_risk_schedule_logs_runs_survives_failures_and_stops_on_sigterm(
    sqlite_url, tmp_path
):
    sources = drop_folder_config(tmp_path)
    (tmp_path / "incoming" / "bad.csv").write_text("not,an,incident\nfile,at,all\n")
    environment = {
        **{k: v for k, v in os.environ.items() if k != "RISK_THEATRES"},
        "RISK_DATABASE_URL": sqlite_url,
        "RISK_SOURCES": str(sources),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "risk", "schedule", "--cron", "* * * * * */2"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        runs: list[dict] = []
        while time.monotonic() < deadline and len(runs) < 2:
            time.sleep(0.5)
            store = Store(sqlite_url)
            runs = [r for r in recent_runs(store) if r["status"] != "running"]
            store.dispose()
        assert len(runs) >= 2, process.stderr.read() if process.poll() is not None else runs
        process.send_signal(signal.SIGTERM)
        _out, log = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, log
    assert all(r["status"] == "failed" and r["trigger"] == "schedule" for r in runs)
    assert "schedule started: cron '* * * * * */2' (UTC)" in log
    assert "drop failed: 0 added, 0 updated, 0 withdrawn: drop: 1 of 1 files" in log
    assert "run 2 finished: failed" in log  # the failed first run did not stop the schedule
    assert "received SIGTERM; stopping after the current run" in log
