"""Ordered schema migrations, recorded in the ``schema_version`` table.

Each migration runs once, in order, inside one transaction with its version row. Rules that
keep old stores upgradable: never edit a released migration; a later change to a table is a new
migration that alters it (checking first, since migration 1 creates tables from the current
definitions in :mod:`risk.store.database`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from risk.store import database as tables

if TYPE_CHECKING:
    from risk.store.database import Store


def _incident_store(connection: Connection) -> None:
    tables.metadata.create_all(
        connection,
        tables=[
            tables.store_meta,
            tables.places,
            tables.batches,
            tables.incidents,
            tables.incident_history,
            tables.rejected_rows,
        ],
    )


def _models_and_scores(connection: Connection) -> None:
    tables.metadata.create_all(connection, tables=[tables.models, tables.scores])


def _refresh_runs(connection: Connection) -> None:
    tables.metadata.create_all(connection, tables=list(tables.REFRESH_TABLES))


def _precision_and_coverage(connection: Connection) -> None:
    inspector = sa.inspect(connection)
    for table in (tables.incidents, tables.incident_history):
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in tables.precision_columns():
            if column.name in present:
                continue  # a store created by migration 1 from the current definitions
            spec = sa.schema.CreateColumn(column).compile(dialect=connection.dialect)
            connection.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {spec}"))
    if inspector.has_table(tables.coverage.name):
        return
    tables.metadata.create_all(connection, tables=[tables.coverage])
    # Loads made before coverage was recorded: each batch covered, per country, the range of
    # the incidents it still holds.
    incidents, places = tables.incidents, tables.places
    connection.execute(
        tables.coverage.insert().from_select(
            ["batch_id", "source", "country", "first_date", "last_date", "stated"],
            sa.select(
                incidents.c.batch_id,
                incidents.c.source,
                places.c.country,
                sa.func.min(incidents.c.event_date),
                sa.func.max(incidents.c.event_date),
                sa.false(),
            )
            .join(places, places.c.id == incidents.c.place_id)
            .group_by(incidents.c.batch_id, incidents.c.source, places.c.country),
        )
    )


def _sent_alerts(connection: Connection) -> None:
    tables.metadata.create_all(connection, tables=[tables.sent_alerts])


def _weekly_cells(connection: Connection) -> None:
    # Cell sets are built on first read under a theatres file (risk.store.cells): nothing to
    # fill here. The batch index serves the cells' delta and undo.
    tables.metadata.create_all(connection, tables=list(tables.CELL_TABLES))
    present = {i["name"] for i in sa.inspect(connection).get_indexes(tables.incidents.name)}
    for index in tables.incidents.indexes:
        if index.name not in present:
            index.create(connection)


Migration = tuple[int, str, Callable[[Connection], None]]

MIGRATIONS: list[Migration] = [
    (1, "incident store: places, batches, incidents, history, rejected rows", _incident_store),
    (2, "models and scores", _models_and_scores),
    (3, "refresh runs, per-source results, refresh lock, source state", _refresh_runs),
    (4, "date and place precision, source details, coverage per load", _precision_and_coverage),
    (5, "alerts sent per rule, theatre, scored week and channel", _sent_alerts),
    (6, "stored weekly counts per cell set; incidents indexed by batch", _weekly_cells),
]


def latest_version() -> int:
    return MIGRATIONS[-1][0]


def current_version(connection: Connection) -> int:
    if not sa.inspect(connection).has_table("schema_version"):
        return 0
    version = connection.execute(sa.select(sa.func.max(tables.schema_version.c.version)))
    return version.scalar_one() or 0


def migrate(store: Store) -> list[int]:
    """Bring the store to the latest schema; return the versions applied."""
    applied: list[int] = []
    with store.write() as connection:
        tables.metadata.create_all(connection, tables=[tables.schema_version])
        version = current_version(connection)
        if version > latest_version():
            raise tables.StoreError(
                f"the store is at schema version {version}, newer than this program knows "
                f"({latest_version()}); upgrade the program"
            )
        for number, description, step in MIGRATIONS:
            if number <= version:
                continue
            step(connection)
            connection.execute(
                tables.schema_version.insert().values(
                    version=number, description=description, applied_at=tables.utc_now()
                )
            )
            applied.append(number)
    return applied
