"""``python -m risk``: the command line. Every command reads ``RISK_DATABASE_URL`` and takes
``--theatres FILE`` (else ``RISK_THEATRES``, else ``data/theatres.toml``).

Expected failures (a bad file, an unreachable database, a bad theatres file) print one line on
stderr starting with ``error:`` and exit with status 1; nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from risk.config import Settings, load_settings
from risk.forecast.target import TARGETS, SurgeTarget, settings_target
from risk.incidents.csv_reader import FileProblem
from risk.incidents.theatres import TheatreFileError, Theatres, load_theatres
from risk.store.database import Store, StoreError, redact_url

if TYPE_CHECKING:
    from risk.refresh.sources import RefreshConfig

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_SHOWN_REJECTIONS = 20


class CommandError(Exception):
    """A failure to report in one line."""


class Context:
    """What a command needs: settings, and the store and theatres opened on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Store | None = None
        self._theatres: Theatres | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.settings.database_url)
        return self._store

    @property
    def target(self) -> SurgeTarget:
        try:
            return settings_target(self.settings)
        except ValueError as error:
            raise CommandError(f"surge settings: {error}") from None

    @property
    def theatres(self) -> Theatres:
        if self._theatres is None:
            self._theatres = load_theatres(self.settings.theatres_path)
        return self._theatres

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()


def _print_json(payload: object) -> None:
    print(json.dumps(payload, indent=2, ensure_ascii=False, default=str))


def _table(rows: list[dict[str, object]], columns: Sequence[str]) -> str:
    cells = [[("" if row.get(c) is None else str(row.get(c))) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


# -- commands ---------------------------------------------------------------------------------
def cmd_init(args: argparse.Namespace, ctx: Context) -> int:
    """Create or upgrade the store; load the demo into an empty store once; train if needed."""
    from risk.forecast.scores import make_scores
    from risk.forecast.training import model_metadata, train
    from risk.store.demo import load_demo_once

    store = ctx.store
    theatres = ctx.theatres  # fail early on a bad theatres file
    report = load_demo_once(store) if ctx.settings.load_demo else None
    if report is not None:
        print(
            f"loaded the simulated demo data: {report.added:,} incidents (batch {report.batch_id})"
        )
    print(f"store ready at {redact_url(store.url)}")
    if model_metadata(store) is None:
        from risk.forecast.model import ModelError

        try:
            trained = train(store, theatres, ctx.target)
        except ModelError as error:
            print(f"no model trained yet: {error}")
            return EXIT_OK
        scored = make_scores(store, theatres, ctx.target, model=trained.model)
        print(f"trained model {trained.model.version}; scored the week of {scored.as_of}")
    return EXIT_OK


def cmd_train(args: argparse.Namespace, ctx: Context) -> int:
    from risk.forecast.scores import make_scores
    from risk.forecast.training import train

    report = train(ctx.store, ctx.theatres, ctx.target)
    scored = make_scores(ctx.store, ctx.theatres, ctx.target, model=report.model)
    summary = {
        "model_version": report.model.version,
        "target": ctx.target.name,
        "in_use": report.backtest.in_use,
        "estimator": report.backtest.estimator,
        "feature_set": report.backtest.feature_set,
        "counts_in_use": report.backtest.count_source,
        "training_window": report.model.metadata["training_window"],
        "candidates": report.candidates,
        "pooled": report.backtest.summary["pooled"],
        "scored_week": scored.as_of.isoformat(),
        "seconds": {k: round(v, 2) for k, v in report.seconds.items()},
    }
    if args.json:
        _print_json(summary)
        return EXIT_OK
    window = summary["training_window"]
    print(
        f"model {report.model.version}: trained on {window[0]} .. {window[1]}; forecaster in "
        f"use: {report.backtest.in_use}, chosen by nested backtest (lowest Brier score on weeks "
        "known before each cut-off) from:"
    )
    print(
        _table(
            _rounded(report.candidates),
            ["candidate", "brier", "bss", "roc_auc", "ece", "folds_chosen", "in_use"],
        )
    )
    print("the nested procedure's backtest, pooled:")
    print(_metrics_table(report.backtest.summary["pooled"]))
    print(_counts_line(report.backtest.summary["counts"]))
    print(f"scored the week of {scored.as_of}")
    return EXIT_OK


def _counts_line(counts: dict[str, object]) -> str:
    return (
        f"expected violent incidents ({counts['in_use']} in use): MAE {counts['mae']:.2f} "
        f"(naive {counts['naive_mae']:.2f}), CRPS {counts['crps']:.2f} (naive "
        f"{counts['naive_crps']:.2f}, zero {counts['zero_crps']:.2f}), 80% intervals held "
        f"{counts['coverage']:.0%}"
    )


def _rounded(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in rows]


def _metrics_table(block: dict[str, dict[str, object]]) -> str:
    def fmt(value: object) -> str:
        if value is None:
            return "n/a"
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    rows = [{"forecast": name, **{k: fmt(v) for k, v in m.items()}} for name, m in block.items()]
    return _table(rows, ["forecast", "roc_auc", "average_precision", "brier", "bss", "ece", "n"])


def cmd_backtest(args: argparse.Namespace, ctx: Context) -> int:
    from risk.forecast.backtest import run_backtest
    from risk.forecast.panel import weekly_panel

    panel = weekly_panel(ctx.store, ctx.theatres, ctx.target)
    result = run_backtest(panel, ctx.target)
    payload = result.as_json()
    payload["candidates"] = result.candidates
    if args.json:
        _print_json(payload)
        return EXIT_OK
    print(ctx.target.describe())
    print(
        f"nested backtest: {len(result.folds)} folds from {result.folds[0].cutoff.date()}; "
        f"forecaster in use: {result.in_use}"
        + (" (a baseline)" if payload["baseline_in_use"] else "")
    )
    print("pooled (model = the nested procedure):")
    print(_metrics_table(payload["pooled"]))
    print(_counts_line(payload["counts"]))
    rated = [t for t in payload["theatres"] if not t["too_few_positives"]]
    median = payload["median_theatre_auc"]
    print(
        f"per theatre, model ROC AUC and Brier skill (median AUC "
        f"{'n/a' if median is None else f'{median:.3f}'} over {len(rated)} theatres with enough "
        "positives):"
    )
    for theatre in payload["theatres"]:
        model = theatre["model"]
        note = (
            "too few positives"
            if theatre["too_few_positives"]
            else f"AUC {model['roc_auc']:.3f}, skill {model['bss']:+.3f}"
        )
        print(f"  {theatre['theatre']}: {note} ({theatre['positives']} positives)")
    return EXIT_OK


def _date_option(value: str | None, flag: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{flag} {value!r} is not a date (YYYY-MM-DD)") from None


def _replay_scores(args: argparse.Namespace, ctx: Context) -> int:
    """Score every week from --from to --to with the current model (builds a track record)."""
    from risk.forecast.panel import weekly_panel
    from risk.forecast.scores import make_scores
    from risk.forecast.training import latest_model

    start = _date_option(args.start, "--from")
    end = _date_option(args.end, "--to") or dt.date.today()
    if start is None:
        raise CommandError("--to needs --from: the first week to replay (YYYY-MM-DD)")
    if end < start:
        raise CommandError(f"--from {start} is after --to {end}")
    model = latest_model(ctx.store, ctx.target, ctx.theatres)
    panel = weekly_panel(ctx.store, ctx.theatres, ctx.target)
    weeks: list[str] = []
    from risk.forecast.model import ModelError

    day = start + dt.timedelta(days=6 - start.weekday())  # the Sunday ending start's week
    while day <= end + dt.timedelta(days=6 - end.weekday()):
        try:
            result = make_scores(
                ctx.store, ctx.theatres, ctx.target, as_of=day, model=model, panel=panel
            )
        except ModelError as error:
            if not weeks:
                raise
            print(f"stopped at {day}: {error}", file=sys.stderr)
            break
        if result.as_of.isoformat() not in weeks:
            weeks.append(result.as_of.isoformat())
        day += dt.timedelta(days=7)
    payload = {"model_version": model.version, "weeks": weeks}
    if args.json:
        _print_json(payload)
    else:
        print(
            f"stored the scores of {len(weeks)} weeks, {weeks[0]} .. {weeks[-1]}, with model "
            f"{model.version}; see them against what happened with: python -m risk track-record"
        )
    return EXIT_OK


def cmd_scores(args: argparse.Namespace, ctx: Context) -> int:
    from risk.forecast.scores import make_scores

    if args.start or args.end:
        if args.as_of:
            raise CommandError("use either --as-of DATE or --from DATE --to DATE")
        return _replay_scores(args, ctx)
    as_of = _date_option(args.as_of, "--as-of")
    result = make_scores(ctx.store, ctx.theatres, ctx.target, as_of=as_of)
    if args.json:
        _print_json(result.as_json())
        return EXIT_OK
    print(f"week of {result.as_of} (model {result.model_version})")
    print(f"forecaster in use: {result.in_use}; target: {ctx.target.name}")
    rows = [
        {
            "theatre": s.theatre,
            "probability": "" if s.probability is None else f"{s.probability:.0%}",
            "band": s.band or "",
            "expected violent (80%)": (
                ""
                if s.expected is None or s.interval is None
                else f"{s.expected:,.0f} [{s.interval[0]:,.0f}-{s.interval[1]:,.0f}]"
            ),
            "change": "" if s.change is None else f"{s.change * 100:+.0f} pts",
            "status": s.status,
        }
        for s in result.theatres
    ]
    print(
        _table(
            rows, ["theatre", "probability", "band", "expected violent (80%)", "change", "status"]
        )
    )
    for score in result.theatres:
        if score.drivers:
            print(f"{score.theatre}: {score.drivers[0].text}")
        if score.changed:
            print(f"{score.theatre}, since last week: {score.changed[0]}")
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace, ctx: Context) -> int:
    from risk.store.ingest import ingest_file

    covers = _period(args.covers) if args.covers else None
    reports, errors = [], []
    for path in args.paths:
        try:
            report = ingest_file(
                ctx.store,
                Path(path),
                file_format=args.format,
                origin="cli",
                theatres=ctx.theatres,
                covers=covers,
            )
        except FileProblem as problem:
            errors.append({"file": path, "error": str(problem)})
            print(f"error: {problem}", file=sys.stderr)
            continue
        if report is None:  # only a precondition can skip a load; ingest sets none
            continue
        reports.append(report)
        if not args.json:
            print(
                f"batch {report.batch_id}: {report.file} read as {report.read_as}\n"
                f"  {report.rows_read:,} rows read: {report.added:,} added, "
                f"{report.updated:,} updated, {report.duplicates:,} duplicates, "
                f"{report.rejected_count:,} rejected"
            )
            for rejection in report.rejected[:_SHOWN_REJECTIONS]:
                print(f"  line {rejection.line}: {rejection.reason}")
            if report.rejected_count > _SHOWN_REJECTIONS:
                print(f"  ... {report.rejected_count - _SHOWN_REJECTIONS:,} more (use --json)")
    if args.json:
        payload: dict[str, object] = {"batches": [r.as_json() for r in reports]}
        if errors:
            payload["errors"] = errors
        _print_json(payload)
    return EXIT_FAILED if errors else EXIT_OK


def _period(text: str) -> tuple[dt.date, dt.date]:
    """``START:END`` (ISO dates) as a pair of dates; a clear error otherwise."""
    start, sep, end = text.partition(":")
    try:
        if not sep:
            raise ValueError
        first, last = dt.date.fromisoformat(start.strip()), dt.date.fromisoformat(end.strip())
    except ValueError:
        raise CommandError(
            f"--covers {text!r} is not START:END with ISO dates, e.g. 2017-01-01:2019-12-31"
        ) from None
    if first > last:
        raise CommandError(f"--covers {text!r} ends before it starts")
    return first, last


def _day(text: str | None, flag: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{flag} {text!r} is not a date (YYYY-MM-DD)") from None


def cmd_weekly(args: argparse.Namespace, ctx: Context) -> int:
    """The panel's weekly counts per theatre: what the model and the surge rule see."""
    import math

    import pandas as pd

    from risk.forecast.panel import weekly_panel

    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    if args.theatre and args.theatre not in ctx.theatres.names:
        raise CommandError(
            f"--theatre {args.theatre!r} is not a theatre; `python -m risk theatres` lists them"
        )
    panel = weekly_panel(ctx.store, ctx.theatres, ctx.target)
    if args.theatre:
        panel = panel[panel["theatre"] == args.theatre]
    if start is not None:
        panel = panel[panel["week"] >= pd.Timestamp(start - dt.timedelta(days=start.weekday()))]
    if end is not None:
        panel = panel[panel["week"] <= pd.Timestamp(end)]

    def count(value: object) -> int | None:
        return (
            None
            if value is None or (isinstance(value, float) and math.isnan(value))
            else int(value)
        )

    rows = [
        {
            "week": r.week.date().isoformat(),
            "theatre": r.theatre,
            "source": r.source if r.covered else None,
            "covered": bool(r.covered),
            "incidents": count(r.incidents) if r.covered else None,
            "violent": count(r.violent) if r.covered else None,
            "fatalities": count(r.fatalities) if r.covered else None,
            "surge": bool(r.surge) if r.surge_known else None,
        }
        for r in panel.itertuples()
    ]
    if args.json:
        _print_json({"target": ctx.target.name, "weeks": rows})
    elif rows:
        columns = ["week", "theatre", "source", "covered", "incidents", "violent", "fatalities"]
        print(_table(rows, [*columns, "surge"]))
    else:
        print("no weeks to show: the store has no counted incidents in that selection")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace, ctx: Context) -> int:
    from risk.forecast.panel import theatre_coverage_end
    from risk.store.queries import theatre_sources, theatre_stats

    frame = theatre_stats(ctx.store, ctx.theatres)
    sources = theatre_sources(ctx.store, ctx.theatres)
    coverage_end = theatre_coverage_end(ctx.store, ctx.theatres)
    rows = [
        {
            "theatre": r.theatre,
            "incidents": int(r.incidents),
            "violent": int(r.violent),
            "fatalities": int(r.fatalities),
            "first_date": r.first_date.isoformat() if r.first_date else None,
            "last_date": r.last_date.isoformat() if r.last_date else None,
            "sources": sources.get(r.theatre, []),
            "coverage_end": (
                coverage_end[r.theatre].isoformat() if r.theatre in coverage_end else None
            ),
        }
        for r in frame.itertuples()
    ]
    total = sum(r["incidents"] for r in rows)
    if args.json:
        _print_json({"total_incidents": total, "theatres": rows})
    else:
        shown = [{**r, "sources": ", ".join(r["sources"])} for r in rows]
        columns = ["theatre", "incidents", "violent", "fatalities", "first_date", "last_date"]
        print(_table(shown, [*columns, "sources", "coverage_end"]))
        print(f"total incidents: {total:,}")
    return EXIT_OK


def cmd_batches(args: argparse.Namespace, ctx: Context) -> int:
    from risk.store.ingest import list_batches

    frame = list_batches(ctx.store)
    frame = frame[frame["status"] != "loading"]
    columns = [
        "id",
        "started_at",
        "file_name",
        "format",
        "origin",
        "rows_read",
        "added",
        "updated",
        "duplicates",
        "rejected",
        "withdrawn",
        "status",
    ]
    rows = [{c: getattr(r, c) for c in columns} for r in frame.itertuples()]
    if args.json:
        _print_json({"batches": rows})
    elif rows:
        for row in rows:
            row["started_at"] = str(row["started_at"])[:19]
        print(_table(rows, columns))
    else:
        print("no batches yet; load a file with: python -m risk ingest FILE")
    return EXIT_OK


def cmd_undo(args: argparse.Namespace, ctx: Context) -> int:
    from risk.store.ingest import undo_batch

    report = undo_batch(ctx.store, args.batch_id)
    print(
        f"batch {report.batch_id} undone: removed {report.removed:,} incidents it wrote, "
        f"restored {report.restored:,} earlier versions"
    )
    return EXIT_OK


def cmd_theatres(args: argparse.Namespace, ctx: Context) -> int:
    from risk.incidents.theatres import theatres_by_admin1
    from risk.store.queries import place_names, unmatched_places

    if args.unmatched:
        frame = unmatched_places(ctx.store, ctx.theatres)
        rows = [
            {
                "country": r.country,
                "admin1": r.admin1,
                "incidents": int(r.incidents),
                "canonical": r.canonical,
            }
            for r in frame.itertuples()
        ]
        if args.json:
            _print_json({"unmatched": rows, "incidents": sum(r["incidents"] for r in rows)})
        elif rows:
            print(_table(rows, ["country", "admin1", "incidents", "canonical"]))
            print(f'{sum(r["incidents"] for r in rows):,} incidents fall into "Other"')
        else:
            print('every stored incident matches a theatre; none falls into "Other"')
        return EXIT_OK
    if not args.by_admin1:
        for name in ctx.theatres.names:
            print(name)
        return EXIT_OK
    with ctx.store.read() as connection:
        found = place_names(connection).values()
    text = theatres_by_admin1(found, args.countries or None)
    if "[[theatre]]" not in text:
        raise CommandError("no stored incidents have an admin1 in those countries")
    print(text, end="")
    return EXIT_OK


def _refresh_config(ctx: Context) -> RefreshConfig:
    from risk.refresh.sources import ConfigError, load_config

    try:
        return load_config(ctx.settings.sources_path)
    except ConfigError as error:
        raise CommandError(str(error)) from None


def _print_run(record: dict[str, object]) -> None:
    started, finished = str(record["started_at"])[:19], str(record["finished_at"])[:19]
    print(f"refresh run {record['id']} ({record['status']}): {started} .. {finished} UTC")
    rows = []
    for source in record["sources"]:  # type: ignore[attr-defined]
        rows.append(
            {
                "source": source["name"],
                "kind": source["kind"],
                "status": source["status"],
                "added": source["added"],
                "updated": source["updated"],
                "withdrawn": source["withdrawn"],
                "batches": ", ".join(str(b) for b in source["batches"]),
            }
        )
    if rows:
        columns = ["source", "kind", "status", "added", "updated", "withdrawn", "batches"]
        print(_table(rows, columns))
    else:
        print("no source is enabled; enable one in the sources file")
    for source in record["sources"]:  # type: ignore[attr-defined]
        for note in source["notes"]:
            print(f"  {source['name']}: {note}")
        if source["error"]:
            print(f"  {source['name']}: FAILED: {source['error']}")
    model = record.get("model")
    if isinstance(model, dict):
        if model.get("status") == "scored":
            retrained = (
                f"retrained because {model['retrain_reason']}" if model.get("retrained") else ""
            )
            print(
                f"model {model['model_version']}: scored the week of {model['scored_week']}"
                + (f"; {retrained}" if retrained else "")
            )
        if model.get("note"):
            print(f"model: {model['note']}")
        if model.get("alerts"):
            print(f"alerts: {model['alerts']}")
    if record.get("error"):
        print(f"  run: FAILED: {record['error']}")


def cmd_refresh(args: argparse.Namespace, ctx: Context) -> int:
    """Pull the enabled sources, load what is new, rescore; exit 1 when any source failed."""
    from risk.refresh.runs import RefreshBusy, run_refresh
    from risk.refresh.sources import ConfigError

    config = _refresh_config(ctx)
    progress = None
    if not args.json and sys.stderr.isatty():

        def progress(message: str) -> None:
            print(f"... {message}", file=sys.stderr)

    try:
        record = run_refresh(
            ctx.store,
            config=config,
            theatres=ctx.theatres,
            target=ctx.target,
            only=args.source,
            trigger="cli",
            progress=progress,
        )
    except (RefreshBusy, ConfigError) as error:
        raise CommandError(str(error)) from None
    payload = record.as_json()
    if args.json:
        _print_json(payload)
    else:
        _print_run(payload)
    if record.status == "ok":
        return EXIT_OK
    failed = [s.name for s in record.failed]
    if failed:
        print(
            f"error: refresh run {record.id}: {len(failed)} of {len(record.sources)} sources "
            f"failed: {', '.join(failed)}; what failed was not stored, the rest was (details "
            "above)",
            file=sys.stderr,
        )
    else:
        print(f"error: refresh run {record.id} failed: {record.error}", file=sys.stderr)
    return EXIT_FAILED


def cmd_schedule(args: argparse.Namespace, ctx: Context) -> int:
    """Run the refresh on the configured cron line until stopped (SIGTERM or Ctrl-C)."""
    import logging
    import threading
    import time

    from risk.refresh.runs import RefreshBusy, run_refresh
    from risk.refresh.schedule import check_cron, run_schedule, stop_on_signals
    from risk.refresh.sources import ConfigError, load_config

    config = _refresh_config(ctx)
    cron = args.cron or config.cron
    try:
        check_cron(cron)
    except ValueError as error:
        raise CommandError(f"--cron: {error}") from None
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.Formatter.converter = time.gmtime  # log times in UTC, like the cron line
    log = logging.getLogger("risk.refresh.schedule")
    ctx.store  # noqa: B018 - fail now, not at the first run, when the database is unusable
    ctx.theatres  # noqa: B018

    def job() -> None:
        # The sources and theatres files are read again for every run, so edits apply at the
        # next run without a restart (a new cron line needs one).
        try:
            run_config = load_config(ctx.settings.sources_path)
            theatres = load_theatres(ctx.settings.theatres_path)
        except (ConfigError, TheatreFileError) as error:
            log.error("run skipped: %s", error)
            return
        try:
            record = run_refresh(
                ctx.store,
                config=run_config,
                theatres=theatres,
                target=ctx.target,
                trigger="schedule",
                progress=log.debug,
            )
        except RefreshBusy as error:
            log.warning("run skipped: %s", error)
            return
        for source in record.sources:
            level = logging.INFO if source.status == "ok" else logging.ERROR
            log.log(
                level,
                "run %d: %s %s: %d added, %d updated, %d withdrawn%s",
                record.id,
                source.name,
                source.status,
                source.added,
                source.updated,
                source.withdrawn,
                f": {source.error}" if source.error else "",
            )
        model = record.model or {}
        if model.get("note") or model.get("scored_week"):
            log.info(
                "run %d: model %s", record.id, model.get("note") or f"scored {model['scored_week']}"
            )
        level = logging.INFO if record.status == "ok" else logging.ERROR
        reason = f" ({record.error})" if record.error else ""
        log.log(level, "run %d finished: %s%s", record.id, record.status, reason)

    stop = threading.Event()
    stop_on_signals(stop)
    run_schedule(job, cron, stop=stop, run_now=args.now)
    return EXIT_OK


def cmd_extract(args: argparse.Namespace, ctx: Context) -> int:
    """Candidate incidents in a news report (a file or a URL), for review before loading."""
    from risk.news.extract import extract_incidents, native_csv, native_rows
    from risk.news.fetch import fetch_report, is_url
    from risk.news.reading import ReportProblem, read_report

    report_date = None
    if args.date:
        try:
            report_date = dt.date.fromisoformat(args.date)
        except ValueError:
            raise CommandError(f"--date {args.date!r} is not a date (YYYY-MM-DD)") from None
    try:
        if is_url(args.source):
            report = fetch_report(args.source)
        else:
            path = Path(args.source)
            try:
                data = path.read_bytes()
            except OSError as error:
                raise CommandError(f"{path}: cannot read it ({error.strerror})") from None
            report = read_report(data, name=path.name)
    except ReportProblem as problem:
        raise CommandError(str(problem)) from None
    report_date = report_date or report.published
    if report_date is None:
        raise CommandError(
            f"{report.origin}: the report's date is not in it; give it with --date YYYY-MM-DD"
        )
    extraction = extract_incidents(report, report_date)
    if args.csv:
        args.csv.write_bytes(native_csv(native_rows(extraction.incidents)))
    if args.json:
        _print_json(extraction.as_json())
        return EXIT_OK
    print(f"{extraction.title or report.origin} (report date {report_date})")
    rows = [
        {
            "date": c.date,
            "country": c.country,
            "location": c.location or "(country only)",
            "category": c.category,
            "actor1": c.actor1,
            "actor2": c.actor2,
            "fatalities": c.fatalities,
            "confidence": f"{c.confidence:.2f}",
        }
        for c in extraction.incidents
    ]
    if rows:
        print(_table(rows, list(rows[0])))
    else:
        print("no incidents found in this report")
    if args.csv:
        print(
            f"wrote {len(rows)} candidate incidents to {args.csv}; review, then: "
            f"python -m risk ingest {args.csv}"
        )
    return EXIT_OK


# -- the analyst's week: alerts, brief, track record, synchrony ---------------------------------
def cmd_alerts(args: argparse.Namespace, ctx: Context) -> int:
    """Evaluate the alert rules on the latest scores and send what is new."""
    from risk.report.alerts import AlertConfigError, run_alerts

    try:
        run = run_alerts(ctx.store, dry_run=args.dry_run)
    except AlertConfigError as error:
        raise CommandError(str(error)) from None
    if args.json:
        _print_json(run.as_json())
    else:
        week = f"the week of {run.as_of}" if run.as_of else "no scored week"
        print(f"{run.rules} rule(s), {week}: {len(run.fired)} fire")
        for firing in run.fired:
            print(f"  {firing.rule}: {firing.line()}")
        for channel in run.channels:
            reason = f": {channel.error}" if channel.error else ""
            print(
                f"  {channel.rule} by {channel.channel}: {channel.status} "
                f"({', '.join(channel.theatres)}){reason}"
            )
        if run.note:
            print(run.note)
    return EXIT_FAILED if run.failed else EXIT_OK


def cmd_brief(args: argparse.Namespace, ctx: Context) -> int:
    """Write the weekly brief as one self-contained HTML file (and a PDF with --pdf)."""
    from risk.report.brief import BriefError, build_brief, print_pdf

    as_of = _date_option(args.as_of, "--as-of")
    if args.out is None and args.pdf is None:
        raise CommandError("say where to write the brief: --out FILE.html and/or --pdf FILE.pdf")
    try:
        text = build_brief(ctx.store, ctx.theatres, ctx.target, as_of)
    except BriefError as error:
        raise CommandError(str(error)) from None
    out = args.out
    if out is not None:
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, self-contained)")
    if args.pdf is not None:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            source = out or Path(folder) / "brief.html"
            if out is None:
                source.write_text(text, encoding="utf-8")
            try:
                print_pdf(source, args.pdf)
            except BriefError as error:
                raise CommandError(str(error)) from None
        print(f"wrote {args.pdf} (printed by headless Chromium)")
    return EXIT_OK


def cmd_track_record(args: argparse.Namespace, ctx: Context) -> int:
    """Stored scores against what happened: Brier, skill, reliability, hits, coverage."""
    from risk.forecast.panel import weekly_panel
    from risk.forecast.track_record import WARNING_BAND, track_record
    from risk.forecast.training import model_metadata
    from risk.store.queries import backtest_frames

    panel = weekly_panel(ctx.store, ctx.theatres, ctx.target)
    metadata = model_metadata(ctx.store)
    backtest = backtest_frames(metadata)["reliability"] if metadata else None
    record = track_record(
        ctx.store,
        panel,
        ctx.target,
        None if backtest is None else backtest.to_dict("records"),
    )
    payload = record.as_json()
    if args.json:
        _print_json(payload)
        return EXIT_OK

    def fmt(value: float | None, pattern: str = "{:.3f}") -> str:
        return "n/a" if value is None else pattern.format(value)

    print(
        f"{record.forecasts:,} stored scores ({record.weeks:,} theatre-weeks"
        + (f", {record.first_week} .. {record.last_week}" if record.first_week else "")
        + f"); {record.resolved:,} out of sample with a known outcome, "
        f"{record.in_sample_resolved:,} in sample (replayed by a model trained on them)"
    )
    if not record.resolved:
        print(
            "no out-of-sample forecast has a known outcome yet: a forecast resolves "
            f"{ctx.target.horizon} weeks after its week, and counts when its model was trained "
            "before it"
        )
    print(
        f"Brier {fmt(record.brier)} against climatology {fmt(record.climatology_brier)}: "
        f"skill {fmt(record.skill, '{:+.3f}')}; counts inside their 80% interval: "
        f"{fmt(record.coverage, '{:.0%}')}"
    )
    if not record.theatres.empty:
        print(f"per theatre (a warning: band {WARNING_BAND} or above):")
        rows = _rounded(record.theatres.to_dict("records"))
        columns = ["theatre", "resolved", "surges", "warnings", "hits", "misses"]
        print(_table(rows, [*columns, "false_alarms", "brier", "skill"]))
    if record.in_sample_resolved:
        hindsight = record.in_sample
        print(
            f"in sample (not a track record): Brier {fmt(hindsight['brier'])} against "
            f"{fmt(hindsight['climatology_brier'])}, "
            f"coverage {fmt(hindsight['coverage'], '{:.0%}')}"
        )
    return EXIT_OK


def cmd_synchrony(args: argparse.Namespace, ctx: Context) -> int:
    """How theatres move together: weekly above-normal counts, linked-actor days, lead-lag."""
    from risk.forecast.panel import weekly_panel
    from risk.region.actors import ActorGroupsError, load_actor_groups
    from risk.region.synchrony import synchrony

    try:
        groups = load_actor_groups(args.actor_groups)
        result = synchrony(
            ctx.store,
            ctx.theatres,
            weekly_panel(ctx.store, ctx.theatres, ctx.target),
            groups,
            group=args.group,
            min_theatres=args.min_theatres,
            within=args.within,
            min_baseline=ctx.target.min_baseline,
        )
    except (ActorGroupsError, ValueError) as error:
        raise CommandError(str(error)) from None
    weekly = result.weekly.assign(week=result.weekly["week"].dt.date.astype(str))
    days = result.days.assign(date=result.days["date"].astype(str))
    if args.json:
        _print_json(
            {
                "group": result.group,
                "above_ratio": result.ratio,
                "min_theatres": result.min_theatres,
                "weekly": weekly.to_dict("records"),
                "linked_days": days.to_dict("records"),
                "lead_lag": _rounded(result.lead_lag.to_dict("records")),
                "co_surges": _rounded(result.co_surges.to_dict("records")),
            }
        )
        return EXIT_OK
    print(
        f"theatres above normal (violent incidents at least {result.ratio:g}x the 4 weeks "
        f"before), last {args.weeks} weeks:"
    )
    rows = weekly.tail(args.weeks).assign(above_names=lambda f: f["above_names"].str.join(", "))
    print(_table(rows.to_dict("records"), ["week", "theatres", "above", "surging", "above_names"]))
    print(
        f"days on which {result.min_theatres}+ theatres had violent incidents by "
        f"{result.group}: {len(days):,}"
    )
    if not days.empty:
        shown = days.tail(args.weeks).assign(
            theatre_names=lambda f: f["theatre_names"].str.join(", "),
            actors=lambda f: f["actors"].str.join(", "),
        )
        print(
            _table(
                shown.to_dict("records"),
                ["date", "theatres", "incidents", "theatre_names", "actors"],
            )
        )
    if not result.lead_lag.empty:
        print("strongest lead-lag correlations of weekly anomalies (lag in weeks):")
        print(
            _table(
                _rounded(result.lead_lag.head(10).to_dict("records")), list(result.lead_lag.columns)
            )
        )
    return EXIT_OK


def _add_week_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    from risk.region.actors import DEFAULT_GROUP

    alerts = add(
        "alerts", cmd_alerts, "check the alert rules on the latest scores; send what is new"
    )
    alerts.add_argument(
        "--dry-run", action="store_true", help="show what would be sent; send nothing"
    )
    alerts.add_argument("--json", action="store_true")
    brief = add("brief", cmd_brief, "write the weekly brief: one self-contained HTML file")
    brief.add_argument("--out", metavar="FILE.html", type=Path, help="write the HTML brief here")
    brief.add_argument(
        "--pdf", metavar="FILE.pdf", type=Path, help="also print it to PDF (Chromium)"
    )
    brief.add_argument("--as-of", metavar="DATE", help="the latest complete week on or before DATE")
    record = add("track-record", cmd_track_record, "stored scores against what happened since")
    record.add_argument("--json", action="store_true")
    sync = add("synchrony", cmd_synchrony, "how theatres move together; linked actors' days")
    sync.add_argument("--json", action="store_true")
    sync.add_argument(
        "--group", default=DEFAULT_GROUP, help=f"actor group (default {DEFAULT_GROUP!r})"
    )
    sync.add_argument("--actor-groups", metavar="FILE", type=Path, help="actor groups file")
    sync.add_argument("--min-theatres", type=int, default=3, help="theatres on one day (default 3)")
    sync.add_argument("--within", type=int, default=4, help="co-surge window in weeks (default 4)")
    sync.add_argument("--weeks", type=int, default=26, help="weeks and days printed (default 26)")


# -- parser -----------------------------------------------------------------------------------
def _add_target_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--target",
        choices=list(TARGETS),
        default=argparse.SUPPRESS,
        help="the surge target: 'default' (a rise ACLED's rule and a minimum absolute excess "
        "both call a surge), 'acled' (ACLED's rule as published) or 'significant'; "
        "default: $RISK_TARGET or 'default'",
    )


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--theatres",
        metavar="FILE",
        type=Path,
        default=argparse.SUPPRESS,
        help="theatres TOML file (default: $RISK_THEATRES or data/theatres.toml)",
    )
    parser = argparse.ArgumentParser(
        prog="python -m risk",
        description="Escalation-risk store, model and refresh. The database is "
        "$RISK_DATABASE_URL (default: SQLite file data/risk.db).",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable[..., int], help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, parents=[common])
        sub.set_defaults(handler=handler)
        return sub

    add("init", cmd_init, "create or upgrade the store; load the demo data into an empty store")
    ingest = add("ingest", cmd_ingest, "load incident files (ACLED, UCDP or native CSV)")
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument(
        "--format",
        default="auto",
        metavar="FORMAT",
        help="auto (default), acled, ucdp, native, or the NAME of a saved column mapping "
        "(data/formats/NAME.toml)",
    )
    ingest.add_argument("--json", action="store_true", help="print the batches as JSON")
    ingest.add_argument(
        "--covers",
        metavar="START:END",
        help="the period the file covers (ISO dates), for every country in it; weeks in it "
        "without incidents count as zero (default: each country's first to last date)",
    )
    stats = add("stats", cmd_stats, "incidents, violent incidents and fatalities per theatre")
    stats.add_argument("--json", action="store_true")
    listing = add("batches", cmd_batches, "list ingested batches")
    listing.add_argument("--json", action="store_true")
    training = add(
        "train", cmd_train, "choose the forecaster by nested backtest, fit it, store it, score"
    )
    training.add_argument("--json", action="store_true")
    backtest = add(
        "backtest", cmd_backtest, "nested rolling-origin backtest of the candidates and baselines"
    )
    backtest.add_argument("--json", action="store_true")
    scoring = add("scores", cmd_scores, "score the latest complete week (or --as-of DATE)")
    scoring.add_argument("--json", action="store_true")
    for sub in (training, backtest, scoring):
        _add_target_option(sub)
    scoring.add_argument(
        "--as-of",
        metavar="DATE",
        help="score the latest complete week on or before DATE (YYYY-MM-DD)",
    )
    scoring.add_argument(
        "--from",
        dest="start",
        metavar="DATE",
        help="replay: score every week from DATE to --to (default today) with the current model",
    )
    scoring.add_argument("--to", dest="end", metavar="DATE", help="last week to replay")
    _add_week_commands(add)
    listing_theatres = add(
        "theatres", cmd_theatres, "list the theatres, or write a file with one per admin1"
    )
    listing_theatres.add_argument(
        "--by-admin1",
        action="store_true",
        help="print a theatres file with one theatre per admin1 found in the store",
    )
    listing_theatres.add_argument(
        "--countries", nargs="+", metavar="COUNTRY", help="only these countries (with --by-admin1)"
    )
    extract = add(
        "extract",
        cmd_extract,
        "candidate incidents in a news report (.txt or .html file, or URL), to review and load",
    )
    extract.add_argument("source", metavar="FILE_OR_URL")
    extract.add_argument(
        "--date", metavar="YYYY-MM-DD", help="the report's date (default: read from the page)"
    )
    extract.add_argument("--json", action="store_true", help="print the candidates as JSON")
    extract.add_argument(
        "--csv", metavar="FILE", type=Path, help="write them as a native-format CSV to load"
    )
    listing_theatres.add_argument(
        "--unmatched",
        action="store_true",
        help='list the (country, admin1) values whose incidents fall into "Other", with counts',
    )
    listing_theatres.add_argument("--json", action="store_true", help="with --unmatched")
    weekly = add(
        "weekly",
        cmd_weekly,
        "the panel's weekly counts per theatre: source counted, covered, counts, surge",
    )
    weekly.add_argument("--theatre", metavar="NAME", help="only this theatre")
    weekly.add_argument("--from", dest="start", metavar="DATE", help="weeks from DATE")
    weekly.add_argument("--to", dest="end", metavar="DATE", help="weeks up to DATE")
    weekly.add_argument("--json", action="store_true")
    _add_target_option(weekly)
    undo = add("undo", cmd_undo, "undo a batch: remove what it added, restore what it replaced")
    undo.add_argument("batch_id", type=int)
    refresh = add(
        "refresh",
        cmd_refresh,
        "pull the enabled sources ($RISK_SOURCES or data/sources.toml), load what is new, "
        "rescore (and retrain when due); exit 1 when any source failed",
    )
    refresh.add_argument("--source", metavar="NAME", help="pull only this source")
    refresh.add_argument("--json", action="store_true", help="print the run record as JSON")
    schedule = add(
        "schedule",
        cmd_schedule,
        "run the refresh on the sources file's cron line (default Wednesdays 06:00 UTC) "
        "until stopped",
    )
    schedule.add_argument(
        "--cron", metavar="EXPR", help="use this cron line (UTC) instead of the sources file's"
    )
    schedule.add_argument("--now", action="store_true", help="also run once at start")
    return parser


def _expected_errors() -> tuple[type[Exception], ...]:
    """Errors reported in one line. The model module (scikit-learn, seconds to import) is
    imported only by the commands that use it, so only then can a ModelError occur."""
    errors: list[type[Exception]] = [FileProblem, TheatreFileError, StoreError, CommandError]
    model = sys.modules.get("risk.forecast.model")
    if model is not None:
        errors.append(model.ModelError)
    return tuple(errors)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = load_settings()
    if getattr(args, "theatres", None) is not None:
        settings = settings.with_overrides(theatres_path=args.theatres)
    if getattr(args, "target", None) is not None:
        settings = settings.with_overrides(target=args.target)
    ctx = Context(settings)
    try:
        return args.handler(args, ctx)
    except _expected_errors() as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except sa.exc.OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        print(
            f"error: database {redact_url(settings.database_url)} failed: {reason}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print(
            "error: interrupted; nothing was half-written (each file is one transaction)",
            file=sys.stderr,
        )
        return 130
    except Exception as error:  # a bug, not bad input: still one line unless debugging
        if os.environ.get("RISK_DEBUG"):
            traceback.print_exc()
        print(
            f"error: internal error {type(error).__name__}: {error} (a bug; please report it "
            "with the output of the same command run with RISK_DEBUG=1)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    finally:
        ctx.close()
