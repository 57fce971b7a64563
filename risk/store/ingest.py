"""Incident files into the store, one transaction and one audited batch per file; undo.

An incoming row whose (source, source id) is new is *added*. One that exists is *updated* when
it is a newer revision (ACLED's ``timestamp``) or, for sources without revision times, when its
content differs; otherwise it is a *duplicate*. Replaced versions go to ``incident_history`` so
that undoing a batch restores exactly what was there before.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from risk.incidents.child_reader import ChildReadFile, child_reader_wanted
from risk.incidents.csv_reader import FileProblem
from risk.incidents.formats import IncidentFile, LoadedChunk, Rejection, open_incident_file
from risk.incidents.theatres import Theatres
from risk.store import cells
from risk.store.database import (
    INCIDENT_FIELDS,
    Store,
    StoreError,
    batches,
    bulk_insert,
    coverage,
    incident_history,
    incidents,
    places,
    rejected_rows,
    utc_now,
)

T = TypeVar("T")

# Rejections whose full row is kept in memory for a preview; all are stored with the batch.
PREVIEW_REJECTIONS = 10_000
_LOOKUP_BATCH = 5_000
_INCIDENT_COLUMNS = ("source", "source_id", *INCIDENT_FIELDS, "batch_id")
# Columns that vary per row when a file is merged (source and batch are the file's own).
_ROW_COLUMNS = ("source_id", *INCIDENT_FIELDS)
_COMPARED = tuple(f for f in INCIDENT_FIELDS if f != "revision_time")
_DEFERRED_INDEX = "ix_incidents_event_date"


class _DryRun(Exception):
    """Raised inside the transaction to roll a preview back."""


@dataclass
class IngestReport:
    """What one ingest did (or, for a dry run, would do)."""

    file: str
    format: str
    read_as: str
    sha256: str = ""
    batch_id: int | None = None
    rows_read: int = 0
    added: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    rejected_count: int = 0
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    theatres: dict[str, int] = field(default_factory=dict)
    # Per country as the file spells it ("" for none): first and last date the load covers.
    coverage: dict[str, tuple[dt.date, dt.date]] = field(default_factory=dict)
    seconds: float = 0.0
    dry_run: bool = False

    def as_json(self) -> dict[str, object]:
        return {
            "batch_id": self.batch_id,
            "file": self.file,
            "format": self.format,
            "read_as": self.read_as,
            "sha256": self.sha256,
            "rows_read": self.rows_read,
            "added": self.added,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "rejected": [{"line": r.line, "reason": r.reason} for r in self.rejected],
            "first_date": self.first_date.isoformat() if self.first_date else None,
            "last_date": self.last_date.isoformat() if self.last_date else None,
            "theatres": self.theatres,
            "coverage": {
                country: [first.isoformat(), last.isoformat()]
                for country, (first, last) in self.coverage.items()
            },
        }


@dataclass
class UndoReport:
    batch_id: int
    removed: int
    restored: int


def _plain(series: pd.Series) -> list[object]:
    """Python values for the driver: None for missing, ISO strings for dates."""
    values = pa.array(series, from_pandas=True)
    if pa.types.is_timestamp(values.type):
        values = values.cast(pa.date32()).cast(pa.string())
    return values.to_pylist()


class _SeenIds:
    """Source ids met earlier in this file, kept as 64-bit hashes (8 bytes per row).

    Python's own string hash: six times faster than ``pd.util.hash_array`` on object arrays,
    and like it 64 bits wide; it differs between processes, which does not matter here.
    """

    def __init__(self) -> None:
        self._hashes: set[int] = set()
        self._chunks: list[tuple[np.ndarray, np.ndarray]] = []

    def repeats(self, ids: pd.Series) -> np.ndarray:
        """Mark ids seen before (earlier chunks or earlier in this chunk); remember the rest."""
        hashes = np.fromiter(map(hash, ids.tolist()), dtype=np.int64, count=len(ids))
        seen = self._hashes
        listed = hashes.tolist()
        if seen.isdisjoint(listed):  # the usual case, without a Python loop over the ids
            repeat = np.zeros(len(hashes), dtype=bool)
        else:
            repeat = np.fromiter((h in seen for h in listed), dtype=bool, count=len(hashes))
        repeat |= pd.Series(hashes).duplicated().to_numpy()
        fresh = hashes[~repeat]
        seen.update(fresh.tolist())
        self._chunks.append((fresh, ids.index.to_numpy()[~repeat]))
        return repeat

    def first_line(self, source_id: str) -> int | None:
        target = hash(source_id)
        for hashes, lines in self._chunks:
            found = np.flatnonzero(hashes == target)
            if found.size:
                return int(lines[found[0]])
        return None


# Fields an update may leave blank without blanking the stored value (a reduced export).
_FILLED = (
    "admin2",
    "location",
    "latitude",
    "longitude",
    "source_event_type",
    "actor1",
    "actor2",
    "notes",
    "source_text",
    "date_end",
    "date_precision",
    "geo_precision",
    "details",
)


def _keep_stored_fields(pair: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """Fill what an incoming row leaves blank from the stored version, where ``keep``.

    A row that updates a stored event never blanks a field the stored version has, unless it
    is a newer revision of that event (ACLED's ``timestamp``). A row without an admin1 keeps
    the stored place; a row without precision codes keeps the stored precision flags.
    """
    pair = pair.copy()
    keep_series = pd.Series(keep, index=pair.index)
    uncoded = {
        code: keep_series & pair[code].isna() for code in ("date_precision", "geo_precision")
    }
    for name in _FILLED:
        new, old = pair[name], pair[f"{name}_old"]
        if name in ("date_end",):
            old = pd.to_datetime(old).astype(new.dtype)
        elif name in ("latitude", "longitude"):
            old = pd.to_numeric(old, errors="coerce").astype(float)
        elif name in ("date_precision", "geo_precision"):
            old = pd.to_numeric(old, errors="coerce").round().astype("Int64")
        else:
            old = old.astype(object).where(old.notna(), None)
        fill = keep_series & new.isna() & old.notna()
        if fill.any():
            pair[name] = new.astype(object).where(~fill, old).astype(new.dtype)
    no_admin1 = keep_series & pair["admin1"].isna() & pair["place_id_old"].notna()
    pair["place_id"] = pair["place_id"].where(~no_admin1, pair["place_id_old"]).astype("int64")
    for flag, code in (("week_precise", "date_precision"), ("place_precise", "geo_precision")):
        stored = pair[f"{flag}_old"].astype(bool)
        pair[flag] = pair[flag].astype(bool) & ~(uncoded[code] & ~stored)
    return pair


class _Merge:
    """Merges validated chunks of one file into the store inside one transaction."""

    def __init__(self, connection: Connection, batch_id: int, source: str) -> None:
        self.conn = connection
        self.batch_id = batch_id
        self.source = source
        self.seen = _SeenIds()  # to reject an id repeated inside the file
        self.place_ids: dict[str, int] = {}
        self.counts: Counter[str] = Counter()
        self.inserted = cells.InsertedCells(connection, source)  # new events' weekly counts
        self.source_has_rows = (
            connection.execute(
                sa.select(incidents.c.id).where(incidents.c.source == source).limit(1)
            ).first()
            is not None
        )
        # Into an empty SQLite store, the date index is built once at the end (a sort) instead
        # of row by row. Inside the transaction: a rollback or a kill brings it back as it
        # was, and readers see the committed store (WAL). Not on PostgreSQL, where DROP INDEX
        # would lock readers out of the table for the whole load.
        self._deferred: list[sa.Index] = []
        if (
            connection.dialect.name == "sqlite"
            and connection.execute(sa.select(incidents.c.id).limit(1)).first() is None
        ):
            self._deferred = [i for i in incidents.indexes if i.name == _DEFERRED_INDEX]
            for index in self._deferred:
                connection.execute(sa.schema.DropIndex(index))

    def finish(self) -> None:
        """Rebuild what loading deferred; call once, after the last chunk."""
        for index in self._deferred:
            self.conn.execute(sa.schema.CreateIndex(index))
        self._deferred = []

    # -- places ---------------------------------------------------------------------------
    def _place_ids(self, frame: pd.DataFrame) -> pd.Series:
        country = frame["country"].fillna("").astype(str)
        admin1 = frame["admin1"].fillna("").astype(str)
        keys = country + "\x1f" + admin1
        missing = [k for k in keys.unique() if k not in self.place_ids]
        if missing:
            pairs = [tuple(k.split("\x1f", 1)) for k in missing]
            self._load_places(pairs)
            new = [p for p in pairs if "\x1f".join(p) not in self.place_ids]
            if new:
                self.conn.execute(places.insert(), [{"country": c, "admin1": a} for c, a in new])
                self._load_places(new)
        return keys.map(self.place_ids).astype("int64")

    def _load_places(self, pairs: list[tuple[str, ...]]) -> None:
        for start in range(0, len(pairs), 500):
            part = pairs[start : start + 500]
            query = sa.select(places.c.id, places.c.country, places.c.admin1).where(
                sa.tuple_(places.c.country, places.c.admin1).in_(part)
            )
            for pid, country, admin1 in self.conn.execute(query):
                self.place_ids[f"{country}\x1f{admin1}"] = pid

    # -- rows -----------------------------------------------------------------------------
    def _existing(self, source_ids: list[str]) -> pd.DataFrame:
        columns = [incidents.c.id, incidents.c.source_id, incidents.c.batch_id]
        columns += [incidents.c[name] for name in INCIDENT_FIELDS]
        frames = []
        for start in range(0, len(source_ids), _LOOKUP_BATCH):
            query = sa.select(*columns).where(
                incidents.c.source == self.source,
                incidents.c.source_id.in_(source_ids[start : start + _LOOKUP_BATCH]),
            )
            rows = self.conn.execute(query).all()
            if rows:
                frames.append(pd.DataFrame(rows, columns=[c.name for c in columns]))
        if not frames:
            return pd.DataFrame(columns=[c.name for c in columns])
        return pd.concat(frames, ignore_index=True)

    def add(self, prepared: _Prepared) -> list[Rejection]:
        """Merge one chunk; return its rejections (including repeats of earlier ids)."""
        chunk = prepared.chunk
        frame = chunk.incidents
        rejections = list(chunk.rejections)
        self.last_repeats = np.zeros(len(frame), dtype=bool)
        if frame.empty:
            return rejections
        repeat = self.seen.repeats(frame["source_id"])
        self.last_repeats = repeat
        for line, row in frame[repeat].iterrows():
            first = self.seen.first_line(row["source_id"])
            rejections.append(
                Rejection(
                    line=int(line),
                    reason=f"duplicate id {row['source_id']!r}: it is already on line {first}",
                    raw={k: str(v) for k, v in row.items()},
                )
            )
        if repeat.any():  # (a boolean selection copies every column, the notes too)
            frame = frame[~repeat]
        if frame.empty:
            return rejections
        frame = frame.assign(place_id=self._place_ids(frame), batch_id=self.batch_id)
        existing = (
            self._existing(frame["source_id"].tolist())
            if self.source_has_rows
            else pd.DataFrame(columns=["source_id"])
        )
        is_new = ~frame["source_id"].isin(existing["source_id"])
        new_rows = frame if is_new.all() else frame[is_new]
        if not new_rows.empty:
            if len(new_rows) == len(chunk.incidents):  # every row is new: values made ahead
                values = {**prepared.values, "place_id": new_rows["place_id"].tolist()}
                columns = [values[c] for c in _ROW_COLUMNS]
            else:
                columns = [_plain(new_rows[c]) for c in _ROW_COLUMNS]
            bulk_insert(
                self.conn,
                incidents,
                _ROW_COLUMNS,
                zip(*columns, strict=True),
                constants={"source": self.source, "batch_id": self.batch_id},
            )
            self.inserted.add(new_rows)
        self.counts["added"] += len(new_rows)
        if not is_new.all():
            self._merge_existing(frame[~is_new], existing)
        return rejections

    def _merge_existing(self, incoming: pd.DataFrame, existing: pd.DataFrame) -> None:
        # The canonical "id" (source:source_id) is not stored; the store's own id comes from
        # ``existing``.
        pair = (
            incoming.drop(columns=["id"])
            .reset_index()
            .merge(existing, on="source_id", suffixes=("", "_old"), how="left")
        )
        new_rev = pair["revision_time"].astype("Float64")
        old_rev = pd.to_numeric(pair["revision_time_old"], errors="coerce").astype("Float64")
        both_known = new_rev.notna() & old_rev.notna()
        newer = (both_known & (new_rev > old_rev)).fillna(False).to_numpy(dtype=bool)
        pair = _keep_stored_fields(pair, ~newer)
        differs = np.zeros(len(pair), dtype=bool)
        for name in _COMPARED:
            new, old = pair[name], pair[f"{name}_old"]
            if name in ("event_date", "date_end"):
                new, old = pd.to_datetime(new), pd.to_datetime(old)
            elif name in ("latitude", "longitude"):
                new, old = new.astype(float), pd.to_numeric(old, errors="coerce").astype(float)
            elif name in ("place_id", "fatalities"):
                new, old = new.astype("int64"), old.astype("int64")
            elif name in ("date_precision", "geo_precision"):
                new = new.astype("Float64")
                old = pd.to_numeric(old, errors="coerce").astype("Float64")
            elif name in ("violent", "week_precise", "place_precise"):
                new, old = new.astype(bool), old.astype(bool)
            else:
                new, old = new.astype(object), old.astype(object)
            same = (new == old) | (new.isna() & old.isna())
            differs |= ~same.fillna(False).to_numpy(dtype=bool)
        replace = np.where(
            both_known.fillna(False).to_numpy(dtype=bool),
            (new_rev > old_rev).fillna(False).to_numpy(dtype=bool),
            differs,
        )
        self.counts["updated"] += int(replace.sum())
        self.counts["duplicates"] += int((~replace).sum())
        if not replace.any():
            return
        changed = pair[replace]
        old_ids = [int(i) for i in changed["id"]]
        history_columns = [incidents.c.id, *(incidents.c[c] for c in _INCIDENT_COLUMNS)]
        for start in range(0, len(old_ids), _LOOKUP_BATCH):
            part = old_ids[start : start + _LOOKUP_BATCH]
            self.conn.execute(
                incident_history.insert().from_select(
                    ["replaced_by", "id", *_INCIDENT_COLUMNS],
                    sa.select(sa.literal(self.batch_id), *history_columns).where(
                        incidents.c.id.in_(part)
                    ),
                )
            )
            self.conn.execute(incidents.delete().where(incidents.c.id.in_(part)))
        columns = ("id", *_ROW_COLUMNS)
        changed = changed.assign(id=changed["id"].astype("int64"))
        bulk_insert(
            self.conn,
            incidents,
            columns,
            zip(*(_plain(changed[c]) for c in columns), strict=True),
            constants={"source": self.source, "batch_id": self.batch_id},
        )

    def store_rejections(self, rejections: list[Rejection]) -> None:
        if not rejections:
            return
        self.conn.execute(
            rejected_rows.insert(),
            [
                {
                    "batch_id": self.batch_id,
                    "line": r.line,
                    "row": r.row,
                    "reason": r.reason,
                    "raw": r.raw
                    if isinstance(r.raw, str)
                    else json.dumps(r.raw, ensure_ascii=False),
                }
                for r in rejections
            ],
        )


@dataclass
class _Prepared:
    """A validated chunk with what can be computed before it reaches the store."""

    chunk: LoadedChunk
    theatre_of_row: pd.Series | None
    # Per column (but place_id), the driver's values for every row: made in the reader thread.
    values: dict[str, list[object]]


def _prepare(chunk: LoadedChunk, theatres: Theatres | None) -> _Prepared:
    frame = chunk.incidents
    theatre_of_row = None if theatres is None or frame.empty else theatres.assign(frame)
    values = {c: _plain(frame[c]) for c in _ROW_COLUMNS if c != "place_id"}
    return _Prepared(chunk, theatre_of_row, values)


def _prefetched(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Iterate ``items`` in a background thread, ``depth`` ahead of the consumer.

    Parsing and validating the next chunk (mostly pyarrow and pandas, which release the GIL)
    then overlaps with writing the current one. Exceptions reach the consumer unchanged; when
    the consumer stops early the producer stops too. One chunk ahead is as fast as three for
    a 1M-row load and holds 70 MB less (bench/ingest.py).
    """
    buffer: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(kind: str, value: object) -> bool:
        """Hand over one entry; False once the consumer has stopped (never block on it)."""
        while not stop.is_set():
            try:
                buffer.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put("item", item):
                    return
            put("end", None)
        except BaseException as error:  # handed to the consumer, which re-raises it
            put("error", error)

    worker = threading.Thread(target=produce, name="ingest-reader", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = buffer.get()
            if kind == "end":
                return
            if kind == "error":
                raise value  # type: ignore[misc]
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


def ingest_file(
    store: Store,
    source: Path | str | BinaryIO,
    *,
    name: str | None = None,
    file_format: str = "auto",
    origin: str = "cli",
    theatres: Theatres | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    precondition: Callable[[Connection], bool] | None = None,
    max_rows: int | None = None,
    covers: tuple[dt.date, dt.date] | None = None,
) -> IngestReport | None:
    """Load one incident file as one batch, all or nothing.

    Raises :class:`risk.incidents.csv_reader.FileProblem` when the file cannot be used at all;
    the store is then unchanged. With ``dry_run`` everything is computed and then rolled back.
    ``precondition`` runs first inside the write transaction (holding the writer lock); when
    it returns False nothing is loaded and the result is None. A file with more than
    ``max_rows`` data rows is refused (FileProblem) and nothing is stored.

    The load records what it covers per country of the file: ``covers`` (first, last) when
    given (stated by the user, or the window an API pull asked for), else the file's own first
    and last date for that country.
    """
    if covers is not None and covers[0] > covers[1]:
        raise FileProblem(f"covered period {covers[0]} .. {covers[1]} ends before it starts")
    clock = time.perf_counter()
    incident_file: IncidentFile | ChildReadFile = open_incident_file(
        source, name=name, file_format=file_format
    )
    if child_reader_wanted(source):  # a big file: parsed on another core while rows are written
        incident_file = ChildReadFile(incident_file, Path(source), file_format)
    report = IngestReport(
        file=incident_file.name, format=incident_file.format, read_as="", dry_run=dry_run
    )
    started = utc_now()
    ingest_time = int(time.time())
    first_dates: list[pd.Timestamp] = []
    last_dates: list[pd.Timestamp] = []
    by_theatre: Counter[str] = Counter()
    ranges: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = {}
    try:
        with store.write() as connection:
            if precondition is not None and not precondition(connection):
                return None
            batch_id = connection.execute(
                batches.insert().values(
                    file_name=incident_file.name[:500],
                    sha256="",
                    format=incident_file.format,
                    origin=origin[:200],
                    started_at=started,
                    finished_at=started,
                    rows_read=0,
                    added=0,
                    updated=0,
                    duplicates=0,
                    rejected=0,
                    status="loading",
                )
            ).inserted_primary_key[0]
            merge = _Merge(connection, batch_id, incident_file.format)
            chunks = (_prepare(chunk, theatres) for chunk in incident_file.chunks(ingest_time))
            for prepared in _prefetched(chunks):
                chunk, theatre_of_row = prepared.chunk, prepared.theatre_of_row
                rejections = merge.add(prepared)
                merge.store_rejections(rejections)
                for rejection in rejections:
                    report.rejected_count += 1
                    keep_raw = report.rejected_count <= PREVIEW_REJECTIONS
                    report.rejected.append(
                        rejection if keep_raw else Rejection(rejection.line, rejection.reason, "")
                    )
                accepted = (
                    chunk.incidents[~merge.last_repeats]
                    if merge.last_repeats.any()
                    else chunk.incidents
                )
                if not accepted.empty:
                    first_dates.append(accepted["event_date"].min())
                    last_dates.append(accepted["event_date"].max())
                    _widen(ranges, accepted)
                    if theatre_of_row is not None:
                        kept = theatre_of_row[~merge.last_repeats]
                        by_theatre.update(kept.value_counts().to_dict())
                if max_rows is not None and incident_file.rows_read > max_rows:
                    raise FileProblem(
                        f"{incident_file.name}: more than {max_rows:,} rows, the limit for this "
                        "kind of load; split the file, or load it with: python -m risk ingest FILE"
                    )
                if progress:
                    progress(incident_file.rows_read)
            merge.finish()
            report.read_as = incident_file.read_as
            report.sha256 = incident_file.sha256
            report.rows_read = incident_file.rows_read
            report.added = merge.counts["added"]
            report.updated = merge.counts["updated"]
            report.duplicates = merge.counts["duplicates"]
            report.rejected.sort(key=lambda r: r.line)
            # A stated period is widened to the file's own events: they are data, so covered.
            report.coverage = {
                country: (
                    (min(covers[0], first.date()), max(covers[1], last.date()))
                    if covers
                    else (first.date(), last.date())
                )
                for country, (first, last) in sorted(ranges.items())
            }
            if report.coverage:
                connection.execute(
                    coverage.insert(),
                    [
                        {
                            "batch_id": batch_id,
                            "source": incident_file.format,
                            "country": country[:200],
                            "first_date": first,
                            "last_date": last,
                            "stated": covers is not None,
                        }
                        for country, (first, last) in report.coverage.items()
                    ],
                )
            connection.execute(
                batches.update()
                .where(batches.c.id == batch_id)
                .values(
                    sha256=report.sha256,
                    read_as=report.read_as,
                    finished_at=utc_now(),
                    rows_read=report.rows_read,
                    added=report.added,
                    updated=report.updated,
                    duplicates=report.duplicates,
                    rejected=report.rejected_count,
                    status="committed",
                )
            )
            if dry_run:
                raise _DryRun
            # The stored weekly counts, in the same transaction.
            cells.apply_batch(connection, batch_id, inserted=merge.inserted)
            report.batch_id = batch_id
    except _DryRun:
        pass
    finally:
        incident_file.close()
    if first_dates:
        report.first_date = min(first_dates).date()
        report.last_date = max(last_dates).date()
    report.theatres = dict(by_theatre.most_common())
    report.seconds = time.perf_counter() - clock
    return report


def _widen(ranges: dict[str, tuple[pd.Timestamp, pd.Timestamp]], accepted: pd.DataFrame) -> None:
    """Widen each country's (first, last) date with a chunk's accepted rows."""
    dates = accepted.groupby(accepted["country"].fillna(""))["event_date"].agg(["min", "max"])
    for country, first, last in dates.itertuples(name=None):
        if country in ranges:
            first, last = min(first, ranges[country][0]), max(last, ranges[country][1])
        ranges[country] = (first, last)


def _refuse_undo_before(batch_id: int, later: Sequence[int], what: str) -> None:
    """Undo goes backwards: a batch whose data later batches built on waits for them."""
    if later:
        shown = ", ".join(str(b) for b in later)
        raise StoreError(
            f"batch {batch_id} cannot be undone yet: later batch(es) {shown} {what}; "
            f"undo {'that' if len(later) == 1 else 'those'} first"
        )


def undo_batch(store: Store, batch_id: int) -> UndoReport:
    """Take a batch back out: remove what it added, restore what it replaced or withdrew."""
    with store.write() as connection:
        batch = connection.execute(sa.select(batches).where(batches.c.id == batch_id)).first()
        if batch is None:
            raise StoreError(f"there is no batch {batch_id}; `python -m risk batches` lists them")
        if batch.status == "undone":
            raise StoreError(f"batch {batch_id} was already undone at {batch.undone_at}")
        later = (
            connection.execute(
                sa.select(incident_history.c.replaced_by)
                .distinct()
                .where(
                    incident_history.c.batch_id == batch_id,
                    incident_history.c.replaced_by != batch_id,
                )
                .order_by(incident_history.c.replaced_by)
            )
            .scalars()
            .all()
        )
        _refuse_undo_before(batch_id, later, "replaced some of its incidents")
        # An event this batch replaced or withdrew that a later batch loaded again: putting
        # the old version back would make two versions of one event.
        again = (
            connection.execute(
                sa.select(incidents.c.batch_id)
                .distinct()
                .join(
                    incident_history,
                    sa.and_(
                        incident_history.c.source == incidents.c.source,
                        incident_history.c.source_id == incidents.c.source_id,
                    ),
                )
                .where(incident_history.c.replaced_by == batch_id, incidents.c.batch_id != batch_id)
                .order_by(incidents.c.batch_id)
            )
            .scalars()
            .all()
        )
        _refuse_undo_before(batch_id, again, "loaded again events it replaced or withdrew")
        cells.apply_batch(connection, batch_id, undo=True)  # before the rows move
        removed = connection.execute(
            incidents.delete().where(incidents.c.batch_id == batch_id)
        ).rowcount
        restored = connection.execute(
            sa.select(sa.func.count()).where(incident_history.c.replaced_by == batch_id)
        ).scalar_one()
        columns = ["id", *_INCIDENT_COLUMNS]
        connection.execute(
            incidents.insert().from_select(
                columns,
                sa.select(*(incident_history.c[c] for c in columns)).where(
                    incident_history.c.replaced_by == batch_id
                ),
            )
        )
        connection.execute(
            incident_history.delete().where(incident_history.c.replaced_by == batch_id)
        )
        connection.execute(
            batches.update()
            .where(batches.c.id == batch_id)
            .values(status="undone", undone_at=utc_now())
        )
    return UndoReport(batch_id=batch_id, removed=removed, restored=restored)


def list_batches(store: Store) -> pd.DataFrame:
    """All batches, newest first."""
    with store.read() as connection:
        rows = connection.execute(sa.select(batches).order_by(batches.c.id.desc())).all()
    return pd.DataFrame(rows, columns=[c.name for c in batches.columns])


def batch_rejections(store: Store, batch_id: int) -> pd.DataFrame:
    """The rows a batch rejected: line, reason and the row as written."""
    with store.read() as connection:
        rows = connection.execute(
            sa.select(rejected_rows.c.line, rejected_rows.c.reason, rejected_rows.c.raw)
            .where(rejected_rows.c.batch_id == batch_id)
            .order_by(rejected_rows.c.line)
        ).all()
    return pd.DataFrame(rows, columns=["line", "reason", "raw"])


@dataclass
class WithdrawReport:
    """What a withdrawal did: the batch that records it (None when nothing was stored)."""

    batch_id: int | None
    requested: int
    withdrawn: int


def withdraw_events(
    store: Store,
    source: str,
    source_ids: Iterable[str],
    *,
    name: str,
    origin: str = "cli",
) -> WithdrawReport:
    """Withdraw stored events by (source, source id) as one audited batch, all or nothing.

    For events their publisher deleted (ACLED's deleted endpoint). The withdrawn versions go
    to ``incident_history``, so :func:`undo_batch` on the returned batch puts them back. Ids
    that are not stored are ignored; when none is, nothing is written and ``batch_id`` is None.
    """
    wanted = sorted({str(i).strip() for i in source_ids if str(i).strip()})
    with store.write() as connection:
        found: list[int] = []
        for start in range(0, len(wanted), _LOOKUP_BATCH):
            found += connection.execute(
                sa.select(incidents.c.id).where(
                    incidents.c.source == source,
                    incidents.c.source_id.in_(wanted[start : start + _LOOKUP_BATCH]),
                )
            ).scalars()
        if not found:
            return WithdrawReport(batch_id=None, requested=len(wanted), withdrawn=0)
        now = utc_now()
        batch_id = connection.execute(
            batches.insert().values(
                file_name=name[:500],
                sha256="",
                format=source,
                origin=origin[:200],
                read_as=f"withdrawal of {len(found):,} {source} events",
                started_at=now,
                finished_at=now,
                rows_read=len(wanted),
                added=0,
                updated=0,
                duplicates=0,
                rejected=0,
                withdrawn=len(found),
                status="committed",
            )
        ).inserted_primary_key[0]
        history_columns = [incidents.c.id, *(incidents.c[c] for c in _INCIDENT_COLUMNS)]
        for start in range(0, len(found), _LOOKUP_BATCH):
            part = found[start : start + _LOOKUP_BATCH]
            connection.execute(
                incident_history.insert().from_select(
                    ["replaced_by", "id", *_INCIDENT_COLUMNS],
                    sa.select(sa.literal(batch_id), *history_columns).where(
                        incidents.c.id.in_(part)
                    ),
                )
            )
            connection.execute(incidents.delete().where(incidents.c.id.in_(part)))
        cells.apply_batch(connection, batch_id)
    return WithdrawReport(batch_id=batch_id, requested=len(wanted), withdrawn=len(found))
