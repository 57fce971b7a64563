"""A big file is read in a child process; the store and the report must not tell the difference."""

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from risk.incidents.child_reader import child_reader_wanted
from risk.incidents.csv_reader import FileProblem
from risk.store.database import Store, incidents, rejected_rows
from risk.store.ingest import ingest_file

DATA = Path(__file__).parents[1] / "data"
# Files whose rows are read (not refused at the header): good exports of every format, and the
# bad-input corpus's row-level problems, odd encodings and parse failures mid-file.
FILES = [
    DATA / name
    for name in (
        "acled_current.csv",
        "acled_old_export.csv",
        "acled_dayfirst_dates.csv",
        "ucdp_ged_current.csv",
        "native_log.csv",
        "bad/11_ambiguous_dates.csv",
        "bad/12_mixed_date_orders.csv",
        "bad/14_future_dates.csv",
        "bad/16_coordinates_out_of_range.csv",
        "bad/19_duplicate_ids.csv",
        "bad/20_field_of_200k_characters.csv",
        "bad/21_truncated_last_line.csv",
        "bad/22_unterminated_quote.csv",
        "bad/26_mixed_line_endings.csv",
        "bad/28_million_empty_lines.csv.gz",
        "bad/32_semicolon_separated.csv",
        "bad/34_excel_serial_dates.csv",
        "bad/40_quoted_newlines_and_commas.csv",
    )
]


def _outcome(store: Store, path: Path) -> tuple:
    """What loading ``path`` said and stored: the refusal, or the report and the rows."""
    try:
        report = ingest_file(store, path)
    except FileProblem as problem:
        return ("refused", str(problem))
    with store.read() as connection:
        stored = connection.execute(
            sa.select(*(c for c in incidents.c if c.name != "id")).order_by(
                incidents.c.source, incidents.c.source_id
            )
        ).all()
        rejected = connection.execute(
            sa.select(rejected_rows.c.line, rejected_rows.c.reason, rejected_rows.c.raw).order_by(
                rejected_rows.c.line
            )
        ).all()
    said = report.as_json()
    said.pop("batch_id")
    return ("loaded", said, [tuple(r) for r in stored], [tuple(r) for r in rejected])


def _in_child(monkeypatch: pytest.MonkeyPatch, always: bool) -> None:
    monkeypatch.setenv("RISK_CHILD_READER_MB", "0" if always else "1e9")


def test_a_file_read_in_a_child_loads_exactly_as_in_process(tmp_path, monkeypatch):
    for number, path in enumerate(FILES):
        outcomes = []
        for always in (False, True):
            _in_child(monkeypatch, always)
            assert child_reader_wanted(path) is always
            store = Store(f"sqlite:///{tmp_path}/{number}-{always}.db")
            outcomes.append(_outcome(store, path))
            store.dispose()
        assert outcomes[0] == outcomes[1], path.name


def test_only_big_files_on_disk_go_to_a_child(tmp_path, monkeypatch):
    monkeypatch.delenv("RISK_CHILD_READER_MB", raising=False)
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    small.write_bytes(b"x" * 1000)
    with big.open("wb") as handle:
        handle.truncate(64 << 20)
    assert not child_reader_wanted(small)
    assert child_reader_wanted(big)
    assert not child_reader_wanted(io.BytesIO(b"x" * (65 << 20)))  # uploads stay in-process
    assert not child_reader_wanted(tmp_path / "missing.csv")


def test_a_size_that_is_not_a_number_is_said_and_the_default_used(tmp_path, monkeypatch, caplog):
    big = tmp_path / "big.csv"
    with big.open("wb") as handle:
        handle.truncate(64 << 20)
    monkeypatch.setenv("RISK_CHILD_READER_MB", "lots")
    assert child_reader_wanted(big)
    assert not child_reader_wanted(tmp_path / "missing.csv")
    assert "RISK_CHILD_READER_MB='lots' is not a number of megabytes; using 64" in caplog.text


def test_the_child_finds_the_project_from_any_working_directory(tmp_path):
    # As under `streamlit run /path/dashboard.py` started elsewhere: the loader has the project
    # on its sys.path, its working directory and PYTHONPATH do not.
    path = tmp_path / "log.csv"
    _native(path, 50)
    root = Path(__file__).resolve().parents[2]
    script = (
        f"import sys; sys.path.insert(0, {str(root)!r})\n"
        "from risk.store.database import Store\n"
        "from risk.store.ingest import ingest_file\n"
        f"print(ingest_file(Store({f'sqlite:///{tmp_path}/s.db'!r}), {str(path)!r}).added)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**env, "RISK_CHILD_READER_MB": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "50"


def _native(path: Path, rows: int) -> None:
    with path.open("w") as handle:
        handle.write("id,date,country,admin1,event_type,fatalities,notes\n")
        for i in range(rows):
            handle.write(f"k{i},2024-01-{i % 28 + 1:02d},Iraq,Baghdad,battle,{i % 3},note {i}\n")


def test_a_row_limit_stops_the_child_and_stores_nothing(tmp_path, monkeypatch):
    _in_child(monkeypatch, True)
    path = tmp_path / "many.csv"
    _native(path, 200_000)
    store = Store(f"sqlite:///{tmp_path}/s.db")
    before = _children()
    with pytest.raises(FileProblem, match="more than 1,000 rows"):
        ingest_file(store, path, max_rows=1_000)
    assert _children() == before  # the reader was stopped and reaped
    with store.read() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(incidents)).scalar() == 0
    store.dispose()


def _children(pid: int | None = None) -> set[int]:
    """Process ids whose parent is ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def test_killing_the_loader_leaves_the_store_unchanged_and_the_reader_stops(tmp_path):
    path = tmp_path / "big.csv"
    _native(path, 400_000)
    url = f"sqlite:///{tmp_path}/s.db"
    Store(url).dispose()
    env = {
        **os.environ,
        "RISK_DATABASE_URL": url,
        "RISK_CHILD_READER_MB": "0",
        "PYTHONPATH": str(Path.cwd()),
    }
    loader = subprocess.Popen(
        [sys.executable, "-m", "risk", "ingest", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    reader: set[int] = set()
    while time.monotonic() < deadline and not reader:
        assert loader.poll() is None, "the load ended before its reader started"
        reader = _children(loader.pid)
        time.sleep(0.01)
    time.sleep(1.5)  # rows are being read and written in the loader's transaction
    assert loader.poll() is None, "the load ended before it could be killed"
    loader.send_signal(signal.SIGKILL)
    loader.wait()
    (child,) = reader
    deadline = time.monotonic() + 20
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child), "the reader kept running after its loader was killed"
    store = Store(url)
    with store.read() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(incidents)).scalar() == 0
    store.dispose()


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
