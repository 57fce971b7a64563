import pytest
import sqlalchemy as sa

from risk.store import migrations
from risk.store.database import Store, StoreError, redact_url, schema_version


def test_new_store_is_at_the_latest_schema_and_reopening_applies_nothing(database_url):
    store = Store(database_url)
    with store.read() as connection:
        versions = connection.execute(sa.select(schema_version.c.version)).scalars().all()
        assert versions == [m[0] for m in migrations.MIGRATIONS]
        tables = set(sa.inspect(connection).get_table_names())
    assert {"incidents", "batches", "places", "incident_history", "rejected_rows"} <= tables
    assert migrations.migrate(store) == []
    store.dispose()


def test_a_store_from_a_newer_program_is_refused(sqlite_url):
    store = Store(sqlite_url)
    with store.write() as connection:
        connection.execute(
            schema_version.insert().values(
                version=999, description="future", applied_at=sa.func.now()
            )
        )
    store.dispose()
    with pytest.raises(StoreError, match="newer than this program"):
        Store(sqlite_url)


def test_migrations_run_in_order_from_an_older_store(sqlite_url, monkeypatch):
    applied = []
    extra = (99, "test step", lambda connection: applied.append("ran"))
    Store(sqlite_url).dispose()
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, extra])
    store = Store(sqlite_url)
    assert applied == ["ran"]
    assert migrations.migrate(store) == []
    store.dispose()


def test_sqlite_store_uses_wal(sqlite_url):
    store = Store(sqlite_url)
    with store.read() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.dispose()


def test_meta_values_round_trip(database_url):
    store = Store(database_url)
    with store.write() as connection:
        store.set_meta(connection, "k", "v1")
        store.set_meta(connection, "k", "v2")
    assert store.get_meta("k") == "v2"
    assert store.get_meta("missing") is None
    store.dispose()


def test_passwords_never_appear_in_messages():
    assert "s3cret" not in redact_url("postgresql+psycopg://me:s3cret@db.example/risk")
    with pytest.raises(StoreError) as error:
        Store("mysql://me:s3cret@db.example/risk")
    assert "s3cret" not in str(error.value)
    with pytest.raises(StoreError, match="not a database URL"):
        Store("not a url")


def test_unreachable_postgres_is_a_store_error_without_the_password():
    with pytest.raises(StoreError) as error:
        Store("postgresql+psycopg://me:s3cret@127.0.0.1:1/risk?connect_timeout=2")
    assert "s3cret" not in str(error.value)
    assert "cannot open the store" in str(error.value)
