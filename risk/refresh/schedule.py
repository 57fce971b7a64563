"""``python -m risk schedule``: run the refresh on a cron expression, for as long as it runs.

A long-running process of its own (under systemd, a container or ``nohup``), never a thread
inside the dashboard. Times are UTC. A failed run is logged and the next one still comes;
SIGTERM or Ctrl-C stops the loop between runs (a run in progress finishes first).
Cron expressions have five fields (minute hour day month weekday), or six with seconds last.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from croniter import croniter

log = logging.getLogger("risk.refresh.schedule")


def check_cron(expression: str) -> None:
    """Raise ValueError with a readable message unless ``expression`` is a usable cron line."""
    fields = expression.split()
    if len(fields) not in (5, 6) or not croniter.is_valid(expression):
        raise ValueError(
            f"{expression!r} is not a cron expression (five fields: minute hour day month "
            "weekday, e.g. '0 6 * * 3' for Wednesdays 06:00 UTC)"
        )


def next_run(expression: str, after: dt.datetime) -> dt.datetime:
    """The first time after ``after`` (UTC) that the expression fires."""
    check_cron(expression)
    return croniter(expression, after.astimezone(dt.UTC)).get_next(dt.datetime)


def schedule_interval(expression: str, around: dt.datetime | None = None) -> dt.timedelta:
    """The time between two consecutive runs (the next two after ``around``)."""
    first = next_run(expression, around or dt.datetime.now(dt.UTC))
    return next_run(expression, first) - first


def describe(expression: str) -> str:
    """The schedule in words for logs and the README, e.g. 'every 7 days, next ...'."""
    now = dt.datetime.now(dt.UTC)
    upcoming = next_run(expression, now)
    return (
        f"cron '{expression}' (UTC): next run {upcoming:%Y-%m-%d %H:%M:%S} UTC, then every "
        f"{_duration(schedule_interval(expression, now))}"
    )


def _duration(span: dt.timedelta) -> str:
    seconds = span.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} seconds"


def run_schedule(
    job: Callable[[], Any],
    expression: str,
    *,
    stop: threading.Event | None = None,
    run_now: bool = False,
    max_runs: int | None = None,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> int:
    """Call ``job`` at every time ``expression`` fires until ``stop`` is set; return the runs.

    An exception from ``job`` is logged with its traceback and the schedule goes on. With
    ``run_now`` the first run starts immediately. ``max_runs`` ends the loop after that many
    runs (for tests and one-off use).
    """
    check_cron(expression)
    stop = stop or threading.Event()
    runs = 0
    due = clock() if run_now else next_run(expression, clock())
    log.info("schedule started: %s", describe(expression))
    while not stop.is_set():
        wait = (due - clock()).total_seconds()
        if wait > 0:
            log.debug("next run at %s UTC", f"{due:%Y-%m-%d %H:%M:%S}")
            if stop.wait(wait):
                break
        runs += 1
        log.info("run %d starting", runs)
        try:
            job()
        except Exception:
            log.exception("run %d failed; the schedule goes on", runs)
        if max_runs is not None and runs >= max_runs:
            break
        # From the later of the planned time and now: a run longer than the interval skips
        # the times it overran instead of starting again at once.
        due = next_run(expression, max(due, clock()))
        log.info("next run at %s UTC", f"{due:%Y-%m-%d %H:%M:%S}")
    log.info("schedule stopped after %d run(s)", runs)
    return runs


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT end the schedule gracefully (after the run in progress)."""

    def handler(signum: int, _frame: Any) -> None:
        log.info("received %s; stopping after the current run", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
