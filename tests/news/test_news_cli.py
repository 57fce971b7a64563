"""``python -m risk extract``: JSON, the native CSV that ingest loads, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent.parent
REPORT = ROOT / "tests/data/news/13_sidon_tyre.txt"


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RISK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    env["RISK_LOAD_DEMO"] = "0"
    return subprocess.run(
        [sys.executable, "-m", "risk", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_json_lists_the_incidents_and_the_csv_loads(tmp_path):
    csv_path = tmp_path / "candidates.csv"
    result = run(
        "extract", str(REPORT), "--date", "2024-03-04", "--json", "--csv", str(csv_path),
        tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["report_date"] == "2024-03-04"
    assert payload["title"] == "Israeli drone strike near Tyre"
    first = payload["incidents"][0]
    assert set(first) >= {"date", "country", "admin1", "location", "latitude", "longitude"}
    assert set(first) >= {"category", "actor1", "actor2", "fatalities", "notes", "source_text"}
    assert (first["location"], first["fatalities"], first["date"]) == ("Tyre", 2, "2024-03-03")
    assert 0 < first["confidence"] <= 1 and first["reasons"]
    unknown = payload["incidents"][1]
    assert unknown["location"] == "Kfar Kila" and unknown["latitude"] is None
    assert any("not in the gazetteer" in r for r in unknown["reasons"])

    loaded = run("ingest", str(csv_path), "--json", tmp_path=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    batch = json.loads(loaded.stdout)["batches"][0]
    assert (batch["format"], batch["added"], batch["rejected"]) == ("native", 2, [])


def test_errors_are_one_line_with_status_1(tmp_path):
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    undated = tmp_path / "undated.txt"
    undated.write_text("Rockets hit Erbil on Monday.", encoding="utf-8")
    for args in (
        ["extract", str(tmp_path / "missing.txt")],
        ["extract", str(binary), "--date", "2024-01-01"],
        ["extract", str(undated)],
        ["extract", str(REPORT), "--date", "4 March"],
        ["extract", "http://127.0.0.1:9/report", "--date", "2024-01-01"],
    ):
        result = run(*args, tmp_path=tmp_path)
        assert result.returncode == 1, (args, result.stdout)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
        assert "Traceback" not in result.stderr
