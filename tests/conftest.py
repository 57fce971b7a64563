"""Shared fixtures: empty databases on SQLite and on a throwaway PostgreSQL server.

Fixtures
--------
``database_url``
    SQLAlchemy URL of an EMPTY database, once per backend: the test runs twice,
    with ids ``sqlite`` and ``postgresql``. SQLite: a file in ``tmp_path``.
    PostgreSQL: a fresh ``t_<random>`` database on the session's server, dropped
    after the test.
``sqlite_url``
    The SQLite variant only, for tests that do not need both backends.
``demo_store``
    Path of a SQLite store with the demo data, a trained model and its scores, made by
    ``python -m risk init`` once per session (training is the slow part). Shared: tests that
    change data work on a copy (:func:`copy_store`).
``postgres_server``
    Session-wide PostgreSQL server (see :class:`PostgresServer`). Started from
    the Debian ``postgresql`` package's binaries (newest version under
    /usr/lib/postgresql/*/bin), as the ``postgres`` user when the tests run as
    root; it listens on 127.0.0.1 only, on a free port, with trust auth and its
    unix socket in its own temporary directory, and is stopped and deleted at
    the end of the session (Ctrl-C included). It is started only when a test
    needs it. Set ``RISK_TEST_POSTGRES_URL`` (e.g.
    ``postgresql+psycopg://me:secret@127.0.0.1:5432/postgres``) to use an
    existing server instead; the user must be allowed to create databases.

Helpers: :func:`run_risk` runs a ``python -m risk`` command in this process,
:func:`copy_store` copies a SQLite store.

Markers (registered in pyproject.toml): ``browser`` for the Playwright suite,
``slow`` for tests that take more than a few seconds.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import psycopg
import pytest
from hypothesis import settings
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from tests.pgserver import SUPERUSER, ThrowawayPostgres

ROOT = Path(__file__).parent.parent
POSTGRES_URL_ENV = "RISK_TEST_POSTGRES_URL"


@dataclass(frozen=True)
class PostgresServer:
    """A PostgreSQL server for the tests.

    ``url`` is the SQLAlchemy URL of its maintenance database ``postgres``,
    e.g. ``postgresql+psycopg://postgres@127.0.0.1:54321/postgres``.
    ``data_dir``, ``socket_dir`` and ``pid`` are None for a server given by
    RISK_TEST_POSTGRES_URL.
    """

    url: str
    host: str
    port: int
    user: str
    data_dir: Path | None = None
    socket_dir: Path | None = None
    pid: int | None = None

    @property
    def external(self) -> bool:
        return self.pid is None

    def url_for(self, database: str) -> str:
        """SQLAlchemy URL of another database on this server."""
        return _render(make_url(self.url).set(database=database))

    def connect(self, database: str | None = None) -> psycopg.Connection:
        """An autocommit psycopg connection (to the maintenance database by default)."""
        url = make_url(self.url)
        if database is not None:
            url = url.set(database=database)
        params = _psycopg_params(url)
        params.setdefault("connect_timeout", 10)
        return psycopg.connect(**params, autocommit=True)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    external = os.environ.get(POSTGRES_URL_ENV, "").strip()
    if external:
        yield _external_server(external)
        return
    try:
        server = ThrowawayPostgres()
        server.start()
    except RuntimeError as error:
        pytest.fail(
            f"{error}\nRun scripts/test, which installs Debian's 'postgresql' package, or set "
            f"{POSTGRES_URL_ENV} to an existing server.",
            pytrace=False,
        )
    assert server.tmp is not None and server.proc is not None
    try:
        yield PostgresServer(
            url=server.url,
            host="127.0.0.1",
            port=server.port,
            user=SUPERUSER,
            data_dir=server.tmp / "data",
            socket_dir=server.tmp,
            pid=server.proc.pid,
        )
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield _sqlite_url(tmp_path)
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"t_{secrets.token_hex(8)}"
    with server.connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.url_for(name)
    finally:
        with server.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return _sqlite_url(tmp_path)


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store, trained and scored; read it, or copy it to change it (see above)."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    env = {**os.environ, "RISK_DATABASE_URL": f"sqlite:///{path}", "RISK_LOAD_DEMO": "1"}
    done = run_risk("init", env=env)
    assert done.returncode == 0, done.stderr
    return path


def run_risk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python -m risk ARGS`` run in this process: exit code, stdout and stderr.

    ``risk.cli.main`` is what ``risk/__main__.py`` calls; it runs with exactly ``env`` as the
    environment and the project as working folder, as a child process would. A child costs
    about 2 s of imports (sklearn), which adds up over the suite's many commands.
    """
    from risk.cli import main

    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, env, clear=True),
        contextlib.chdir(ROOT),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = main(list(args))
    return subprocess.CompletedProcess(["risk", *args], code, out.getvalue(), err.getvalue())


def copy_store(source: Path, target: Path) -> Path:
    """A consistent copy of a SQLite store (WAL included)."""
    with sqlite3.connect(source) as reading, sqlite3.connect(target) as writing:
        reading.backup(writing)
    return target


# --------------------------------------------------------------------------- helpers


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'risk.db'}"


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _psycopg_params(url: URL) -> dict[str, object]:
    params: dict[str, object] = {str(k): v for k, v in url.query.items()}
    for key, value in (
        ("host", url.host),
        ("port", url.port),
        ("user", url.username),
        ("password", url.password),
        ("dbname", url.database),
    ):
        if value is not None:
            params[key] = value
    return params


def _external_server(raw: str) -> PostgresServer:
    url = make_url(raw)
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    if not url.drivername.startswith("postgresql"):
        pytest.fail(f"{POSTGRES_URL_ENV} is not a PostgreSQL URL: {url!r}")
    return PostgresServer(
        url=_render(url),
        host=url.host or "localhost",
        port=url.port or 5432,
        user=url.username or "",
    )


# Property tests: the suite runs a fixed (derandomised) search so CI is reproducible; run
# HYPOTHESIS_PROFILE=explore .venv/bin/python -m pytest tests/test_loaders_properties.py to
# search ten times wider with fresh random examples.
settings.register_profile("ci", max_examples=2000, derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", max_examples=20_000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
