"""The canonical incident schema: what every loader produces and the store accepts.

A loader turns its format into a frame with :data:`COLUMNS` (index = the line of the file the
row came from) and hands it to :func:`validate_incidents`, which splits it into rows that pass
:func:`incident_schema` and rejections with a reason per line.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import pandera.pandas as pa

SOURCES = ("acled", "ucdp", "native")

CATEGORIES = (
    "battle",
    "remote_violence",
    "violence_against_civilians",
    "riot",
    "protest",
    "strategic",
)
# ACLED's political violence: battles, explosions/remote violence, violence against civilians and
# riots. Protests count only when met with excessive force (the loaders set that per row).
VIOLENT_CATEGORIES = frozenset({"battle", "remote_violence", "violence_against_civilians", "riot"})

# Earliest event date the store accepts: UCDP's coverage starts in 1989, ACLED's in 1997. Earlier
# dates in incident files are nearly always spreadsheet artefacts (1900-01-00 is Excel's zero).
MIN_EVENT_DATE = pd.Timestamp("1989-01-01")

# Longest text the store keeps per field; longer values are rejected rather than truncated.
MAX_TEXT_LENGTH = {
    "source_id": 200,
    "country": 200,
    "admin1": 200,
    "admin2": 200,
    "location": 500,
    "source_event_type": 200,
    "actor1": 1_000,
    "actor2": 1_000,
    "notes": 100_000,
    "source_text": 20_000,
    "details": 20_000,
}

COLUMNS = (
    "id",
    "source",
    "source_id",
    "event_date",
    "country",
    "admin1",
    "admin2",
    "location",
    "latitude",
    "longitude",
    "source_event_type",
    "category",
    "violent",
    "actor1",
    "actor2",
    "fatalities",
    "notes",
    "source_text",
    "revision_time",
    "date_end",
    "date_precision",
    "geo_precision",
    "week_precise",
    "place_precise",
    "details",
)

# Precision rules (README, "Date and place precision"). An event known only to a span longer
# than a week (UCDP date_prec 4-5 or a date_end 7+ days after the start; ACLED time_precision
# 3, "month or longer") is kept and shown, flagged, but left out of weekly counts: putting a
# year's deaths into its first week invents a surge. An event located only to a region or the
# whole country (UCDP where_prec 5-7; ACLED geo_precision 3) is no map point and no "place":
# its coordinates are a centroid.
WEEK_SPAN_DAYS = 7

TEXT_COLUMNS = tuple(MAX_TEXT_LENGTH)


def _today_plus_one() -> pd.Timestamp:
    # One day of slack: an event "today" in a time zone ahead of UTC is not in the future.
    return pd.Timestamp(dt.datetime.now(dt.UTC).date()) + pd.Timedelta(days=1)


def _not_in_future(dates: pd.Series) -> pd.Series:
    return dates <= _today_plus_one()


def _text(column: str, *, nullable: bool = True) -> pa.Column:
    import pandera.pandas as pa

    limit = MAX_TEXT_LENGTH[column]
    return pa.Column(
        str,
        pa.Check.str_length(max_value=limit, error=f"is longer than {limit:,} characters"),
        nullable=nullable,
    )


@cache
def incident_schema() -> pa.DataFrameSchema:
    """The schema as a pandera ``DataFrameSchema``: the declared rules, which tests hold every
    accepted row to. Loads use :func:`validate_incidents` (the same rules, computed directly);
    pandera is imported only here, as it takes a second to import.
    """
    import pandera.pandas as pa

    return pa.DataFrameSchema(
        {
            "id": pa.Column(str, nullable=False),
            # acled, ucdp, native, or a saved column mapping's name (risk.incidents.custom_formats)
            "source": pa.Column(
                str, pa.Check.str_matches(r"^[a-z]{2,10}$", error="is not a source name")
            ),
            "source_id": pa.Column(
                str,
                [
                    pa.Check.str_length(min_value=1, error="is empty"),
                    pa.Check.str_length(max_value=200, error="is longer than 200 characters"),
                ],
            ),
            "event_date": pa.Column(
                "datetime64[us]",
                [
                    pa.Check.ge(
                        MIN_EVENT_DATE, error="is before 1989-01-01 (spreadsheet artefact?)"
                    ),
                    pa.Check(_not_in_future, error="is in the future"),
                ],
            ),
            "country": _text("country"),
            "admin1": _text("admin1"),
            "admin2": _text("admin2"),
            "location": _text("location"),
            "latitude": pa.Column(
                float, pa.Check.in_range(-90, 90, error="is outside -90..90"), nullable=True
            ),
            "longitude": pa.Column(
                float, pa.Check.in_range(-180, 180, error="is outside -180..180"), nullable=True
            ),
            "source_event_type": _text("source_event_type"),
            "category": pa.Column(
                str, pa.Check.isin(CATEGORIES, error=f"is not one of {', '.join(CATEGORIES)}")
            ),
            "violent": pa.Column(bool),
            "actor1": _text("actor1"),
            "actor2": _text("actor2"),
            "fatalities": pa.Column(
                "int64",
                [
                    pa.Check.ge(0, error="is negative"),
                    # Larger than any single recorded event; almost always a typo or a sum row.
                    pa.Check.le(100_000, error="is over 100,000 for one event"),
                ],
            ),
            "notes": _text("notes"),
            "source_text": _text("source_text"),
            "revision_time": pa.Column("Int64", nullable=True),
            "date_end": pa.Column("datetime64[us]", nullable=True),
            "date_precision": pa.Column("Int64", nullable=True),
            "geo_precision": pa.Column("Int64", nullable=True),
            "week_precise": pa.Column(bool),
            "place_precise": pa.Column(bool),
            "details": _text("details"),
        },
        checks=[
            pa.Check(
                lambda df: (
                    df["country"].notna() | (df["latitude"].notna() & df["longitude"].notna())
                ),
                error="needs a country or both latitude and longitude",
            )
        ],
        strict=True,
        ordered=True,
    )


def empty_incidents() -> pd.DataFrame:
    """An empty frame with the canonical columns and dtypes."""
    return pd.DataFrame(
        {
            "id": pd.Series(dtype=str),
            "source": pd.Series(dtype=str),
            "source_id": pd.Series(dtype=str),
            "event_date": pd.Series(dtype="datetime64[us]"),
            **{c: pd.Series(dtype=str) for c in ("country", "admin1", "admin2", "location")},
            "latitude": pd.Series(dtype=float),
            "longitude": pd.Series(dtype=float),
            "source_event_type": pd.Series(dtype=str),
            "category": pd.Series(dtype=str),
            "violent": pd.Series(dtype=bool),
            "actor1": pd.Series(dtype=str),
            "actor2": pd.Series(dtype=str),
            "fatalities": pd.Series(dtype="int64"),
            "notes": pd.Series(dtype=str),
            "source_text": pd.Series(dtype=str),
            "revision_time": pd.Series(dtype="Int64"),
            "date_end": pd.Series(dtype="datetime64[us]"),
            "date_precision": pd.Series(dtype="Int64"),
            "geo_precision": pd.Series(dtype="Int64"),
            "week_precise": pd.Series(dtype=bool),
            "place_precise": pd.Series(dtype=bool),
            "details": pd.Series(dtype=str),
        }
    )[list(COLUMNS)]


def _row_checks(frame: pd.DataFrame) -> list[tuple[str | None, pd.Series, str]]:
    """The schema's row checks as ``(column, passes, error)``; column None: a whole-row check.

    The same rules as :func:`incident_schema`, computed directly: pandera's per-check
    machinery took a third of a load's validation time. The tests hold every accepted row to
    :func:`incident_schema` itself.
    """
    checks: list[tuple[str | None, pd.Series, str]] = []
    for column in ("id", "source", "source_id", "category"):
        checks.append((column, frame[column].notna(), "is empty"))
    checks.append(
        (
            "source",
            frame["source"].fillna("").str.fullmatch(r"[a-z]{2,10}"),
            "is not a source name",
        )
    )
    checks.append(("source_id", frame["source_id"].str.len() >= 1, "is empty"))
    dates = frame["event_date"]
    checks.append(
        ("event_date", dates >= MIN_EVENT_DATE, "is before 1989-01-01 (spreadsheet artefact?)")
    )
    checks.append(("event_date", _not_in_future(dates), "is in the future"))
    for column in TEXT_COLUMNS:
        limit = MAX_TEXT_LENGTH[column]
        passes = ~(frame[column].str.len() > limit)
        checks.append((column, passes, f"is longer than {limit:,} characters"))
    for column, bound in (("latitude", 90), ("longitude", 180)):
        values = frame[column]
        passes = values.isna() | values.between(-bound, bound)
        checks.append((column, passes, f"is outside -{bound}..{bound}"))
    checks.append(
        (
            "category",
            frame["category"].isin(CATEGORIES),
            f"is not one of {', '.join(CATEGORIES)}",
        )
    )
    checks.append(("fatalities", frame["fatalities"] >= 0, "is negative"))
    checks.append(("fatalities", frame["fatalities"] <= 100_000, "is over 100,000 for one event"))
    located = frame["country"].notna() | (frame["latitude"].notna() & frame["longitude"].notna())
    checks.append((None, located, "needs a country or both latitude and longitude"))
    return checks


def validate_incidents(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, str]]:
    """Split ``frame`` into the rows that pass the schema and ``{line: reason}`` for the rest.

    The frame's index is the file line of each row; a row failing several checks gets one
    reason listing each failure (column, value, what is wrong).
    """
    if list(frame.columns) != list(COLUMNS):
        # A wrong set of columns is a loader bug, not bad input.
        raise RuntimeError(f"loader produced an invalid frame: columns {list(frame.columns)}")
    reasons: dict[int, list[str]] = {}
    failed = np.zeros(len(frame), dtype=bool)
    for column, passes, error in _row_checks(frame):
        fails = ~passes.fillna(False).to_numpy(dtype=bool)
        if not fails.any():
            continue
        failed |= fails
        values = frame[column][fails] if column else pd.Series(None, index=frame.index[fails])
        for line, value in values.items():
            text = error if column is None else f"{column} {_show(column, value)} {error}"
            reasons.setdefault(int(line), []).append(text)
    valid = frame[~failed] if failed.any() else frame
    return valid, {line: "; ".join(texts) for line, texts in reasons.items()}


def _show(column: str, value: object) -> str:
    if column in TEXT_COLUMNS and isinstance(value, str) and len(value) > 60:
        return f"({len(value):,} characters)"
    if isinstance(value, pd.Timestamp):
        return f"'{value.date().isoformat()}'"
    return repr(value) if isinstance(value, str) else f"'{value}'"
