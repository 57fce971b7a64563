"""The schema's row checks (computed directly) against the declared pandera schema."""

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from risk.incidents.schema import COLUMNS, MAX_TEXT_LENGTH, incident_schema, validate_incidents

# Values at and around every limit the schema sets, and missing values where a column allows.
short_text = st.one_of(st.none(), st.text(max_size=5))
DATES = ["1988-12-31", "1989-01-01", "2024-01-20", "2099-01-01"]


@st.composite
def incident_rows(draw):
    limit = draw(st.sampled_from(["country", "notes", "actor1", "source_id"]))
    long = "x" * (MAX_TEXT_LENGTH[limit] + draw(st.sampled_from([0, 1])))
    row = {
        "source": draw(st.sampled_from(["acled", "native", "x", "Acled"])),
        "source_id": draw(st.sampled_from(["", "a1", "b2"])),
        "event_date": pd.Timestamp(draw(st.sampled_from(DATES))),
        "country": draw(st.one_of(st.none(), st.just("Iraq"))),
        "admin1": draw(short_text),
        "admin2": draw(short_text),
        "location": draw(short_text),
        "latitude": draw(st.one_of(st.none(), st.sampled_from([-90.0, 33.3, 90.0, 90.5, -91.0]))),
        "longitude": draw(st.one_of(st.none(), st.sampled_from([-180.0, 44.0, 180.5]))),
        "source_event_type": draw(short_text),
        "category": draw(st.sampled_from(["battle", "riot", "kidnapping"])),
        "violent": draw(st.booleans()),
        "actor1": draw(short_text),
        "actor2": draw(short_text),
        "fatalities": draw(st.sampled_from([-1, 0, 3, 100_000, 100_001])),
        "notes": draw(short_text),
        "source_text": draw(short_text),
        "revision_time": draw(st.one_of(st.none(), st.integers(0, 2**40))),
        "date_end": None,
        "date_precision": draw(st.one_of(st.none(), st.integers(1, 5))),
        "geo_precision": draw(st.one_of(st.none(), st.integers(1, 3))),
        "week_precise": draw(st.booleans()),
        "place_precise": draw(st.booleans()),
        "details": draw(short_text),
    }
    if draw(st.booleans()):
        row[limit] = long
    row["id"] = f"{row['source']}:{row['source_id']}"
    return row


def frame_of(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, index=pd.Index(range(2, 2 + len(rows)), name="line"))
    for name in ("latitude", "longitude"):
        frame[name] = frame[name].astype(float)
    for name in ("revision_time", "date_precision", "geo_precision"):
        frame[name] = frame[name].astype("Int64")
    for name in ("event_date", "date_end"):
        frame[name] = pd.to_datetime(frame[name]).astype("datetime64[us]")
    text = [c for c in COLUMNS if frame[c].dtype == object]
    frame[text] = frame[text].astype("str")
    return frame[list(COLUMNS)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(incident_rows(), min_size=1, max_size=6))
def test_the_row_checks_reject_exactly_what_the_declared_schema_rejects(rows):
    frame = frame_of(rows)
    valid, reasons = validate_incidents(frame)
    try:
        incident_schema().validate(frame, lazy=True)
        declared_bad: set[int] = set()
    except Exception as errors:  # pandera's SchemaErrors
        cases = errors.failure_cases
        declared_bad = {int(i) for i in cases["index"].dropna()}
    assert set(reasons) == declared_bad
    assert set(valid.index) == set(frame.index) - declared_bad
    if not valid.empty:
        incident_schema().validate(valid)


def test_each_failed_check_is_named_with_the_value():
    row = dict.fromkeys(COLUMNS)
    row.update(
        id="native:a1",
        source="native",
        source_id="a1",
        event_date=pd.Timestamp("2024-01-20"),
        country="Iraq",
        latitude=95.0,
        longitude=40.0,
        category="battle",
        violent=True,
        fatalities=-2,
        week_precise=True,
        place_precise=True,
    )
    good = {**row, "source_id": "a2", "latitude": 33.0, "fatalities": 0}
    valid, reasons = validate_incidents(frame_of([row, good]))
    assert reasons == {2: "latitude '95.0' is outside -90..90; fatalities '-2' is negative"}
    assert valid.index.tolist() == [3]
