import datetime as dt
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from risk.incidents.csv_reader import FileProblem
from risk.incidents.formats import open_incident_file
from risk.incidents.schema import COLUMNS, incident_schema

DATA = Path(__file__).parents[1] / "data"


def load(source, **kwargs):
    incident_file = open_incident_file(source, **kwargs)
    chunks = list(incident_file.chunks(ingest_time=1_700_000_000))
    frame = pd.concat([c.incidents for c in chunks]) if chunks else pd.DataFrame()
    rejections = [r for c in chunks for r in c.rejections]
    return incident_file, frame, rejections


def csv_bytes(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode())


@pytest.mark.parametrize(
    "name",
    [
        "acled_current.csv",
        "acled_old_export.csv",
        "acled_spreadsheet_dates.csv",
        "acled_dayfirst_dates.csv",
    ],
)
def test_acled_variants_load_to_the_same_incidents(name):
    incident_file, frame, rejections = load(DATA / name)
    _, reference, _ = load(DATA / "acled_current.csv")
    assert incident_file.format == "acled"
    assert rejections == []
    assert list(frame.columns) == list(COLUMNS)
    incident_schema().validate(frame)
    # Older exports code inter1/2 as numbers and lack disorder_type: the kept details differ.
    pd.testing.assert_frame_equal(frame.drop(columns="details"), reference.drop(columns="details"))


def test_acled_fields_are_mapped():
    _, frame, _ = load(DATA / "acled_current.csv")
    base = frame.set_index("source_id").loc["IRQ40001"]
    assert base["id"] == "acled:IRQ40001"
    assert base["event_date"] == pd.Timestamp("2024-01-20")
    assert base["category"] == "remote_violence"
    assert base["violent"]
    assert "minor" in base["notes"] and "\n" in base["notes"]
    assert base["revision_time"] == 1705951200
    assert base["source_text"] == "Reuters; Al Jazeera"
    protest = frame.set_index("source_id").loc["IRN60001"]
    assert protest["category"] == "protest"
    assert protest["violent"], "excessive force against protesters is political violence"
    strategic = frame.set_index("source_id").loc["YEM50001"]
    assert strategic["category"] == "strategic" and not strategic["violent"]


def test_old_export_reports_what_it_ignored():
    incident_file, _, _ = load(DATA / "acled_old_export.csv")
    assert "4 columns not used (data_id, iso3, event_id_no_cnty, date_saved)" in (
        incident_file.read_as
    )


def test_a_standard_acled_export_loads_without_alarms_and_keeps_its_details():
    incident_file, frame, _ = load(DATA / "acled_current.csv")
    assert "not used" not in incident_file.read_as
    assert "absent" not in incident_file.read_as
    row = frame.set_index("source_id").loc["IRQ40001"]
    details = json.loads(row["details"])
    assert {"sub_event_type", "disorder_type", "inter1", "interaction"} <= set(details)
    assert row["date_precision"] == 1 and row["geo_precision"] in (1, 2, 3)


def test_ambiguous_numeric_dates_refuse_the_file_naming_column_and_value():
    with pytest.raises(FileProblem, match=r"event_date.*(03/04/2024|04/03/2024)"):
        load(DATA / "acled_ambiguous_dates.csv")


def test_numeric_order_settled_late_in_the_file_applies_to_earlier_rows():
    header = "id,date,country,event_type,fatalities\n"
    rows = (
        "".join(f"n{i},03/04/2024,Iraq,battle,0\n" for i in range(5))
        + "n9,25/04/2024,Iraq,battle,0\n"
    )
    incident_file, frame, rejections = load(csv_bytes(header + rows))
    assert rejections == []
    assert set(frame["event_date"]) == {pd.Timestamp("2024-04-03"), pd.Timestamp("2024-04-25")}
    assert "day-first" in incident_file.read_as


@pytest.mark.parametrize(
    "name", ["ucdp_ged_current.csv", "ucdp_ged_19_1.csv", "ucdp_candidate.csv"]
)
def test_ucdp_releases_load(name):
    incident_file, frame, rejections = load(DATA / name)
    assert incident_file.format == "ucdp"
    assert rejections == []
    assert len(frame) == 4
    homs = frame[frame["admin1"] == "Homs Governorate"].iloc[0]
    assert homs["category"] == "battle" and homs["violent"] and homs["fatalities"] == 7
    assert homs["event_date"] == pd.Timestamp("2024-01-20")
    taizz = frame[frame["country"] == "Yemen (North Yemen)"].iloc[0]
    assert taizz["category"] == "violence_against_civilians"
    assert frame["revision_time"].isna().all()


def test_ucdp_notes_fall_back_to_the_place_description():
    _, frame, _ = load(DATA / "ucdp_ged_current.csv")
    row = frame.set_index("source_id").loc["478003"]
    assert row["notes"] == "Near Deir ez-Zor"


def test_native_log_loads_and_rows_without_id_get_a_stable_content_id():
    incident_file, frame, rejections = load(DATA / "native_log.csv")
    assert incident_file.format == "native"
    assert rejections == []
    assert frame["fatalities"].tolist() == [0, 0, 1]  # empty fatalities read as 0
    assert frame["category"].tolist() == ["remote_violence"] * 3
    hashed = frame["source_id"][frame["source_id"].str.startswith("h:")]
    assert len(hashed) == 2
    _, again, _ = load(DATA / "native_log.csv")
    assert again["source_id"].tolist() == frame["source_id"].tolist()
    assert frame.iloc[1]["country"] is None or pd.isna(frame.iloc[1]["country"])


def test_native_template_loads():
    incident_file, frame, rejections = load(Path("data/templates/native.csv"))
    assert incident_file.format == "native" and rejections == [] and len(frame) == 1


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("x1,2024-01-20,Iraq,battle,-1", "fatalities '-1' is negative"),
        ("x1,2024-01-20,Iraq,battle,lots", "fatalities 'lots' is not a number"),
        ("x1,2024-01-20,Iraq,battle,2.5", "not a whole number"),
        ("x1,2099-01-20,Iraq,battle,0", "is in the future"),
        ("x1,1900-01-01,Iraq,battle,0", "before 1989"),
        ("x1,2024-13-45,Iraq,battle,0", "date '2024-13-45' is not a valid calendar date"),
        ("x1,2024-01-20,Iraq,kidnapping,0", "event_type 'kidnapping'"),
        ("x1,2024-01-20,,battle,0", "needs a country or both latitude and longitude"),
    ],
)
def test_bad_rows_are_rejected_with_line_and_reason(row, reason):
    text = "id,date,country,event_type,fatalities\nok,2024-01-19,Iraq,battle,0\n" + row + "\n"
    _, frame, rejections = load(csv_bytes(text))
    assert frame["source_id"].tolist() == ["ok"]
    assert [r.line for r in rejections] == [3]
    assert reason in rejections[0].reason
    assert rejections[0].raw["id"] == "x1"


def test_coordinates_out_of_range_are_rejected():
    text = "id,date,latitude,longitude,event_type,fatalities\na,2024-01-20,95,40,battle,0\n"
    _, frame, rejections = load(csv_bytes(text))
    assert frame.empty
    assert "latitude '95.0' is outside -90..90" in rejections[0].reason


def test_oversized_field_is_rejected_not_truncated():
    text = (
        f"id,date,country,event_type,fatalities,notes\na,2024-01-20,Iraq,battle,0,{'x' * 200_000}\n"
    )
    _, frame, rejections = load(csv_bytes(text))
    assert frame.empty
    assert "notes (200,000 characters) is longer than 100,000 characters" in rejections[0].reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,c\n1,2,3\n", "unknown format"),
        (
            "event_id_cnty,event_date,event_type,country\nX1,2024-01-20,Battles,Iraq\n",
            "lacks required column: fatalities",
        ),
        ("id,date,country,event_type,fatalities\n", "no data rows"),
    ],
)
def test_unusable_files_raise_one_clear_problem(text, message):
    with pytest.raises(FileProblem, match=message):
        load(csv_bytes(text), name="upload.csv")


def test_forced_format_must_fit_the_header():
    with pytest.raises(FileProblem, match="UCDP.*lacks required columns"):
        load(DATA / "acled_current.csv", file_format="ucdp")


def test_arabic_and_markup_text_survive_verbatim():
    notes = '<script>alert(1)</script> =HYPERLINK("http://x") قصف على مدينة حمص'
    quoted = notes.replace('"', '""')
    text = (
        "id,date,country,event_type,fatalities,actor1,notes\n"
        f'a,2024-01-20,سوريا,battle,0,قوات,"{quoted}"\n'
    )
    _, frame, rejections = load(csv_bytes(text))
    assert rejections == []
    assert frame.iloc[0]["notes"] == notes
    assert frame.iloc[0]["actor1"] == "قوات"


def test_event_dates_are_dates_not_times():
    _, frame, _ = load(DATA / "ucdp_ged_current.csv")
    assert all(d == d.normalize() for d in frame["event_date"])
    assert frame["event_date"].max() <= pd.Timestamp(dt.date.today())
