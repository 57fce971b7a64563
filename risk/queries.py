"""Reading incidents back by theatre: the theatre is computed in SQL at read time.

Aggregations run in the database (GROUP BY theatre, ...), so a store of a million incidents is
summarised without loading it into pandas.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from risk.store import Store, batches, incidents, places
from risk.theatres import Theatres


def place_names(connection: Connection) -> dict[int, tuple[str | None, str | None]]:
    """Every stored place id with its (country, admin1); empty strings read as None."""
    rows = connection.execute(sa.select(places.c.id, places.c.country, places.c.admin1))
    return {pid: (country or None, admin1 or None) for pid, country, admin1 in rows}


def theatre_column(connection: Connection, theatres: Theatres) -> sa.ColumnElement[str]:
    """SQL expression for an incident's theatre under the current theatres file."""
    return theatres.sql_case(
        incidents.c.place_id,
        incidents.c.latitude,
        incidents.c.longitude,
        place_names(connection),
    ).label("theatre")


@dataclass(frozen=True)
class StoreSummary:
    total_incidents: int
    first_date: dt.date | None
    last_date: dt.date | None
    batches: int


def store_summary(store: Store) -> StoreSummary:
    """Totals for the whole store (committed data only)."""
    with store.read() as connection:
        total, first, last = connection.execute(
            sa.select(
                sa.func.count(),
                sa.func.min(incidents.c.event_date),
                sa.func.max(incidents.c.event_date),
            )
        ).one()
        batch_count = connection.execute(
            sa.select(sa.func.count()).where(batches.c.status == "committed")
        ).scalar_one()
    return StoreSummary(int(total), _date(first), _date(last), int(batch_count))


def _date(value: object) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def theatre_stats(store: Store, theatres: Theatres) -> pd.DataFrame:
    """Per theatre: incidents, violent incidents, fatalities, first and last date.

    Every theatre of the file appears (with zeros when it has no data); "Other" appears only
    when some incidents match no theatre.
    """
    with store.read() as connection:
        theatre = theatre_column(connection, theatres)
        query = sa.select(
            theatre,
            sa.func.count().label("incidents"),
            sa.func.sum(sa.case((incidents.c.violent, 1), else_=0)).label("violent"),
            sa.func.sum(incidents.c.fatalities).label("fatalities"),
            sa.func.min(incidents.c.event_date).label("first_date"),
            sa.func.max(incidents.c.event_date).label("last_date"),
        ).group_by(sa.literal_column("theatre"))
        rows = connection.execute(query).all()
    found = pd.DataFrame(
        rows, columns=["theatre", "incidents", "violent", "fatalities", "first_date", "last_date"]
    ).set_index("theatre")
    names = [n for n in theatres.names if n in found.index or n != "Other"]
    frame = found.reindex(names)
    for column in ("incidents", "violent", "fatalities"):
        frame[column] = frame[column].fillna(0).astype(int)
    for column in ("first_date", "last_date"):
        frame[column] = [_date(v) if pd.notna(v) else None for v in frame[column]]
    return frame.reset_index()


def data_version(store: Store) -> str:
    """A short token that changes whenever committed data changes (ingest, undo)."""
    with store.read() as connection:
        newest, undone = connection.execute(
            sa.select(
                sa.func.max(batches.c.id),
                sa.func.count().filter(batches.c.status == "undone"),
            ).where(batches.c.status != "loading")
        ).one()
    return f"b{newest or 0}u{undone}"
