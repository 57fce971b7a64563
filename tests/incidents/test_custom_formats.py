"""Saved column mappings for other providers' exports (data/formats/NAME.toml)."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from risk.incidents.csv_reader import FileProblem
from risk.incidents.custom_formats import (
    ColumnMapping,
    FormatFileError,
    load_mapping,
    save_mapping,
)
from risk.incidents.formats import open_incident_file

DATA = Path(__file__).parents[1] / "data"
ROOT = Path(__file__).parents[2]

NGO = ColumnMapping(
    name="ngo",
    label="NGO incident export",
    columns={
        "id": "ID",
        "date": "Date",
        "country": "Country",
        "admin1": "Admin 1",
        "admin2": "Admin 2",
        "location": "Location",
        "actor1": "Reported Perpetrator Name",
        "latitude": "Latitude",
        "longitude": "Longitude",
    },
    date_format="%d/%m/%Y",
    category="violence_against_civilians",
)


@pytest.fixture
def formats(tmp_path, monkeypatch):
    monkeypatch.setenv("RISK_FORMATS_DIR", str(tmp_path))
    return tmp_path


def loaded(path, **kwargs):
    incident_file = open_incident_file(path, **kwargs)
    chunks = list(incident_file.chunks(0))
    import pandas as pd

    return (
        incident_file,
        pd.concat([c.incidents for c in chunks]),
        [r for c in chunks for r in c.rejections],
    )


def test_an_unknown_header_is_refused_with_the_way_in(formats):
    with pytest.raises(FileProblem, match="lacks required columns: event_type, fatalities"):
        open_incident_file(DATA / "ngo_incidents.csv")  # taken for a native log missing columns
    with pytest.raises(FileProblem, match="map its columns once on the Upload page"):
        open_incident_file(io.BytesIO(b"Ref,When,Where\n1,2,3\n"), name="x.csv")


def test_a_saved_mapping_loads_the_ngo_export_by_name_and_by_header(formats):
    path = save_mapping(NGO)
    assert path == formats / "ngo.toml" and load_mapping("ngo") == NGO
    for kwargs in ({"file_format": "ngo"}, {}):
        incident_file, frame, rejected = loaded(DATA / "ngo_incidents.csv", **kwargs)
        assert incident_file.format == "ngo" and rejected == []
        assert len(frame) == 12 and set(frame["source"]) == {"ngo"}
        first = frame.set_index("source_id").loc["NGO-0001"]
        assert str(first["event_date"].date()) == "2023-03-04"  # 04/03/2023, day first
        assert first["category"] == "violence_against_civilians" and first["violent"]
        assert first["admin1"] == "Hama" and first["fatalities"] == 0


def test_event_type_values_map_to_categories(formats, tmp_path):
    text = (
        "Ref,When,Nation,Kind,Killed\nr1,2024-01-02,Iraq,Airstrike,3\nr2,2024-01-03,Iraq,Sit-in,0\n"
    )
    (tmp_path / "f.csv").write_text(text, encoding="utf-8")
    save_mapping(
        ColumnMapping(
            name="watch",
            label="Watch log",
            columns={
                "id": "Ref",
                "date": "When",
                "country": "Nation",
                "event_type": "Kind",
                "fatalities": "Killed",
            },
            event_types={"airstrike": "remote_violence", "sit-in": "protest"},
        )
    )
    _, frame, rejected = loaded(tmp_path / "f.csv")
    assert rejected == []
    assert frame["category"].tolist() == ["remote_violence", "protest"]
    assert frame["fatalities"].tolist() == [3, 0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "acled"}, "not one of"),
        ({"name": "Bad Name"}, "lower-case letters"),
        ({"columns": {"country": "Country"}}, "map the date column"),
        ({"category": None}, "map the event type column"),
        ({"category": "massacre"}, "not one of battle"),
        ({"columns": {"date": "Date", "country": "Date"}}, "mapped to two fields"),
    ],
)
def test_bad_mappings_are_refused_clearly(formats, change, message):
    with pytest.raises(FormatFileError, match=message):
        save_mapping(ColumnMapping(**{**NGO.__dict__, **change}))


def test_cli_ingests_with_a_saved_mapping_and_names_unknown_ones(formats, tmp_path):
    save_mapping(NGO)
    env = {
        **os.environ,
        "RISK_FORMATS_DIR": str(formats),
        "RISK_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
        "RISK_LOAD_DEMO": "0",
    }

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "risk", *args], env=env, cwd=ROOT, capture_output=True, text=True
        )

    done = run("ingest", str(DATA / "ngo_incidents.csv"), "--format", "ngo", "--json")
    assert done.returncode == 0, done.stderr
    batch = json.loads(done.stdout)["batches"][0]
    assert (batch["format"], batch["added"]) == ("ngo", 12)
    unknown = run("ingest", str(DATA / "ngo_incidents.csv"), "--format", "nosuch")
    assert unknown.returncode == 1 and "unknown format 'nosuch'" in unknown.stderr
    assert "ngo" in unknown.stderr
