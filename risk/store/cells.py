"""Stored weekly counts ("cells"): incidents per place, box, week, source and category.

Every read of weekly counts used to group all incidents (seconds at a million). Instead the
counts are kept in ``weekly_cells`` and ``weekly_actor_cells`` and brought up to date by
every write in its own transaction: ingest and withdrawal add the rows the batch put into
``incidents`` and subtract the versions it moved to ``incident_history``; undo does the
reverse (:func:`apply_batch`). Rows whose counts reach zero are deleted.

Theatres are applied when cells are read (the theatres file can change, and can differ per
process). A theatre matches by place (country/admin1) or by coordinate boxes, the first in
file order. Places are a column of the cells, so only the boxes need the coordinates: cells
are kept per *box set*, the boxes of the file's box theatres in order, and ``box`` is the
first box theatre holding the event (-1: none). An incident's theatre is then the first of
(the theatre claiming its place, the ``box``-th box theatre): any theatres file with the same
boxes reads the same cells, and editing names, countries, regions or source priorities needs
no rebuild. A new box set is built on first read with one GROUP BY over all incidents, under
the writer lock (so no load runs meanwhile and two processes never build it twice); at most
:data:`KEEP_SETS` sets are kept, the least recently used dropped first.

The ``recount_*`` functions group the incidents directly: the oracle the tests compare the
cells with.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from risk.incidents.theatres import OTHER, Box, Theatres
from risk.store.database import (
    Store,
    StoreError,
    cell_sets,
    incident_history,
    incidents,
    places,
    stored_panels,
    utc_now,
    weekly_actor_cells,
    weekly_cells,
)

T = TypeVar("T")

KEEP_SETS = 4
# A set's last use is written at most this often (a read must rarely need the writer lock).
TOUCH_EVERY = dt.timedelta(hours=6)

_CELL_KEY = ("place_id", "box", "week", "source", "category", "week_precise")
_CELL_SUMS = ("incidents", "violent", "fatalities", "located", "latitude_sum", "longitude_sum")
_ACTOR_KEY = ("place_id", "box", "week", "source", "actor")
_EPOCH = dt.date(1970, 1, 1)


# -- box sets -----------------------------------------------------------------------------
def box_groups(theatres: Theatres) -> list[list[Box]]:
    """The boxes of each theatre that has any, in file order: what cells depend on."""
    return [[tuple(float(v) for v in box) for box in t.boxes] for t in theatres.theatres if t.boxes]


def _definition(groups: Sequence[Sequence[Box]]) -> tuple[str, str]:
    text = json.dumps([[list(box) for box in group] for group in groups])
    return hashlib.sha256(text.encode()).hexdigest(), text


def week_start(column: sa.ColumnElement, dialect: str) -> sa.ColumnElement:
    """Monday of the ISO week of a date column, in SQL."""
    if dialect == "postgresql":
        return sa.cast(sa.func.date_trunc("week", column), sa.Date)
    # SQLite: forward to the week's Sunday (the day itself if Sunday), then back 6 days.
    return sa.func.date(column, "weekday 0", "-6 days")


def _box_column(groups: Sequence[Sequence[Box]], table: sa.Table) -> sa.ColumnElement:
    """Index of the first box group holding the row's coordinates, -1 for none."""
    whens = []
    for index, group in enumerate(groups):
        inside = [
            sa.and_(
                table.c.longitude.between(lon_min, lon_max),
                table.c.latitude.between(lat_min, lat_max),
            )
            for lon_min, lat_min, lon_max, lat_max in group
        ]
        whens.append((sa.or_(*inside), index))
    if not whens:
        return sa.literal(-1, sa.SmallInteger)
    return sa.case(*whens, else_=-1)


def _cell_select(table: sa.Table, dialect: str, groups: list[list[Box]]) -> sa.Select:
    """Cells of the rows of ``table`` (incidents or history): key columns, then sums."""
    located = sa.and_(table.c.latitude.is_not(None), table.c.longitude.is_not(None))
    box = _box_column(groups, table).label("box")
    week = week_start(table.c.event_date, dialect).label("week")
    return sa.select(
        table.c.place_id,
        box,
        week,
        table.c.source,
        table.c.category,
        table.c.week_precise,
        sa.func.count().label("incidents"),
        sa.func.sum(sa.case((table.c.violent, 1), else_=0)).label("violent"),
        sa.func.sum(table.c.fatalities).label("fatalities"),
        sa.func.sum(sa.case((located, 1), else_=0)).label("located"),
        sa.func.coalesce(sa.func.sum(sa.case((located, table.c.latitude))), 0.0).label(
            "latitude_sum"
        ),
        sa.func.coalesce(sa.func.sum(sa.case((located, table.c.longitude))), 0.0).label(
            "longitude_sum"
        ),
    ).group_by(
        table.c.place_id,
        sa.literal_column("box"),
        sa.literal_column("week"),
        table.c.source,
        table.c.category,
        table.c.week_precise,
    )


def _actor_select(
    table: sa.Table,
    dialect: str,
    groups: list[list[Box]],
    condition: sa.ColumnElement[bool] | None = None,
) -> sa.Select:
    """Actor cells of the week-precise rows of ``table`` (where ``condition``): both sides of
    each incident. The condition goes inside both sides, where an index can serve it."""
    sides = sa.union_all(
        *(
            sa.select(
                table.c.place_id,
                _box_column(groups, table).label("box"),
                week_start(table.c.event_date, dialect).label("week"),
                table.c.source,
                actor.label("actor"),
            ).where(
                sa.true() if condition is None else condition,
                table.c.week_precise,
                actor.is_not(None),
            )
            for actor in (table.c.actor1, table.c.actor2)
        )
    ).subquery()
    return sa.select(
        sides.c.place_id,
        sides.c.box,
        sides.c.week,
        sides.c.source,
        sides.c.actor,
        sa.func.count().label("incidents"),
    ).group_by(sides.c.place_id, sides.c.box, sides.c.week, sides.c.source, sides.c.actor)


def _find_set(connection: Connection, fingerprint: str) -> tuple[int, dt.datetime] | None:
    row = connection.execute(
        sa.select(cell_sets.c.id, cell_sets.c.last_used).where(
            cell_sets.c.fingerprint == fingerprint
        )
    ).first()
    return None if row is None else (int(row.id), row.last_used)


def _build(store: Store, groups: list[list[Box]]) -> None:
    """Create and fill the set for ``groups`` unless another process did; drop old sets."""
    fingerprint, text = _definition(groups)
    # The writer lock: no load changes incidents while the set is counted, and a second
    # process building the same set waits here, then finds it.
    with store.write() as connection:
        if _find_set(connection, fingerprint) is not None:
            return
        now = utc_now()
        set_id = connection.execute(
            cell_sets.insert().values(
                fingerprint=fingerprint, definition=text, built_at=now, last_used=now
            )
        ).inserted_primary_key[0]
        cells = _cell_select(incidents, store.dialect, groups).subquery()
        connection.execute(
            weekly_cells.insert().from_select(
                ["set_id", *_CELL_KEY, *_CELL_SUMS],
                sa.select(sa.literal(set_id), *(cells.c[c] for c in (*_CELL_KEY, *_CELL_SUMS))),
            )
        )
        actors = _actor_select(incidents, store.dialect, groups).subquery()
        connection.execute(
            weekly_actor_cells.insert().from_select(
                ["set_id", *_ACTOR_KEY, "incidents"],
                sa.select(sa.literal(set_id), *(actors.c[c] for c in (*_ACTOR_KEY, "incidents"))),
            )
        )
        old = (
            connection.execute(
                sa.select(cell_sets.c.id)
                .order_by(cell_sets.c.last_used.desc(), cell_sets.c.id.desc())
                .offset(KEEP_SETS)
            )
            .scalars()
            .all()
        )
        if old:
            for table in (weekly_cells, weekly_actor_cells):
                connection.execute(table.delete().where(table.c.set_id.in_(old)))
            connection.execute(cell_sets.delete().where(cell_sets.c.id.in_(old)))


def _touch(store: Store, set_id: int, last_used: dt.datetime | None) -> None:
    now = utc_now()
    if last_used is not None:
        last_used = last_used if last_used.tzinfo else last_used.replace(tzinfo=dt.UTC)
        if now - last_used < TOUCH_EVERY:
            return
    with store.write() as connection:
        connection.execute(cell_sets.update().where(cell_sets.c.id == set_id).values(last_used=now))


def with_cells(
    store: Store, theatres: Theatres, read: Callable[[Connection, int, Theatres], T]
) -> T:
    """``read(connection, set_id, theatres)`` on the cells of the theatres' box set, building
    the set first when it is not stored (one snapshot: the set cannot vanish mid-read)."""
    groups = box_groups(theatres)
    fingerprint, _ = _definition(groups)
    for _attempt in range(3):
        with store.read() as connection:
            found = _find_set(connection, fingerprint)
            if found is not None:
                result = read(connection, found[0], theatres)
                break
        _build(store, groups)
    else:  # evicted by other processes three times over: more box sets in use than kept
        raise StoreError(
            f"the stored weekly counts for these theatre boxes were dropped three times while "
            f"being read: more than {KEEP_SETS} theatres files with different boxes are in use "
            "on this store; use fewer, or raise risk.store.cells.KEEP_SETS"
        )
    _touch(store, found[0], found[1])
    return result


def stored_sets(store: Store) -> pd.DataFrame:
    """The stored cell sets: id, fingerprint, definition, built_at, last_used."""
    with store.read() as connection:
        rows = connection.execute(sa.select(cell_sets).order_by(cell_sets.c.id)).all()
    return pd.DataFrame(rows, columns=[c.name for c in cell_sets.columns])


# -- keeping cells up to date -------------------------------------------------------------
class InsertedCells:
    """Cells of the rows a load inserts as new events, counted from its frames: a big load
    then needs no GROUP BY over its own rows at the end (8 s at 1M, 1 s this way).

    Each chunk is kept as a few small integer columns (texts as codes, about 40 bytes a row)
    and everything is grouped once, by :func:`apply_batch`. Make it inside the load's
    write transaction (sets are only built under the writer lock, so they cannot change
    before the load commits).
    """

    def __init__(self, connection: Connection, source: str) -> None:
        self.source = source
        self.sets = [
            (set_id, [[tuple(box) for box in group] for group in json.loads(definition)])
            for set_id, definition in connection.execute(
                sa.select(cell_sets.c.id, cell_sets.c.definition)
            )
        ]
        self._parts: list[pd.DataFrame] = []
        self._codes: dict[str, dict[str, int]] = {"category": {}, "actor": {}}

    def add(self, rows: pd.DataFrame) -> None:
        """Keep ``rows`` (as inserted: place_id, event_date, category, violent, fatalities,
        latitude, longitude, actor1, actor2, week_precise) to be counted."""
        if not self.sets or rows.empty:
            return
        days = rows["event_date"].to_numpy().astype("datetime64[D]").astype("int64")
        latitude = rows["latitude"].to_numpy(dtype=float, na_value=np.nan)
        longitude = rows["longitude"].to_numpy(dtype=float, na_value=np.nan)
        located = ~(np.isnan(latitude) | np.isnan(longitude))
        kept = {
            "place_id": rows["place_id"].to_numpy(dtype="int64"),
            "week": (days - (days + 3) % 7).astype("int32"),  # Monday; 1970-01-01: a Thursday
            "category": self._code("category", rows["category"]),
            "week_precise": rows["week_precise"].to_numpy(dtype=bool),
            "violent": rows["violent"].to_numpy(dtype=bool).astype("int8"),
            "fatalities": rows["fatalities"].to_numpy(dtype="int64"),
            "located": located.astype("int8"),
            "latitude_sum": np.where(located, latitude, 0.0),
            "longitude_sum": np.where(located, longitude, 0.0),
            "actor1": self._code("actor", rows["actor1"]),
            "actor2": self._code("actor", rows["actor2"]),
        }
        for set_id, groups in self.sets:
            box = np.full(len(rows), -1, dtype="int16")  # as weekly_cells.box
            for index, group in reversed(list(enumerate(groups))):  # the first group wins
                inside = np.zeros(len(rows), dtype=bool)
                for lon_min, lat_min, lon_max, lat_max in group:
                    inside |= (
                        (longitude >= lon_min)
                        & (longitude <= lon_max)
                        & (latitude >= lat_min)
                        & (latitude <= lat_max)
                    )
                box[inside] = index
            kept[f"box_{set_id}"] = box
        self._parts.append(pd.DataFrame(kept))

    def _code(self, kind: str, values: pd.Series) -> np.ndarray:
        """Small integer codes for texts, the same across chunks; -1 for missing."""
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        known = self._codes[kind]
        remap = np.array([known.setdefault(u, len(known)) for u in uniques] + [-1], "int32")
        return remap[codes]  # (a code of -1 takes the last entry: -1)

    def counts(self, set_id: int) -> tuple[dict[tuple, list[float]], dict[tuple, int]]:
        """Set ``set_id``'s cells (key as in weekly_cells -> sums) and actor cells (key ->
        incidents) of the rows kept so far."""
        if not self._parts or set_id not in dict(self.sets):
            return {}, {}
        rows = pd.concat(self._parts, ignore_index=True).rename(columns={f"box_{set_id}": "box"})
        categories = list(self._codes["category"])
        actors_named = list(self._codes["actor"])
        key = ["place_id", "box", "week", "category", "week_precise"]
        summed = rows.assign(incidents=1).groupby(key, sort=False)[list(_CELL_SUMS)].sum()
        cells = {
            (place, box, self._day(week), self.source, categories[category], precise): list(
                _python(tuple(values))
            )
            for (place, box, week, category, precise), values in zip(
                _python_keys(summed.index), summed.itertuples(index=False), strict=True
            )
        }
        sides = [
            rows.loc[
                rows["week_precise"] & (rows[side] >= 0), ["place_id", "box", "week", side]
            ].rename(columns={side: "actor"})
            for side in ("actor1", "actor2")
        ]
        counted = pd.concat(sides).groupby(["place_id", "box", "week", "actor"], sort=False).size()
        actors = {
            (place, box, self._day(week), self.source, actors_named[actor]): int(n)
            for (place, box, week, actor), n in zip(
                _python_keys(counted.index), counted.to_numpy(), strict=True
            )
        }
        return cells, actors

    @staticmethod
    def _day(days: int) -> dt.date:
        return _EPOCH + dt.timedelta(days=days)


def _python(values: tuple) -> tuple:
    """NumPy scalars as the Python values the database drivers take."""
    return tuple(v.item() if isinstance(v, np.generic) else v for v in values)


def _python_keys(index: pd.MultiIndex) -> list[tuple]:
    return [_python(key) for key in index]


def apply_batch(
    connection: Connection,
    batch_id: int,
    *,
    undo: bool = False,
    inserted: InsertedCells | None = None,
) -> None:
    """Bring every stored set up to date with what batch ``batch_id`` did, in ``connection``'s
    transaction.

    After an ingest or withdrawal: + the batch's rows in ``incidents``, - the versions it moved
    to ``incident_history``. For an undo, call before the undo moves anything (``undo=True``):
    the same rows with the signs reversed. ``inserted``: the ingest's new events, already
    counted; only the batch's other rows (new versions of stored events) are grouped here.
    """
    sets = connection.execute(sa.select(cell_sets.c.id, cell_sets.c.definition)).all()
    if not sets:
        return
    dialect = connection.dialect.name
    sign = -1 if undo else 1
    in_batch = incidents.c.batch_id == batch_id
    if inserted is not None:  # new versions keep the id of the version they replaced
        in_batch = sa.and_(
            in_batch,
            incidents.c.id.in_(
                sa.select(incident_history.c.id).where(incident_history.c.replaced_by == batch_id)
            ),
        )
    parts = [
        (incidents, in_batch, sign),
        (incident_history, incident_history.c.replaced_by == batch_id, -sign),
    ]
    replaced_any = connection.execute(
        sa.select(sa.exists().where(incident_history.c.replaced_by == batch_id))
    ).scalar()
    if inserted is not None and not replaced_any:  # only new events: all counted already
        parts = []
    for set_id, definition in sets:
        groups = [[tuple(box) for box in group] for group in json.loads(definition)]
        cells, actors = inserted.counts(set_id) if inserted else ({}, {})
        for table, condition, factor in parts:
            for row in connection.execute(_cell_select(table, dialect, groups).where(condition)):
                key = (row.place_id, row.box, _day(row.week), *row[3:6])
                sums = cells.setdefault(key, [0, 0, 0, 0, 0.0, 0.0])
                for i, value in enumerate(row[6:]):
                    sums[i] += factor * (value or 0)
            for row in connection.execute(_actor_select(table, dialect, groups, condition)):
                key = (row.place_id, row.box, _day(row.week), row.source, row.actor)
                actors[key] = actors.get(key, 0) + factor * row.incidents
        _upsert(
            connection,
            weekly_cells,
            _CELL_KEY,
            _CELL_SUMS,
            [
                {
                    "set_id": set_id,
                    **dict(zip(_CELL_KEY, k, strict=True)),
                    **dict(zip(_CELL_SUMS, v, strict=True)),
                }
                for k, v in cells.items()
                if any(v)
            ],
        )
        _upsert(
            connection,
            weekly_actor_cells,
            _ACTOR_KEY,
            ("incidents",),
            [
                {"set_id": set_id, **dict(zip(_ACTOR_KEY, k, strict=True)), "incidents": n}
                for k, n in actors.items()
                if n
            ],
        )
    for table in (weekly_cells, weekly_actor_cells):
        connection.execute(table.delete().where(table.c.incidents == 0))


def _day(value: object) -> dt.date:
    """SQLite returns dates computed in SQL as text."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _upsert(
    connection: Connection,
    table: sa.Table,
    key: Sequence[str],
    sums: Sequence[str],
    rows: list[dict[str, Any]],
) -> None:
    """Add ``rows`` to ``table``: insert new keys, add the sums onto existing ones."""
    if not rows:
        return
    # Imported here: the PostgreSQL dialect costs a page's first run a noticeable import.
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    insert = dialect_insert(table)
    statement = insert.on_conflict_do_update(
        index_elements=["set_id", *key],
        set_={name: table.c[name] + insert.excluded[name] for name in sums},
    )
    connection.execute(statement, rows)


# -- reading ------------------------------------------------------------------------------
def _theatre_of_cell(
    connection: Connection, theatres: Theatres, table: sa.Table
) -> sa.ColumnElement[str]:
    """The theatre of a cell: the first theatre claiming its place or holding its box."""
    claimed: dict[int, list[int]] = {}
    for pid, country, admin1 in connection.execute(
        sa.select(places.c.id, places.c.country, places.c.admin1)
    ):
        index = theatres.place_theatre(country or None, admin1 or None)
        if index is not None:
            claimed.setdefault(index, []).append(pid)
    whens = []
    box = 0
    for index, theatre in enumerate(theatres.theatres):
        conditions: list[sa.ColumnElement[bool]] = []
        if claimed.get(index):
            # Our own integer ids, inline: no bound-parameter limit for many places.
            ids = sa.bindparam(
                f"cell_places_{index}", sorted(claimed[index]), expanding=True, literal_execute=True
            )
            conditions.append(table.c.place_id.in_(ids))
        if theatre.boxes:
            conditions.append(table.c.box == box)
            box += 1
        if conditions:
            whens.append((sa.or_(*conditions), sa.literal(theatre.name)))
    if not whens:
        return sa.literal(OTHER).label("theatre")
    return sa.case(*whens, else_=sa.literal(OTHER)).label("theatre")


def _frame_weeks(frame: pd.DataFrame) -> pd.DataFrame:
    frame["week"] = pd.to_datetime(frame["week"]).astype("datetime64[us]")
    return frame


def weekly_counts(store: Store, theatres: Theatres) -> pd.DataFrame:
    """Long frame: theatre, week, source, category, incidents, violent, fatalities.

    Events dated only to a span longer than a week (``week_precise`` false) are left out.
    """

    def read(connection: Connection, set_id: int, current: Theatres) -> list[Any]:
        cells = weekly_cells
        theatre = _theatre_of_cell(connection, current, cells)
        query = (
            sa.select(
                theatre,
                cells.c.week,
                cells.c.source,
                cells.c.category,
                sa.func.sum(cells.c.incidents),
                sa.func.sum(cells.c.violent),
                sa.func.sum(cells.c.fatalities),
            )
            .where(cells.c.set_id == set_id, cells.c.week_precise)
            .group_by(sa.literal_column("theatre"), cells.c.week, cells.c.source, cells.c.category)
        )
        return connection.execute(query).all()

    columns = ["theatre", "week", "source", "category", "incidents", "violent", "fatalities"]
    frame = _frame_weeks(pd.DataFrame(with_cells(store, theatres, read), columns=columns))
    for column in ("incidents", "violent", "fatalities"):
        frame[column] = frame[column].astype("int64")
    return frame


def weekly_actors(store: Store, theatres: Theatres) -> pd.DataFrame:
    """Distinct actors (actor1 or actor2) per theatre, week and source."""

    def read(connection: Connection, set_id: int, current: Theatres) -> list[Any]:
        cells = weekly_actor_cells
        theatre = _theatre_of_cell(connection, current, cells)
        query = (
            sa.select(
                theatre, cells.c.week, cells.c.source, sa.func.count(sa.distinct(cells.c.actor))
            )
            .where(cells.c.set_id == set_id)
            .group_by(sa.literal_column("theatre"), cells.c.week, cells.c.source)
        )
        return connection.execute(query).all()

    rows = with_cells(store, theatres, read)
    frame = _frame_weeks(pd.DataFrame(rows, columns=["theatre", "week", "source", "actors"]))
    frame["actors"] = frame["actors"].astype("int64")
    return frame


def theatre_places(store: Store, theatres: Theatres) -> list[tuple[str, str, int]]:
    """(theatre, country as stored, incidents) for every pair that occurs (all incidents)."""

    def read(connection: Connection, set_id: int, current: Theatres) -> list[Any]:
        cells = weekly_cells
        theatre = _theatre_of_cell(connection, current, cells)
        query = (
            sa.select(theatre, places.c.country, sa.func.sum(cells.c.incidents))
            .join(places, places.c.id == cells.c.place_id)
            .where(cells.c.set_id == set_id)
            .group_by(sa.literal_column("theatre"), places.c.country)
        )
        return connection.execute(query).all()

    return [(name, country, int(n)) for name, country, n in with_cells(store, theatres, read)]


def theatre_centroids(store: Store, theatres: Theatres) -> dict[str, tuple[float, float]]:
    """Each theatre's incident centroid (mean latitude and longitude of located incidents)."""

    def read(connection: Connection, set_id: int, current: Theatres) -> list[Any]:
        cells = weekly_cells
        theatre = _theatre_of_cell(connection, current, cells)
        query = (
            sa.select(
                theatre,
                sa.func.sum(cells.c.located),
                sa.func.sum(cells.c.latitude_sum),
                sa.func.sum(cells.c.longitude_sum),
            )
            .where(cells.c.set_id == set_id)
            .group_by(sa.literal_column("theatre"))
        )
        return connection.execute(query).all()

    return {
        name: (float(lat) / n, float(lon) / n)
        for name, n, lat, lon in with_cells(store, theatres, read)
        if name != OTHER and n
    }


def theatre_totals(store: Store, theatres: Theatres) -> pd.DataFrame:
    """Per theatre, place and source, all incidents: theatre, place_id, country, admin1, source,
    incidents, violent, fatalities, first_week, last_week (small: one row per pair that occurs).
    """

    def read(connection: Connection, set_id: int, current: Theatres) -> list[Any]:
        cells = weekly_cells
        # Grouped without the theatre first (a few hundred rows), then named in Python.
        query = (
            sa.select(
                cells.c.place_id,
                cells.c.box,
                places.c.country,
                places.c.admin1,
                cells.c.source,
                sa.func.sum(cells.c.incidents),
                sa.func.sum(cells.c.violent),
                sa.func.sum(cells.c.fatalities),
                sa.func.min(cells.c.week),
                sa.func.max(cells.c.week),
            )
            .join(places, places.c.id == cells.c.place_id)
            .where(cells.c.set_id == set_id)
            .group_by(
                cells.c.place_id, cells.c.box, places.c.country, places.c.admin1, cells.c.source
            )
        )
        box_theatres = [t.name for t in current.theatres if t.boxes]
        names = current.names
        rows = []
        for place_id, box, country, admin1, *rest in connection.execute(query):
            index = current.place_theatre(country or None, admin1 or None)
            by_place = names[index] if index is not None else OTHER
            by_box = box_theatres[box] if box >= 0 else OTHER
            # The first match in file order: the earlier of the two ("Other" is last).
            name = min(by_place, by_box, key=names.index)
            rows.append((name, place_id, country, admin1, *rest))
        return rows

    columns = [
        "theatre",
        "place_id",
        "country",
        "admin1",
        "source",
        "incidents",
        "violent",
        "fatalities",
        "first_week",
        "last_week",
    ]
    frame = pd.DataFrame(with_cells(store, theatres, read), columns=columns)
    for column in ("incidents", "violent", "fatalities"):
        frame[column] = frame[column].astype("int64")
    for column in ("first_week", "last_week"):
        frame[column] = [_day(v) for v in frame[column]]
    # A place's events inside and outside a box are separate rows until here.
    return frame.groupby(columns[:5], as_index=False, dropna=False).agg(
        incidents=("incidents", "sum"),
        violent=("violent", "sum"),
        fatalities=("fatalities", "sum"),
        first_week=("first_week", "min"),
        last_week=("last_week", "max"),
    )


def stored_total(connection: Connection) -> int | None:
    """All incidents, from the most recently used cell set (every incident is in exactly one
    of its cells); None when no set is stored."""
    newest = connection.execute(
        sa.select(cell_sets.c.id).order_by(cell_sets.c.last_used.desc()).limit(1)
    ).scalar_one_or_none()
    if newest is None:
        return None
    total = connection.execute(
        sa.select(sa.func.coalesce(sa.func.sum(weekly_cells.c.incidents), 0)).where(
            weekly_cells.c.set_id == newest
        )
    ).scalar_one()
    return int(total)


# -- the computed panel ---------------------------------------------------------------------
KEEP_PANELS = 8


def stored_panel(store: Store, key: str) -> pd.DataFrame | None:
    """The panel stored under ``key`` (see :func:`keep_panel`), or None."""
    with store.read() as connection:
        frame = connection.execute(
            sa.select(stored_panels.c.frame).where(stored_panels.c.key == key)
        ).scalar_one_or_none()
    return None if frame is None else pd.read_parquet(io.BytesIO(frame))


def keep_panel(store: Store, key: str, panel: pd.DataFrame) -> bool:
    """Store a computed panel under ``key`` unless the store is busy writing; drop old ones.

    Called from reads, so it never waits for a load in progress: on SQLite it gives up after
    a moment (returns False), on PostgreSQL it needs no writer lock (the key is unique).
    """
    buffer = io.BytesIO()
    panel.to_parquet(buffer, index=False)
    try:
        with store.engine.connect() as connection:
            if store.dialect == "sqlite":
                # NullPool: this connection, with its short wait, is closed afterwards.
                driver = connection.connection.driver_connection
                driver.execute("PRAGMA busy_timeout=200")  # type: ignore[union-attr]
                connection = connection.execution_options(risk_write=True)
            with connection.begin():
                if connection.execute(
                    sa.select(stored_panels.c.key).where(stored_panels.c.key == key)
                ).first():
                    return True
                connection.execute(
                    stored_panels.insert().values(
                        key=key, created_at=utc_now(), frame=buffer.getvalue()
                    )
                )
                old = (
                    connection.execute(
                        sa.select(stored_panels.c.key)
                        .order_by(stored_panels.c.created_at.desc())
                        .offset(KEEP_PANELS)
                    )
                    .scalars()
                    .all()
                )
                if old:
                    connection.execute(stored_panels.delete().where(stored_panels.c.key.in_(old)))
    except (sa.exc.OperationalError, sa.exc.IntegrityError):
        return False  # busy, or another process stored it first: it is computed again later
    return True


# -- the oracle: recounting all incidents -------------------------------------------------
def _theatre_of_incident(connection: Connection, theatres: Theatres) -> sa.ColumnElement[str]:
    rows = connection.execute(sa.select(places.c.id, places.c.country, places.c.admin1))
    names = {pid: (country or None, admin1 or None) for pid, country, admin1 in rows}
    return theatres.sql_case(
        incidents.c.place_id, incidents.c.latitude, incidents.c.longitude, names
    ).label("theatre")


def recount_weekly_counts(store: Store, theatres: Theatres) -> pd.DataFrame:
    """:func:`weekly_counts` by grouping every incident (slow; for tests and checks)."""
    with store.read() as connection:
        theatre = _theatre_of_incident(connection, theatres)
        week = week_start(incidents.c.event_date, store.dialect).label("week")
        query = (
            sa.select(
                theatre,
                week,
                incidents.c.source,
                incidents.c.category,
                sa.func.count(),
                sa.func.sum(sa.case((incidents.c.violent, 1), else_=0)),
                sa.func.sum(incidents.c.fatalities),
            )
            .where(incidents.c.week_precise)
            .group_by(
                sa.literal_column("theatre"),
                sa.literal_column("week"),
                incidents.c.source,
                incidents.c.category,
            )
        )
        rows = connection.execute(query).all()
    columns = ["theatre", "week", "source", "category", "incidents", "violent", "fatalities"]
    frame = _frame_weeks(pd.DataFrame(rows, columns=columns))
    for column in ("incidents", "violent", "fatalities"):
        frame[column] = frame[column].astype("int64")
    return frame


def recount_weekly_actors(store: Store, theatres: Theatres) -> pd.DataFrame:
    """:func:`weekly_actors` by grouping every incident (slow; for tests and checks)."""
    with store.read() as connection:
        sides = sa.union_all(
            *(
                sa.select(
                    _theatre_of_incident(connection, theatres),
                    week_start(incidents.c.event_date, store.dialect).label("week"),
                    incidents.c.source,
                    actor.label("actor"),
                ).where(incidents.c.week_precise)
                for actor in (incidents.c.actor1, incidents.c.actor2)
            )
        ).subquery()
        query = (
            sa.select(
                sides.c.theatre,
                sides.c.week,
                sides.c.source,
                sa.func.count(sa.distinct(sides.c.actor)),
            )
            .where(sides.c.actor.is_not(None))
            .group_by(sides.c.theatre, sides.c.week, sides.c.source)
        )
        rows = connection.execute(query).all()
    frame = _frame_weeks(pd.DataFrame(rows, columns=["theatre", "week", "source", "actors"]))
    frame["actors"] = frame["actors"].astype("int64")
    return frame


def recount_theatre_places(store: Store, theatres: Theatres) -> list[tuple[str, str, int]]:
    """:func:`theatre_places` by grouping every incident (slow; for tests and checks)."""
    with store.read() as connection:
        theatre = _theatre_of_incident(connection, theatres)
        query = (
            sa.select(theatre, places.c.country, sa.func.count())
            .join(places, places.c.id == incidents.c.place_id)
            .group_by(sa.literal_column("theatre"), places.c.country)
        )
        return [(name, country, int(n)) for name, country, n in connection.execute(query)]


def recount_theatre_centroids(store: Store, theatres: Theatres) -> dict[str, tuple[float, float]]:
    """:func:`theatre_centroids` by grouping every incident (slow; for tests and checks)."""
    with store.read() as connection:
        theatre = _theatre_of_incident(connection, theatres)
        query = (
            sa.select(
                theatre, sa.func.avg(incidents.c.latitude), sa.func.avg(incidents.c.longitude)
            )
            .where(incidents.c.latitude.is_not(None), incidents.c.longitude.is_not(None))
            .group_by(sa.literal_column("theatre"))
        )
        rows = connection.execute(query).all()
    return {name: (float(lat), float(lon)) for name, lat, lon in rows if name != OTHER}
