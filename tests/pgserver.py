"""A throwaway PostgreSQL server: initdb and postgres in a temporary directory.

The tests' session server (tests/conftest.py) and the bench scripts use it: Debian's binaries,
the newest version under /usr/lib/postgresql/*/bin; run as the ``postgres`` user when we are
root; 127.0.0.1 on a free port with trust auth; deleted when stopped or when the process exits.
Errors are RuntimeError (the tests' fixture turns them into test failures):

    server = ThrowawayPostgres()
    url = server.start()            # postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
    url = server.create_database("risk")
    ...
    server.save(folder)             # stop, copy the data directory to folder, start again
    url = server.url_for("risk")    # (on another port)
    server.stop()

``ThrowawayPostgres(data_from=folder)`` starts on a copy of a saved data directory instead of
an empty one, so that a loaded database can be reused without loading it again.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

POSTGRES_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"
START_TIMEOUT_S = 60.0
# Throwaway data: durability is not what is measured, so the server skips flushing to disk.
DEFAULT_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


def postgres_bindir() -> Path:
    """The bin directory of the newest PostgreSQL server under /usr/lib/postgresql."""

    def version(bindir: Path) -> tuple[int, ...]:
        name = bindir.parent.name
        return tuple(int(p) for p in name.split(".")) if name.replace(".", "").isdigit() else ()

    found = [
        d
        for d in POSTGRES_ROOT.glob("*/bin")
        if all(os.access(d / tool, os.X_OK) for tool in ("initdb", "postgres"))
    ]
    if not found:
        raise RuntimeError(
            f"PostgreSQL server binaries (initdb, postgres) not found under {POSTGRES_ROOT}/*/bin: "
            "install Debian's 'postgresql' package (scripts/test does)"
        )
    return max(found, key=version)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """In the server's process: get SIGINT (fast shutdown) if our process dies uncleanly."""
    with contextlib.suppress(OSError, AttributeError):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGINT)


def remove_stale_dirs(base: Path, min_age_s: float = 3600.0) -> None:
    """Delete directories left by runs that were killed (SIGKILL leaves no chance to clean)."""
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


_RUNNING: set[ThrowawayPostgres] = set()


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_RUNNING):
        server.stop()


class ThrowawayPostgres:
    """initdb + postgres in a temporary directory, deleted by :meth:`stop` (or at exit)."""

    def __init__(
        self, settings: dict[str, str] | None = None, data_from: Path | None = None
    ) -> None:
        self.bindir = postgres_bindir()
        self.data_from = data_from
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self.account: pwd.struct_passwd | None = None
        if os.geteuid() == 0:  # the server refuses to run as root
            try:
                self.account = pwd.getpwnam(SUPERUSER)
            except KeyError:
                raise RuntimeError(
                    "running as root and there is no 'postgres' user to run the server as: "
                    "install Debian's 'postgresql' package"
                ) from None
        self.tmp: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the maintenance database ``postgres``."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _popen_args(self) -> dict[str, object]:
        """Run a server binary as the server's account, in the temporary directory."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        args: dict[str, object] = {"cwd": self.tmp, "env": env}
        if self.account is not None:
            args.update(user=self.account.pw_uid, group=self.account.pw_gid, extra_groups=[])
        return args

    def start(self) -> str:
        """Start the server; the URL of its maintenance database."""
        base = Path(tempfile.gettempdir())
        if self.account is not None and not all(
            os.stat(p).st_mode & 0o001 for p in (base, *base.parents)
        ):
            base = Path("/tmp")  # noqa: S108 - the postgres user must reach the directory
        remove_stale_dirs(base)
        self.tmp = Path(tempfile.mkdtemp(prefix="risk-pg-", dir=base))
        _RUNNING.add(self)
        if self.account is not None:
            os.chown(self.tmp, self.account.pw_uid, self.account.pw_gid)
        data = self.tmp / "data"
        if self.data_from is not None:
            # cp -a keeps the owner and the 0700 mode the server insists on.
            subprocess.run(["cp", "-a", str(self.data_from), str(data)], check=True)
        else:
            self._initdb(data)
        return self._launch(data)

    def _initdb(self, data: Path) -> None:
        initdb = subprocess.run(
            [
                str(self.bindir / "initdb"),
                *("--pgdata", str(data), "--username", SUPERUSER, "--auth", "trust"),
                *("--encoding", "UTF8", "--no-locale", "--no-sync"),
            ],
            capture_output=True,
            text=True,
            check=False,
            **self._popen_args(),
        )
        if initdb.returncode != 0:
            self.stop()
            raise RuntimeError(f"initdb failed:\n{initdb.stdout}\n{initdb.stderr}")
        hba = data / "pg_hba.conf"
        hba.write_text("local all all trust\nhost  all all 127.0.0.1/32 trust\n")
        if self.account is not None:
            os.chown(hba, self.account.pw_uid, self.account.pw_gid)

    def _launch(self, data: Path) -> str:
        """Run postgres on ``data``; the URL of its maintenance database."""
        assert self.tmp is not None
        log = self.tmp / "postgres.log"
        settings = {
            **self.settings,
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.tmp),
        }
        for _attempt in range(3):  # the free port may be taken before the server binds it
            self.port = _free_port()
            with open(log, "ab") as out:
                self.proc = subprocess.Popen(
                    [
                        str(self.bindir / "postgres"),
                        *("-D", str(data), "-p", str(self.port)),
                        *(f"-c{key}={value}" for key, value in settings.items()),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                    **self._popen_args(),
                )
            if self._wait_ready():
                return self.url
            if "could not bind" not in log.read_text(errors="replace"):
                break
        text = log.read_text(errors="replace")
        self.stop()
        raise RuntimeError(f"PostgreSQL did not start; its log:\n{text}")

    def save(self, folder: Path) -> None:
        """Stop the server cleanly, copy its data directory to ``folder``, start it again (on a
        new port: take its URLs afresh)."""
        assert self.tmp is not None
        self._terminate()  # SIGINT: a fast shutdown, which checkpoints: the copy is consistent
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        subprocess.run(["cp", "-a", str(self.tmp / "data"), str(partial)], check=True)
        partial.rename(folder)  # a copy cut short is never taken for a saved one
        self._launch(self.tmp / "data")

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        """An autocommit connection to ``database`` on this server."""
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=SUPERUSER,
            dbname=database,
            autocommit=True,
            connect_timeout=10,
        )

    def create_database(self, name: str) -> str:
        """Create database ``name``; its SQLAlchemy URL."""
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def _wait_ready(self) -> bool:
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with self.connect() as conn:
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
        """Stop the server and delete its directory."""
        self._terminate()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        _RUNNING.discard(self)
