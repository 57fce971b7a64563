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

import atexit
import contextlib
import ctypes
import io
import os
import pwd
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import psycopg
import pytest
from hypothesis import settings
from psycopg import sql
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).parent.parent
POSTGRES_URL_ENV = "RISK_TEST_POSTGRES_URL"
POSTGRES_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"
START_TIMEOUT_S = 60.0


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
    server = _ThrowawayPostgres()
    try:
        yield server.start()
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


def _postgres_bindir() -> Path:
    """The bin directory of the newest PostgreSQL server under /usr/lib/postgresql."""

    def version(bindir: Path) -> tuple[int, ...]:
        name = bindir.parent.name
        return tuple(int(p) for p in name.split(".")) if name.replace(".", "").isdigit() else ()

    found = [
        d
        for d in POSTGRES_ROOT.glob("*/bin")
        if all(os.access(d / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres"))
    ]
    if not found:
        pytest.fail(
            f"PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under "
            f"{POSTGRES_ROOT}/*/bin. Run scripts/test, which installs Debian's 'postgresql' "
            f"package, or set {POSTGRES_URL_ENV} to an existing server.",
            pytrace=False,
        )
    return max(found, key=version)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the server's process: get SIGINT (fast shutdown) if pytest dies without cleaning up."""
    with contextlib.suppress(OSError, AttributeError):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGINT)


def _world_traversable(path: Path) -> bool:
    return all(os.stat(p).st_mode & 0o001 for p in (path, *path.parents))


def _remove_stale_dirs(base: Path, min_age_s: float = 3600.0) -> None:
    """Delete directories left by sessions that were killed (SIGKILL leaves no chance to clean)."""
    for tmp in base.glob("risk-pg-*"):
        try:
            if time.time() - tmp.stat().st_mtime < min_age_s:
                continue
            pid_file = tmp / "data" / "postmaster.pid"
            if pid_file.exists() and Path(f"/proc/{pid_file.read_text().split()[0]}").exists():
                continue  # its server still runs
        except (OSError, IndexError):
            continue
        shutil.rmtree(tmp, ignore_errors=True)


_RUNNING: set[_ThrowawayPostgres] = set()


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_RUNNING):
        server.stop()


class _ThrowawayPostgres:
    """initdb + postgres in a temporary directory; see the module docstring."""

    def __init__(self) -> None:
        self.bindir = _postgres_bindir()
        self.account: pwd.struct_passwd | None = None
        if os.geteuid() == 0:  # the server refuses to run as root
            try:
                self.account = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail(
                    "running as root and there is no 'postgres' user to run the test server "
                    "as; run scripts/test, which installs Debian's 'postgresql' package.",
                    pytrace=False,
                )
        self.tmp: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    # Run a server binary as the server's account, in the temporary directory.
    def _popen_args(self) -> dict[str, object]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        args: dict[str, object] = {"cwd": self.tmp, "env": env}
        if self.account is not None:
            args.update(user=self.account.pw_uid, group=self.account.pw_gid, extra_groups=[])
        return args

    def start(self) -> PostgresServer:
        base = Path(tempfile.gettempdir())
        if self.account is not None and not _world_traversable(base):
            base = Path("/tmp")  # noqa: S108 - the postgres user must reach the directory
        _remove_stale_dirs(base)
        self.tmp = Path(tempfile.mkdtemp(prefix="risk-pg-", dir=base))
        _RUNNING.add(self)
        if self.account is not None:
            os.chown(self.tmp, self.account.pw_uid, self.account.pw_gid)
        data = self.tmp / "data"
        initdb = subprocess.run(
            [
                str(self.bindir / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                SUPERUSER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            check=False,
            **self._popen_args(),
        )
        if initdb.returncode != 0:
            self.stop()
            pytest.fail(f"initdb failed:\n{initdb.stdout}\n{initdb.stderr}", pytrace=False)
        hba = data / "pg_hba.conf"
        hba.write_text(
            "# throwaway test server: no password, unix socket and 127.0.0.1 only\n"
            "local all all trust\n"
            "host  all all 127.0.0.1/32 trust\n"
        )
        if self.account is not None:
            os.chown(hba, self.account.pw_uid, self.account.pw_gid)

        log = self.tmp / "postgres.log"
        for _attempt in range(3):  # the free port may be taken before the server binds it
            port = _free_port()
            with open(log, "ab") as out:
                self.proc = subprocess.Popen(
                    [
                        str(self.bindir / "postgres"),
                        "-D",
                        str(data),
                        "-p",
                        str(port),
                        "-c",
                        "listen_addresses=127.0.0.1",
                        "-c",
                        f"unix_socket_directories={self.tmp}",
                        "-c",
                        "fsync=off",
                        "-c",
                        "synchronous_commit=off",
                        "-c",
                        "full_page_writes=off",
                        "-c",
                        "max_connections=100",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # Ctrl-C reaches pytest, which then stops the server
                    preexec_fn=_die_with_parent,
                    **self._popen_args(),
                )
            server = PostgresServer(
                url=f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/postgres",
                host="127.0.0.1",
                port=port,
                user=SUPERUSER,
                data_dir=data,
                socket_dir=self.tmp,
                pid=self.proc.pid,
            )
            if self._wait_ready(server):
                return server
            if "could not bind" not in log.read_text(errors="replace"):
                break
        text = log.read_text(errors="replace")
        self.stop()
        pytest.fail(f"PostgreSQL test server did not start; its log:\n{text}", pytrace=False)

    def _wait_ready(self, server: PostgresServer) -> bool:
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with server.connect() as conn:
                    conn.execute("SELECT 1")
                return True
            except psycopg.OperationalError:
                time.sleep(0.1)
        self._terminate()
        return False

    def _terminate(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGINT, 30), (signal.SIGQUIT, 10), (signal.SIGKILL, 10)):
            proc.send_signal(sig)  # SIGINT: fast shutdown; SIGQUIT: immediate
            try:
                proc.wait(wait_s)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop(self) -> None:
        self._terminate()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        _RUNNING.discard(self)


# Property tests: the suite runs a fixed (derandomised) search so CI is reproducible; run
# HYPOTHESIS_PROFILE=explore .venv/bin/python -m pytest tests/test_loaders_properties.py to
# search ten times wider with fresh random examples.
settings.register_profile("ci", max_examples=2000, derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", max_examples=20_000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
