"""The ``python -m risk`` commands: output, exit codes and error lines.

Commands run in this process (``run_risk``, with the environment and working folder a child
process would get): a child costs about 2 s of imports, and these tests make some forty calls.
The test of unusable files runs the real ``python -m risk`` process, so the entry point and its
stderr stay tested end to end.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_risk

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


def environment(database_url: str, **env: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k != "RISK_THEATRES"}
    return {**inherited, "RISK_DATABASE_URL": database_url, **env}


def run(*args: str, database_url: str, **env: str) -> subprocess.CompletedProcess:
    """``python -m risk ARGS`` in this process: its exit code, stdout and stderr."""
    return run_risk(*args, env=environment(database_url, **env))


def run_process(*args: str, database_url: str) -> subprocess.CompletedProcess:
    """``python -m risk ARGS`` as a child process, as a user or cron runs it."""
    return subprocess.run(
        [sys.executable, "-m", "risk", *args],
        capture_output=True,
        text=True,
        env=environment(database_url),
        cwd=ROOT,
        timeout=120,
    )


def test_ingest_json_stats_batches_undo(database_url):
    result = run("ingest", str(DATA / "acled_current.csv"), "--json", database_url=database_url)
    assert result.returncode == 0, result.stderr
    batch = json.loads(result.stdout)["batches"][0]
    assert {
        "batch_id",
        "file",
        "format",
        "rows_read",
        "added",
        "updated",
        "duplicates",
        "rejected",
    } <= set(batch)
    assert (batch["format"], batch["added"], batch["rejected"]) == ("acled", 8, [])

    stats = json.loads(run("stats", "--json", database_url=database_url).stdout)
    assert stats["total_incidents"] == 8
    iraq = next(t for t in stats["theatres"] if t["theatre"] == "Iraq")
    assert iraq == {
        "theatre": "Iraq",
        "incidents": 1,
        "violent": 1,
        "fatalities": 0,
        "first_date": "2024-01-20",
        "last_date": "2024-01-20",
        "sources": ["acled"],
        "coverage_end": "2024-01-20",
    }

    listed = json.loads(run("batches", "--json", database_url=database_url).stdout)["batches"]
    assert [b["id"] for b in listed] == [batch["batch_id"]]

    undone = run("undo", str(batch["batch_id"]), database_url=database_url)
    assert undone.returncode == 0 and "removed 8" in undone.stdout
    stats = json.loads(run("stats", "--json", database_url=database_url).stdout)
    assert stats["total_incidents"] == 0


def test_rejected_rows_are_reported_and_the_file_still_counts_as_ingested(sqlite_url, tmp_path):
    bad = tmp_path / "log.csv"
    bad.write_text(
        "id,date,country,event_type,fatalities\na,2024-01-20,Iraq,battle,-1\nb,2024-01-20,Iraq,battle,0\n"
    )
    result = run("ingest", str(bad), "--json", database_url=sqlite_url)
    assert result.returncode == 0
    assert json.loads(result.stdout)["batches"][0]["rejected"] == [
        {"line": 2, "reason": "fatalities '-1' is negative"}
    ]
    human = run("ingest", str(bad), database_url=sqlite_url)
    assert "line 2: fatalities '-1' is negative" in human.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"a,b\n1,2\n", "unknown format"),
        ("id,date\n1,caf\xe9\n".encode("latin-1"), "not valid UTF-8"),
    ],
)
def test_unusable_file_is_one_line_on_stderr_and_nonzero(sqlite_url, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = run_process("ingest", str(path), database_url=sqlite_url)
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
    assert (
        json.loads(run("stats", "--json", database_url=sqlite_url).stdout)["total_incidents"] == 0
    )


def test_theatres_option_and_environment_are_honoured(sqlite_url, tmp_path):
    run("ingest", str(DATA / "acled_current.csv"), database_url=sqlite_url)
    custom = tmp_path / "t.toml"
    custom.write_text('[[theatre]]\nname = "Gulf"\ncountries = ["Iran", "Iraq", "Yemen"]\n')
    for result in (
        run("stats", "--json", "--theatres", str(custom), database_url=sqlite_url),
        run("--theatres", str(custom), "stats", "--json", database_url=sqlite_url),
        run("stats", "--json", database_url=sqlite_url, RISK_THEATRES=str(custom)),
    ):
        names = [t["theatre"] for t in json.loads(result.stdout)["theatres"]]
        assert names == ["Gulf", "Other"]


def test_bad_theatres_file_and_bad_database_are_clear(sqlite_url, tmp_path):
    broken = tmp_path / "t.toml"
    broken.write_text('[[theatre]]\nname = "X"\n')
    result = run("stats", "--theatres", str(broken), database_url=sqlite_url)
    assert result.returncode == 1 and "give countries, regions or a bbox" in result.stderr
    result = run(
        "stats", database_url="postgresql+psycopg://u:hunter2@127.0.0.1:1/x?connect_timeout=2"
    )
    assert result.returncode == 1
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr


def test_undo_of_unknown_batch(sqlite_url):
    result = run("undo", "42", database_url=sqlite_url)
    assert result.returncode == 1 and "no batch 42" in result.stderr


def test_weekly_counts_show_source_coverage_and_gaps(sqlite_url, tmp_path):
    ucdp = run("ingest", str(DATA / "ucdp_syria_2016_2017.csv"), database_url=sqlite_url)
    assert ucdp.returncode == 0, ucdp.stderr
    log = tmp_path / "log.csv"
    log.write_text("id,date,country,event_type,fatalities\na,2017-05-10,Syria,battle,3\n")
    stated = run("ingest", str(log), "--covers", "2017-05-01:2017-05-21", database_url=sqlite_url)
    assert stated.returncode == 0, stated.stderr
    result = run(
        "weekly", "--theatre", "Syria", "--from", "2017-03-20", "--json", database_url=sqlite_url
    )
    assert result.returncode == 0, result.stderr
    weeks = {w["week"]: w for w in json.loads(result.stdout)["weeks"]}
    assert weeks["2017-03-27"]["source"] == "ucdp" and weeks["2017-03-27"]["covered"]
    gap = weeks["2017-04-10"]
    assert gap == {
        "week": "2017-04-10",
        "theatre": "Syria",
        "source": None,
        "covered": False,
        "incidents": None,
        "violent": None,
        "fatalities": None,
        "surge": None,
    }
    assert [weeks[w]["violent"] for w in ("2017-05-01", "2017-05-08", "2017-05-15")] == [0, 1, 0]
    assert max(weeks) == "2017-05-15"
    stats = json.loads(run("stats", "--json", database_url=sqlite_url).stdout)
    syria = next(t for t in stats["theatres"] if t["theatre"] == "Syria")
    assert syria["sources"] == ["ucdp", "native"] and syria["coverage_end"] == "2017-05-21"
    surges = {}
    for target in ("acled", "default"):
        marked = run("weekly", "--target", target, "--json", database_url=sqlite_url)
        assert marked.returncode == 0, marked.stderr
        found = json.loads(marked.stdout)
        assert found["target"] == target
        surges[target] = {(w["theatre"], w["week"]) for w in found["weeks"] if w["surge"]}
    # The default target asks more of a rise than ACLED's rule: its surges are a subset.
    assert surges["default"] <= surges["acled"]
    bad = run("ingest", str(log), "--covers", "2017-05-01", database_url=sqlite_url)
    assert bad.returncode == 1 and "START:END" in bad.stderr
    unknown = run("weekly", "--theatre", "Atlantis", database_url=sqlite_url)
    assert unknown.returncode == 1 and "not a theatre" in unknown.stderr


def test_unmatched_places_are_listed_with_counts(sqlite_url, tmp_path):
    assert (
        run("ingest", str(DATA / "acled_syria_2017.csv"), database_url=sqlite_url).returncode == 0
    )
    theatres = tmp_path / "t.toml"
    theatres.write_text(
        '[[theatre]]\nname = "Idlib"\nregions = ["Syria/Idlib Governorate"]\n'
        '[[theatre]]\nname = "Damascus area"\nregions = ["Syria/Rif Dimashq", "Syria/Damascus"]\n'
    )
    result = run(
        "--theatres", str(theatres), "theatres", "--unmatched", "--json", database_url=sqlite_url
    )
    assert result.returncode == 0, result.stderr
    unmatched = json.loads(result.stdout)["unmatched"]
    names = {row["admin1"] for row in unmatched}
    assert "Idleb" not in names and "Rural Damascus" not in names and "Damascus" not in names
    assert {"Hama", "Dara", "Lattakia"} <= names
    dara = next(row for row in unmatched if row["admin1"] == "Dara")
    assert dara["canonical"] == "Daraa" and dara["incidents"] > 0
