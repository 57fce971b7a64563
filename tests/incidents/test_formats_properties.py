"""Property tests: generated incident files with random corruption never break the loaders.

Whatever the bytes, a loader either accepts rows that pass the schema, rejects rows with a line
and a reason, or refuses the whole file with FileProblem. Nothing else escapes, and every data
row is accounted for.
"""

import csv
import io
import json

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from risk.incidents.csv_reader import FileProblem
from risk.incidents.formats import _details, open_incident_file
from risk.incidents.schema import incident_schema

FORMATS = {
    "acled": {
        "required": ["event_id_cnty", "event_date", "event_type", "country", "fatalities"],
        "optional": ["sub_event_type", "actor1", "actor2", "admin1", "latitude", "longitude",
                     "notes", "source", "timestamp", "inter1", "disorder_type"],
    },
    "ucdp": {
        "required": ["id", "date_start", "type_of_violence", "country", "best"],
        "optional": ["adm_1", "side_a", "side_b", "latitude", "longitude", "source_headline",
                     "where_coordinates"],
    },
    "native": {
        "required": ["date", "event_type", "fatalities", "country"],
        "optional": ["id", "admin1", "location", "latitude", "longitude", "actor1", "notes"],
    },
}  # fmt: skip

EVENT_TYPES = ["Battles", "Riots", "Protests", "battle", "remote violence", "Strategic developments",  # noqa: E501
               "Explosions/Remote violence", "nope", ""]  # fmt: skip
dates = st.one_of(
    st.dates(
        min_value=pd.Timestamp("1985-01-01").date(), max_value=pd.Timestamp("2030-12-31").date()
    ).map(str),
    st.sampled_from(
        ["20 January 2024", "20-Jan-24", "03/04/2024", "25/12/2023", "45311", "", "soon"]
    ),
)
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
numbers = st.one_of(st.integers(-5, 10_000).map(str), st.floats(allow_nan=True).map(str), text)
VALUES = {
    "event_date": dates, "date": dates, "date_start": dates,
    "event_type": st.sampled_from(EVENT_TYPES),
    "type_of_violence": st.sampled_from(["1", "2", "3", "3.0", "4", ""]),
    "fatalities": numbers, "best": numbers, "timestamp": numbers,
    "latitude": st.one_of(st.floats(-100, 100).map(str), text),
    "longitude": st.one_of(st.floats(-200, 200).map(str), text),
    "country": st.sampled_from(["Iraq", "Syria", "Yemen (North Yemen)", "", "عراق"]),
    "event_id_cnty": st.text("IRQ0123456789", min_size=0, max_size=6),
    "id": st.text("0123456789", min_size=0, max_size=4),
}  # fmt: skip


@st.composite
def incident_files(draw):
    name = draw(st.sampled_from(sorted(FORMATS)))
    spec = FORMATS[name]
    columns = spec["required"] + draw(st.lists(st.sampled_from(spec["optional"]), unique=True))
    columns = draw(st.permutations(columns))
    rows = draw(
        st.lists(
            st.fixed_dictionaries({c: VALUES.get(c, text) for c in columns}), min_size=1, max_size=8
        )
    )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    corruption = draw(st.sampled_from(["none", "truncate", "insert", "delete", "duplicate_line"]))
    if corruption == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif corruption == "insert":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    elif corruption == "delete":
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        data = data[:at] + data[at + draw(st.integers(1, 8)) :]
    elif corruption == "duplicate_line":
        lines = data.split(b"\n")
        pick = draw(st.integers(0, len(lines) - 1))
        data = b"\n".join(lines[: pick + 1] + [lines[pick]] + lines[pick + 1 :])
    return data


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(incident_files())
def test_loaders_accept_valid_rows_reject_with_reasons_or_refuse_the_file(data):
    try:
        incident_file = open_incident_file(io.BytesIO(data), name="generated.csv")
        chunks = list(incident_file.chunks(ingest_time=1_700_000_000))
    except FileProblem as problem:
        assert str(problem).startswith("generated.csv")
        return
    accepted = sum(len(c.incidents) for c in chunks)
    rejections = [r for c in chunks for r in c.rejections]
    for chunk in chunks:
        if not chunk.incidents.empty:
            incident_schema().validate(chunk.incidents)
    for rejection in rejections:
        assert rejection.reason.strip()
        assert rejection.line == -1 or rejection.line >= 2
    assert accepted + len(rejections) == incident_file.rows_read


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(text, text), min_size=1, max_size=5))
def test_details_are_exactly_the_json_of_the_non_empty_values(rows):
    raw = pd.DataFrame(rows, columns=["sub_event_type", "tags"], dtype="str")
    raw.index = raw.index + 2
    expected = []
    for values in rows:
        record = {k: v.strip() for k, v in zip(raw.columns, values, strict=True) if v.strip()}
        expected.append(json.dumps(record, ensure_ascii=False) if record else None)
    assert _details(raw, ("sub_event_type", "disorder_type", "tags")).tolist() == expected
