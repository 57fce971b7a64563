"""``python -m risk``: the command line. Every command reads ``RISK_DATABASE_URL`` and takes
``--theatres FILE`` (else ``RISK_THEATRES``, else ``data/theatres.toml``).

Expected failures (a bad file, an unreachable database, a bad theatres file) print one line on
stderr starting with ``error:`` and exit with status 1; nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlalchemy as sa

from risk.config import Settings, load_settings
from risk.csv_stream import FileProblem
from risk.store import Store, StoreError, redact_url
from risk.theatres import TheatreFileError, Theatres, load_theatres

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
    """Create or upgrade the store; load the demo into an empty store once."""
    from risk.demo import load_demo_once

    store = ctx.store
    ctx.theatres  # noqa: B018 - fail early on a bad theatres file
    report = load_demo_once(store) if ctx.settings.load_demo else None
    if report is not None:
        print(
            f"loaded the simulated demo data: {report.added:,} incidents (batch {report.batch_id})"
        )
    print(f"store ready at {redact_url(store.url)}")
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace, ctx: Context) -> int:
    from risk.ingest import ingest_file

    reports, errors = [], []
    for path in args.paths:
        try:
            report = ingest_file(
                ctx.store, Path(path), file_format=args.format, origin="cli", theatres=ctx.theatres
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


def cmd_stats(args: argparse.Namespace, ctx: Context) -> int:
    from risk.queries import theatre_stats

    frame = theatre_stats(ctx.store, ctx.theatres)
    rows = [
        {
            "theatre": r.theatre,
            "incidents": int(r.incidents),
            "violent": int(r.violent),
            "fatalities": int(r.fatalities),
            "first_date": r.first_date.isoformat() if r.first_date else None,
            "last_date": r.last_date.isoformat() if r.last_date else None,
        }
        for r in frame.itertuples()
    ]
    total = sum(r["incidents"] for r in rows)
    if args.json:
        _print_json({"total_incidents": total, "theatres": rows})
    else:
        print(
            _table(
                rows, ["theatre", "incidents", "violent", "fatalities", "first_date", "last_date"]
            )
        )
        print(f"total incidents: {total:,}")
    return EXIT_OK


def cmd_batches(args: argparse.Namespace, ctx: Context) -> int:
    from risk.ingest import list_batches

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
    from risk.ingest import undo_batch

    report = undo_batch(ctx.store, args.batch_id)
    print(
        f"batch {report.batch_id} undone: removed {report.removed:,} incidents it wrote, "
        f"restored {report.restored:,} earlier versions"
    )
    return EXIT_OK


# -- parser -----------------------------------------------------------------------------------
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
    ingest.add_argument("--format", choices=["auto", "acled", "ucdp", "native"], default="auto")
    ingest.add_argument("--json", action="store_true", help="print the batches as JSON")
    stats = add("stats", cmd_stats, "incidents, violent incidents and fatalities per theatre")
    stats.add_argument("--json", action="store_true")
    listing = add("batches", cmd_batches, "list ingested batches")
    listing.add_argument("--json", action="store_true")
    undo = add("undo", cmd_undo, "undo a batch: remove what it added, restore what it replaced")
    undo.add_argument("batch_id", type=int)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = load_settings()
    if getattr(args, "theatres", None) is not None:
        settings = settings.with_overrides(theatres_path=args.theatres)
    ctx = Context(settings)
    try:
        return args.handler(args, ctx)
    except (FileProblem, TheatreFileError, StoreError, CommandError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except sa.exc.OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        print(
            f"error: database {redact_url(settings.database_url)} failed: {reason}",
            file=sys.stderr,
        )
        return EXIT_FAILED
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
