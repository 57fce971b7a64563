"""The incident store: one SQLAlchemy code path for SQLite (default) and PostgreSQL.

Tables are SQLAlchemy Core; the schema is versioned by :mod:`risk.store.migrations`. Writers are
serialised (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory lock), so one file is one
transaction and concurrent ingests never interleave. Readers never wait for writers (WAL).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

metadata = sa.MetaData()

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite rowid needs INTEGER

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)

store_meta = sa.Table(
    "store_meta",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Places are (country, admin1) pairs as the sources spell them; theatres are matched against
# this small table when data is read. Empty strings, not NULL, so the pair stays unique.
places = sa.Table(
    "places",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("country", sa.String(200), nullable=False),
    sa.Column("admin1", sa.String(200), nullable=False),
    sa.UniqueConstraint("country", "admin1", name="uq_places_country_admin1"),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("file_name", sa.String(500), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("format", sa.String(20), nullable=False),
    sa.Column("origin", sa.String(200), nullable=False),
    sa.Column("read_as", sa.Text, nullable=False, server_default=""),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("rows_read", sa.Integer, nullable=False),
    sa.Column("added", sa.Integer, nullable=False),
    sa.Column("updated", sa.Integer, nullable=False),
    sa.Column("duplicates", sa.Integer, nullable=False),
    sa.Column("rejected", sa.Integer, nullable=False),
    sa.Column("withdrawn", sa.Integer, nullable=False, server_default="0"),
    sa.Column("status", sa.String(20), nullable=False),  # committed | undone
    sa.Column("undone_at", sa.DateTime(timezone=True)),
)

# Columns an incident version carries (everything but its identity and batch).
INCIDENT_FIELDS = (
    "event_date",
    "place_id",
    "admin2",
    "location",
    "latitude",
    "longitude",
    "source_event_type",
    "category",
    "violent",
    "actor1",
    "actor2",
    "fatalities",
    "notes",
    "source_text",
    "revision_time",
    "date_end",
    "date_precision",
    "geo_precision",
    "week_precise",
    "place_precise",
    "details",
)


def _incident_columns() -> list[sa.Column]:
    return [
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("event_date", sa.Date, nullable=False),
        sa.Column("place_id", sa.Integer, nullable=False),
        sa.Column("admin2", sa.String(200)),
        sa.Column("location", sa.String(500)),
        sa.Column("latitude", sa.Float),
        sa.Column("longitude", sa.Float),
        sa.Column("source_event_type", sa.String(200)),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("violent", sa.Boolean, nullable=False),
        sa.Column("actor1", sa.Text),
        sa.Column("actor2", sa.Text),
        sa.Column("fatalities", sa.Integer, nullable=False),
        sa.Column("notes", sa.Text),
        sa.Column("source_text", sa.Text),
        sa.Column("revision_time", sa.BigInteger),
        sa.Column("batch_id", sa.Integer, nullable=False),
        *precision_columns(),
    ]


def precision_columns() -> list[sa.Column]:
    """Date and place precision and the source's extra fields (migration 4)."""
    return [
        sa.Column("date_end", sa.Date),
        sa.Column("date_precision", sa.SmallInteger),  # the source's own code
        sa.Column("geo_precision", sa.SmallInteger),  # the source's own code
        # Counted in weekly counts / usable as a map point (rules: risk.incidents.schema).
        sa.Column("week_precise", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("place_precise", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("details", sa.Text),  # JSON of the source columns worth keeping
    ]


incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    *_incident_columns(),
    sa.UniqueConstraint("source", "source_id", name="uq_incidents_source_id"),
    sa.Index("ix_incidents_event_date", "event_date"),
    # A batch's rows, for the stored weekly counts' delta and for undo (migration 6).
    sa.Index("ix_incidents_batch_id", "batch_id"),
)

# Versions an ingest replaced or withdrew: ``batch_id`` is the batch that did it, the other
# columns the version as it was (including the batch that had written it). Undo restores them.
incident_history = sa.Table(
    "incident_history",
    metadata,
    sa.Column("replaced_by", sa.Integer, nullable=False),
    sa.Column("id", _ID, nullable=False),
    *_incident_columns(),
    sa.PrimaryKeyConstraint("replaced_by", "id", name="pk_incident_history"),
)

# What each load covers: per batch, source and country, the first and last date. By default
# the file's own range per country; an API pull records the window it asked for; a user can
# state it. Weeks no committed batch covers are missing, not zero.
coverage = sa.Table(
    "coverage",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("batch_id", sa.Integer, nullable=False, index=True),
    sa.Column("source", sa.String(10), nullable=False),
    sa.Column("country", sa.String(200), nullable=False),  # as the file spells it; "" for none
    sa.Column("first_date", sa.Date, nullable=False),
    sa.Column("last_date", sa.Date, nullable=False),
    sa.Column("stated", sa.Boolean, nullable=False),  # given by the user or the pull's window
)

# Stored weekly counts ("cells", risk.store.cells): incidents counted per place, week, source,
# category and precision, kept up to date by ingest, undo and withdrawal in their own
# transactions, so no read recounts all incidents. Theatres are applied when cells are read;
# only sea boxes need the coordinates, so cells are kept per *box set* (the theatres file's boxes
# in order): ``box`` is the first box theatre holding the event, -1 for none.
cell_sets = sa.Table(
    "cell_sets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    sa.Column("definition", sa.Text, nullable=False),  # JSON: the boxes of each box theatre
    sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_used", sa.DateTime(timezone=True), nullable=False),
)

weekly_cells = sa.Table(
    "weekly_cells",
    metadata,
    sa.Column("set_id", sa.Integer, nullable=False),
    sa.Column("place_id", sa.Integer, nullable=False),
    sa.Column("box", sa.SmallInteger, nullable=False),
    sa.Column("week", sa.Date, nullable=False),  # Monday of the ISO week
    sa.Column("source", sa.String(10), nullable=False),
    sa.Column("category", sa.String(30), nullable=False),
    sa.Column("week_precise", sa.Boolean, nullable=False),
    sa.Column("incidents", sa.Integer, nullable=False),
    sa.Column("violent", sa.Integer, nullable=False),
    sa.Column("fatalities", sa.BigInteger, nullable=False),
    # For centroids: incidents with both coordinates, and their sums.
    sa.Column("located", sa.Integer, nullable=False),
    sa.Column("latitude_sum", sa.Float, nullable=False),
    sa.Column("longitude_sum", sa.Float, nullable=False),
    sa.PrimaryKeyConstraint(
        "set_id",
        "place_id",
        "box",
        "week",
        "source",
        "category",
        "week_precise",
        name="pk_weekly_cells",
    ),
)

# Distinct actors are not additive: keep (actor, incidents) per cell of week-precise events
# (actor1 and actor2 both count), and count distinct actors when reading.
weekly_actor_cells = sa.Table(
    "weekly_actor_cells",
    metadata,
    sa.Column("set_id", sa.Integer, nullable=False),
    sa.Column("place_id", sa.Integer, nullable=False),
    sa.Column("box", sa.SmallInteger, nullable=False),
    sa.Column("week", sa.Date, nullable=False),
    sa.Column("source", sa.String(10), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("incidents", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint(
        "set_id", "place_id", "box", "week", "source", "actor", name="pk_weekly_actor_cells"
    ),
)

# The weekly panel (counts and features) as last computed, keyed by what it depends on (data
# version, theatres, target, day, code): a server's first page reads it instead of computing
# the features again. Parquet bytes; a few kept.
stored_panels = sa.Table(
    "stored_panels",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("frame", sa.LargeBinary, nullable=False),
)

CELL_TABLES = (cell_sets, weekly_cells, weekly_actor_cells, stored_panels)

rejected_rows = sa.Table(
    "rejected_rows",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("batch_id", sa.Integer, nullable=False, index=True),
    sa.Column("line", sa.Integer, nullable=False),
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("raw", sa.Text, nullable=False),
)


# Trained models: joblib bytes plus JSON metadata (training window, features, target settings,
# library versions, backtest metrics). The newest is the one in use.
models = sa.Table(
    "models",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.String(100), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("metadata", sa.Text, nullable=False),
    sa.Column("artifact", sa.LargeBinary, nullable=False),
)

# Every score made, with the model and the week it was made for: a forecast history that can be
# compared with what happened.
scores = sa.Table(
    "scores",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("model_version", sa.String(100), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("theatre", sa.String(300), nullable=False),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("band", sa.String(20), nullable=False),
    sa.Column("expected", sa.Float, nullable=False),
    sa.Column("lower", sa.Float, nullable=False),
    sa.Column("upper", sa.Float, nullable=False),
    sa.Column("change", sa.Float),
    sa.Column("drivers", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("model_version", "as_of", "theatre", name="uq_scores_model_week_theatre"),
)


# The refresh's own records: runs, per-source results, the lease, what sources remember.
refresh_runs = sa.Table(
    "refresh_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String(20), nullable=False),  # running | ok | failed | abandoned
    sa.Column("trigger", sa.String(20), nullable=False),  # cli | schedule | dashboard | ...
    sa.Column("host", sa.String(200), nullable=False),
    sa.Column("added", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated", sa.Integer, nullable=False, server_default="0"),
    sa.Column("withdrawn", sa.Integer, nullable=False, server_default="0"),
    sa.Column("model", sa.Text),  # JSON: what the rescore / retrain step did
    sa.Column("error", sa.Text),
)

refresh_sources = sa.Table(
    "refresh_sources",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, nullable=False, index=True),
    sa.Column("source", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # ok | failed
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("added", sa.Integer, nullable=False),
    sa.Column("updated", sa.Integer, nullable=False),
    sa.Column("duplicates", sa.Integer, nullable=False),
    sa.Column("rejected", sa.Integer, nullable=False),
    sa.Column("withdrawn", sa.Integer, nullable=False),
    sa.Column("batches", sa.Text, nullable=False),  # JSON list of batch ids
    sa.Column("notes", sa.Text, nullable=False),  # JSON list of lines
    sa.Column("error", sa.Text),
    sa.Index("ix_refresh_sources_source_id", "source", "id"),
)

# At most one row: the live lease of the refresh in progress.
refresh_lock = sa.Table(
    "refresh_lock",
    metadata,
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

# What a source remembers between runs (e.g. since when ACLED deletions were checked).
source_state = sa.Table(
    "source_state",
    metadata,
    sa.Column("source", sa.String(100), primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

REFRESH_TABLES = (refresh_runs, refresh_sources, refresh_lock, source_state)

# Alerts sent (or tried) per rule, theatre, scored week and channel: each is sent once, and one
# that failed is retried on the next run (``status`` failed, ``error`` without credentials).
sent_alerts = sa.Table(
    "sent_alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("theatre", sa.String(300), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),  # email | webhook
    sa.Column("status", sa.String(20), nullable=False),  # sent | failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("band", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),  # why the rule fired, in words
    sa.Column("error", sa.Text),
    sa.Column("first_tried_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_tried_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("rule", "theatre", "as_of", "channel", name="uq_sent_alerts_key"),
)


class StoreError(RuntimeError):
    """The store cannot do what was asked; the message says why and what to do."""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def redact_url(url: str) -> str:
    """The database URL without its password, for messages and logs."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<invalid database URL>"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN, so writers can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Takes effect only when the file is created. Incident rows are wide (notes run to
        # hundreds of bytes); 16 KiB pages measured ~15% faster bulk loads than 4 KiB.
        cursor.execute("PRAGMA page_size=16384")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=120000")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        # A writer takes the write lock at BEGIN: a deferred transaction that later upgrades
        # could fail with SQLITE_BUSY instead of waiting its turn.
        write = connection.get_execution_options().get("risk_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode and their folder is created."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise StoreError(
            f"RISK_DATABASE_URL is not a database URL: {redact_url(url)}; use e.g. "
            "sqlite:///data/risk.db or postgresql+psycopg://user@host/dbname"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 120}, poolclass=sa.NullPool)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)
    raise StoreError(
        f"unsupported database {parsed.get_backend_name()!r} in {redact_url(url)}; "
        "use SQLite or PostgreSQL"
    )


class Store:
    """A migrated store at ``url``: connections for reading and serialised writing."""

    def __init__(self, url: str) -> None:
        from risk.store.migrations import migrate

        self.url = url
        self.engine = make_engine(url)
        self.dialect = self.engine.dialect.name
        try:
            migrate(self)
        except sa.exc.OperationalError as error:
            raise StoreError(f"cannot open the store at {redact_url(url)}: {error.orig}") from None

    def __repr__(self) -> str:
        return f"Store({redact_url(self.url)!r})"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a read transaction (a consistent snapshot)."""
        with self.engine.connect() as connection:
            if self.dialect == "postgresql":
                # SQLite's WAL readers see one snapshot; PostgreSQL needs REPEATABLE READ for
                # that (its default lets every statement see newer commits).
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                yield connection

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction; one writer at a time across processes; all or nothing."""
        with self.engine.connect() as connection:
            connection = connection.execution_options(risk_write=True)
            with connection.begin():
                if self.dialect == "postgresql":
                    connection.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": 0x7269736B}
                    )
                yield connection

    def dispose(self) -> None:
        self.engine.dispose()

    # -- small key/value facts about the store ------------------------------------------------
    def get_meta(self, key: str, connection: Connection | None = None) -> str | None:
        query = sa.select(store_meta.c.value).where(store_meta.c.key == key)
        if connection is not None:
            return connection.execute(query).scalar_one_or_none()
        with self.read() as conn:
            return conn.execute(query).scalar_one_or_none()

    @staticmethod
    def set_meta(connection: Connection, key: str, value: str) -> None:
        updated = connection.execute(
            store_meta.update().where(store_meta.c.key == key).values(value=value)
        )
        if updated.rowcount == 0:
            connection.execute(store_meta.insert().values(key=key, value=value))


def bulk_insert(
    connection: Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    constants: Mapping[str, int | str] | None = None,
) -> None:
    """Insert many rows fast: COPY on PostgreSQL, the driver's executemany elsewhere.

    ``rows`` hold plain Python values the driver accepts (ISO strings for dates), one per
    column. ``constants`` are columns with the same value in every row (a batch id, a source
    name): SQLite gets them written once into the statement instead of bound per row, which
    measurably speeds large loads; they must be integers or lower-case words. This is the only
    dialect-specific write; everything else goes through SQLAlchemy.
    """
    constants = dict(constants or {})
    for name, value in constants.items():
        if not (
            isinstance(value, int)
            or (isinstance(value, str) and value.isalpha() and value.islower())
        ):
            raise ValueError(f"constant {name}={value!r} must be an integer or a lower-case word")
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    if connection.dialect.name == "postgresql":
        names = ", ".join([*columns, *constants])
        fixed = tuple(constants.values())
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*row, *fixed))
    else:
        names = ", ".join([*columns, *constants])
        values = ", ".join(
            ["?"] * len(columns)
            + [str(v) if isinstance(v, int) else f"'{v}'" for v in constants.values()]
        )
        # Table and column names are our own; constants are checked above; values are bound.
        statement = f"INSERT INTO {table.name} ({names}) VALUES ({values})"  # noqa: S608
        cursor.executemany(statement, rows)
    cursor.close()


def retry_locked(function: Any, attempts: int = 5, wait: float = 1.0) -> Any:
    """Run ``function()``, retrying when SQLite reports the database locked after its timeout."""
    for attempt in range(attempts):
        try:
            return function()
        except sa.exc.OperationalError as error:
            if "locked" not in str(error.orig) and "busy" not in str(error.orig):
                raise
            if attempt == attempts - 1:
                raise StoreError(
                    "the store stayed locked by another writer; try again in a minute"
                ) from None
            time.sleep(wait * 2**attempt)
    return None
