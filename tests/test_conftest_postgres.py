"""The database fixtures of conftest.py work for real.

- ``database_url`` gives an empty, usable database per test and backend, which
  other tests do not see, and the PostgreSQL one is dropped afterwards;
- the throwaway PostgreSQL server listens on 127.0.0.1 only;
- it is stopped and its directory deleted when the session ends, also on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, inspect, text

if TYPE_CHECKING:
    from conftest import PostgresServer

POSTGRES_URL_ENV = "RISK_TEST_POSTGRES_URL"  # read by conftest.postgres_server

# backend id -> URL of the database the first test below created its table in
_CREATED: dict[str, str] = {}

needs_own_server = pytest.mark.skipif(
    bool(os.environ.get(POSTGRES_URL_ENV)),
    reason=f"{POSTGRES_URL_ENV} is set: the tests use that server, not a throwaway one",
)


def _backend(request: pytest.FixtureRequest) -> str:
    return request.node.callspec.params["database_url"]


def _tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_table_is_visible_in_its_database(database_url: str, request: pytest.FixtureRequest):
    assert _tables(database_url) == []
    writer = create_engine(database_url)
    with writer.begin() as conn:
        conn.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY, note TEXT)"))
        conn.execute(text("INSERT INTO probe (id, note) VALUES (1, 'hello')"))
    writer.dispose()

    reader = create_engine(database_url)  # a new engine: new connections, same database
    with reader.connect() as conn:
        assert conn.execute(text("SELECT note FROM probe")).scalar_one() == "hello"
    reader.dispose()
    assert _tables(database_url) == ["probe"]
    _CREATED[_backend(request)] = database_url


def test_table_is_not_in_another_tests_database(database_url: str, request: pytest.FixtureRequest):
    assert _tables(database_url) == []
    backend = _backend(request)
    earlier = _CREATED.get(backend)
    if earlier is None:
        return  # run on its own: the emptiness above is all there is to check
    assert database_url != earlier
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        earlier_name = earlier.rsplit("/", 1)[1]
        with server.connect() as conn:
            names = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
        assert earlier_name not in names, "the earlier test's database was not dropped"
        assert database_url.rsplit("/", 1)[1] in names


def test_sqlite_url_is_an_empty_file_database(sqlite_url: str, tmp_path: Path):
    assert sqlite_url == f"sqlite:///{tmp_path / 'risk.db'}"
    assert _tables(sqlite_url) == []


def _listeners(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp*) of the sockets listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


@needs_own_server
def test_postgres_server_listens_on_loopback_only(postgres_server: PostgresServer):
    assert postgres_server.host == "127.0.0.1"
    assert postgres_server.url == (
        f"postgresql+psycopg://postgres@127.0.0.1:{postgres_server.port}/postgres"
    )
    with postgres_server.connect() as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        socket_dir = conn.execute("SHOW unix_socket_directories").fetchone()[0]
    assert socket_dir == str(postgres_server.socket_dir)
    assert (postgres_server.socket_dir / f".s.PGSQL.{postgres_server.port}").is_socket()
    # One listening TCP socket on the port, bound to 127.0.0.1 (0100007F), no IPv6 one.
    assert _listeners(postgres_server.port) == ["0100007F"]
    with socket.create_connection(("127.0.0.1", postgres_server.port), timeout=5):
        pass


@needs_own_server
def test_postgres_server_runs_unprivileged(postgres_server: PostgresServer):
    status = Path(f"/proc/{postgres_server.pid}/status").read_text()
    uid = int(next(x for x in status.splitlines() if x.startswith("Uid:")).split()[1])
    if os.geteuid() == 0:
        import pwd

        assert uid == pwd.getpwnam("postgres").pw_uid
    else:
        assert uid == os.geteuid()


# ----------------------------------------------------------- the server's life cycle

INNER_TEST = """
import json, os, sys, time
from pathlib import Path

def test_record_server(postgres_server):
    info = {"pid": postgres_server.pid, "tmp": str(postgres_server.socket_dir)}
    Path(os.environ["INFO_FILE"]).write_text(json.dumps(info))
    if os.environ.get("HANG"):
        time.sleep(120)
"""


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run_inner_session(tmp_path: Path, interrupt: bool) -> tuple[int, dict, str]:
    """Run a pytest session that starts its own server; Ctrl-C it once the server is up."""
    inner = tmp_path / "inner"
    inner.mkdir()
    shutil.copy(Path(__file__).with_name("conftest.py"), inner / "conftest.py")
    (inner / "test_inner.py").write_text(INNER_TEST)
    (inner / "pytest.ini").write_text("[pytest]\n")
    info_file = tmp_path / "info.json"
    env = {k: v for k, v in os.environ.items() if k != POSTGRES_URL_ENV}
    # The copied conftest imports the project's tests.pgserver (and risk, lazily).
    root = str(Path(__file__).resolve().parent.parent)
    env.update(INFO_FILE=str(info_file), HANG="1" if interrupt else "", PYTHONPATH=root)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", "pytest.ini"],
        cwd=inner,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A shell's background job ignores SIGINT, and children inherit that: undo it,
        # so that Python turns SIGINT into KeyboardInterrupt as on a terminal.
        preexec_fn=_default_sigint,
    )
    try:
        if interrupt:
            deadline = time.monotonic() + 60
            while not info_file.exists() and proc.poll() is None:
                assert time.monotonic() < deadline, "the inner session did not start a server"
                time.sleep(0.1)
            time.sleep(0.2)  # let the JSON be written completely
            proc.send_signal(signal.SIGINT)  # what Ctrl-C does to pytest
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert info_file.exists(), output
    return proc.returncode, json.loads(info_file.read_text()), output


def _is_running_postgres(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    zombie = any(x.startswith("State:") and "Z" in x.split()[1] for x in status.splitlines())
    return b"postgres" in cmdline and not zombie


@needs_own_server
@pytest.mark.slow
@pytest.mark.parametrize("interrupt", [False, True], ids=["session-end", "ctrl-c"])
def test_server_is_stopped_and_deleted(tmp_path: Path, interrupt: bool):
    code, info, output = _run_inner_session(tmp_path, interrupt)
    expected = pytest.ExitCode.INTERRUPTED if interrupt else pytest.ExitCode.OK
    assert code == expected, output
    assert not _is_running_postgres(info["pid"]), output
    assert not Path(info["tmp"]).exists(), output
