import datetime as dt
import threading

import pytest

from risk.schedule import check_cron, next_run, run_schedule, schedule_interval

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

    caplog.set_level("INFO", logger="risk.schedule")
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
