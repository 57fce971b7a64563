"""Incident files -> canonical incidents: detect the format from the header, map, validate.

Three formats: ACLED exports, UCDP GED / Candidate files, and the native format for an analyst's
own log (README, ``data/templates/native.csv``). :func:`open_incident_file` detects the format
and streams :class:`LoadedChunk` objects: rows that pass the schema, and rejections with the
line, the reason and the row as it was written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from risk.incidents.csv_reader import BadRow, CsvStream, FileProblem, RawChunk, normalise_header
from risk.incidents.custom_formats import (
    ColumnMapping,
    FormatFileError,
    load_mapping,
    saved_mappings,
)
from risk.incidents.dates import (
    AmbiguousDatesError,
    DateEvidence,
    NumericOrder,
    numeric_evidence,
    parse_date_column,
)
from risk.incidents.schema import (
    COLUMNS,
    VIOLENT_CATEGORIES,
    WEEK_SPAN_DAYS,
    validate_incidents,
)

FORMATS = ("acled", "ucdp", "native")
NATIVE_TEMPLATE = "data/templates/native.csv"

ACLED_EVENT_TYPE_NAMES = (
    "Battles",
    "Explosions/Remote violence",
    "Violence against civilians",
    "Riots",
    "Protests",
    "Strategic developments",
)
ACLED_EVENT_TYPES = {
    "battles": "battle",
    "explosions/remote violence": "remote_violence",
    "violence against civilians": "violence_against_civilians",
    "riots": "riot",
    "protests": "protest",
    "strategic developments": "strategic",
}
UCDP_VIOLENCE_TYPES = {
    "1": ("battle", "State-based conflict"),
    "2": ("battle", "Non-state conflict"),
    "3": ("violence_against_civilians", "One-sided violence"),
}
NATIVE_EVENT_TYPES = {
    **{key.replace("/", "_").replace(" ", "_"): value for key, value in ACLED_EVENT_TYPES.items()},
    "battle": "battle",
    "remote_violence": "remote_violence",
    "explosions": "remote_violence",
    "explosion": "remote_violence",
    "violence_against_civilians": "violence_against_civilians",
    "riot": "riot",
    "protest": "protest",
    "strategic": "strategic",
    "strategic_development": "strategic",
}
# ACLED's current export columns (reference/formats.md): the order API rows and
# benchmark files are written in.
ACLED_COLUMNS = (
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "iso",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
)
# UCDP GED / Candidate columns (reference/formats.md).
UCDP_COLUMNS = (
    "id",
    "relid",
    "year",
    "active_year",
    "code_status",
    "type_of_violence",
    "conflict_dset_id",
    "conflict_new_id",
    "conflict_name",
    "dyad_dset_id",
    "dyad_new_id",
    "dyad_name",
    "side_a_dset_id",
    "side_a_new_id",
    "side_a",
    "side_b_dset_id",
    "side_b_new_id",
    "side_b",
    "number_of_sources",
    "source_article",
    "source_office",
    "source_date",
    "source_headline",
    "source_original",
    "where_prec",
    "where_coordinates",
    "where_description",
    "adm_1",
    "adm_2",
    "latitude",
    "longitude",
    "geom_wkt",
    "priogrid_gid",
    "country",
    "country_id",
    "region",
    "event_clarity",
    "date_prec",
    "date_start",
    "date_end",
    "deaths_a",
    "deaths_b",
    "deaths_civilians",
    "deaths_unknown",
    "best",
    "high",
    "low",
    "gwnoa",
    "gwnob",
)

# Source columns kept in an incident's ``details`` (JSON): worth keeping, no canonical column.
ACLED_DETAILS = (
    "sub_event_type",
    "disorder_type",
    "civilian_targeting",
    "inter1",
    "inter2",
    "interaction",
    "assoc_actor_1",
    "assoc_actor_2",
    "admin3",
    "source_scale",
    "tags",
)
UCDP_DETAILS = (
    "conflict_name",
    "dyad_name",
    "where_description",
    "event_clarity",
    "deaths_a",
    "deaths_b",
    "deaths_civilians",
    "deaths_unknown",
    "low",
    "high",
)

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


@dataclass(frozen=True)
class Rejection:
    """A row that was not loaded: where it is, why, and what it said."""

    line: int
    reason: str
    raw: dict[str, str] | str
    row: int = -1


@dataclass
class LoadedChunk:
    incidents: pd.DataFrame
    rejections: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True)
class FormatSpec:
    name: str
    label: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    signature: tuple[str, ...]  # columns that make a header look like this format
    date_column: str
    mapper: Callable[[pd.DataFrame, int], tuple[pd.DataFrame, dict[int, list[str]]]]
    # Read when present, never reported missing: precision codes and details.
    kept: tuple[str, ...] = ()
    # Columns of the format's full export: present but unused, they are not "extra".
    known: tuple[str, ...] = ()
    # Saved column mappings: rename and convert the file's columns first; the date column's
    # name in the file.
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    file_date_column: str | None = None

    @property
    def wanted(self) -> list[str]:
        return [*self.required, *self.optional, *(c for c in self.kept if c not in self.optional)]


# -- column helpers ---------------------------------------------------------------------------
class _Problems:
    """Collects ``{line: [reason, ...]}`` from vectorised checks."""

    def __init__(self) -> None:
        self.by_line: dict[int, list[str]] = {}

    def add(self, mask: pd.Series, column: str, values: pd.Series, reason: str) -> None:
        if not mask.any():
            return
        for line, value in values[mask].items():
            shown = value if len(str(value)) <= 60 else f"{str(value)[:57]}..."
            self.by_line.setdefault(int(line), []).append(f"{column} {str(shown)!r} {reason}")

    def add_text(self, mask: pd.Series, reason: str) -> None:
        for line in mask[mask].index:
            self.by_line.setdefault(int(line), []).append(reason)


def _column(raw: pd.DataFrame, name: str) -> pd.Series:
    """Stripped strings of a column; an absent column reads as empty."""
    if name not in raw.columns:
        return pd.Series("", index=raw.index, dtype=str)
    return raw[name].str.strip()


def _text(raw: pd.DataFrame, name: str) -> pd.Series:
    values = _column(raw, name)
    return values.where(values != "")


def _numbers(values: pd.Series) -> pd.Series:
    """Stripped strings as floats; empty or unreadable values are NaN.

    Arrow's cast reads a column of well-formed numbers several times faster than
    ``pd.to_numeric``; any value it cannot read sends the column to ``pd.to_numeric``, so what
    counts as a number does not change (Arrow's result is the correctly rounded one, which
    ``pd.to_numeric`` can miss by one unit in the last place on 17-digit values).
    """
    present = values.where(values != "")
    try:
        parsed = pc.cast(pa.array(present, type=pa.string(), from_pandas=True), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.to_numeric(present, errors="coerce").astype(float)
    return pd.Series(parsed.to_numpy(zero_copy_only=False), index=values.index, dtype=float)


def _integer(
    raw: pd.DataFrame, name: str, problems: _Problems, *, empty: int | None = None
) -> pd.Series:
    """Whole numbers (``2`` or ``2.0``); empty cells become ``empty`` or a problem."""
    values = _column(raw, name)
    numbers = _numbers(values)
    is_empty = values == ""
    not_number = ~np.isfinite(numbers.fillna(np.nan).astype(float)) & ~is_empty  # "inf" too
    problems.add(not_number, name, values, "is not a number")
    fractional = ~not_number & numbers.notna() & (numbers != np.floor(numbers.fillna(0)))
    problems.add(fractional, name, values, "is not a whole number")
    huge = ~not_number & (numbers.abs() > 2**53)
    problems.add(huge, name, values, "is too large")
    not_number |= huge
    if empty is None:
        problems.add_text(is_empty, f"{name} is empty")
    result = numbers.where(~(not_number | fractional))
    if empty is not None:
        result = result.where(~is_empty, empty)
    return result


def _float(raw: pd.DataFrame, name: str, problems: _Problems) -> pd.Series:
    values = _column(raw, name)
    numbers = _numbers(values)
    problems.add(numbers.isna() & (values != ""), name, values, "is not a number")
    return numbers


def _coordinates(raw: pd.DataFrame, problems: _Problems) -> tuple[pd.Series, pd.Series]:
    latitude = _float(raw, "latitude", problems)
    longitude = _float(raw, "longitude", problems)
    half = latitude.isna() != longitude.isna()
    problems.add_text(half, "latitude and longitude must be given together")
    return latitude, longitude


def _code(raw: pd.DataFrame, name: str) -> pd.Series:
    """A small precision code (``2`` or ``2.0``); empty or unreadable cells are missing."""
    numbers = _numbers(_column(raw, name))
    whole = numbers.where((numbers == np.floor(numbers)) & numbers.between(0, 99))
    return whole.astype("Int64")


def _date_end(raw: pd.DataFrame, name: str) -> pd.Series:
    """The last day of an event's date span (UCDP ``date_end``), ISO dates; else missing."""
    values = _column(raw, name).str.slice(0, 10)
    return pd.to_datetime(values.where(values != ""), errors="coerce", format="%Y-%m-%d")


# json.dumps(ensure_ascii=False) escapes exactly these, plus the other C0 controls as \\u00XX.
_JSON_ESCAPES = (
    ("\\", "\\\\"),
    ('"', '\\"'),
    ("\n", "\\n"),
    ("\r", "\\r"),
    ("\t", "\\t"),
    ("\b", "\\b"),
    ("\f", "\\f"),
)
_OTHER_CONTROL = "[\x00-\x07\x0b\x0e-\x1f]"


def _details(raw: pd.DataFrame, names: tuple[str, ...]) -> pd.Series:
    """The source columns worth keeping that have no canonical column, as compact JSON.

    The text is exactly ``json.dumps(record, ensure_ascii=False)`` of the non-empty stripped
    values (stored versions are compared as text), built with Arrow string kernels: a
    per-row ``json.dumps`` took most of an ACLED load's validation time.
    """
    present = [n for n in names if n in raw.columns]
    if not present:
        return pd.Series(None, index=raw.index, dtype=object)
    null = pa.scalar(None, pa.string())
    parts, unusual = [], np.zeros(len(raw), dtype=bool)
    for name in present:
        values = pa.array(raw[name].str.strip(), type=pa.string(), from_pandas=True)
        values = pc.if_else(pc.equal(values, ""), null, values)
        if pc.any(pc.match_substring_regex(values, '[\\x00-\\x1f"\\\\]')).as_py():
            unusual |= pc.fill_null(
                pc.match_substring_regex(values, _OTHER_CONTROL), False
            ).to_numpy(zero_copy_only=False)
            for plain, escaped in _JSON_ESCAPES:
                values = pc.replace_substring(values, plain, escaped)
        # '"name": "value", ' or "" (null_handling="skip" drops all-null rows in pyarrow 26)
        part = pc.binary_join_element_wise(f'"{name}": "', values, '", ', "")
        parts.append(pc.fill_null(part, ""))
    joined = pc.binary_join_element_wise(*parts, "")
    texts = pc.if_else(
        pc.equal(joined, ""),
        null,
        pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(joined, 0, -2), "}", ""),
    )
    result = pd.Series(texts.to_numpy(zero_copy_only=False), index=raw.index, dtype=object)
    if unusual.any():  # rare control characters: let json escape them
        records = raw.loc[unusual, present].apply(lambda column: column.str.strip())
        result[unusual] = [
            json.dumps(
                {k: v for k, v in record.items() if isinstance(v, str) and v}, ensure_ascii=False
            )
            for record in records.to_dict(orient="records")
        ]
    return result.where(result.notna(), None)


def _fill_missing_text(values: pd.Series) -> pd.Series:
    if values.dtype == "str":  # already text with NaN for missing (most columns)
        return values
    return values.astype(str).where(values.notna())


# -- format mappers ---------------------------------------------------------------------------
def _frame(
    raw: pd.DataFrame, source: str, source_id: pd.Series, **columns: pd.Series
) -> pd.DataFrame:
    frame = pd.DataFrame(index=raw.index)
    frame["id"] = source + ":" + source_id.fillna("")
    frame["source"] = source
    frame["source_id"] = source_id
    for name, values in columns.items():
        frame[name] = values
    return frame


def _map_acled(raw: pd.DataFrame, ingest_time: int) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    problems = _Problems()
    source_id = _text(raw, "event_id_cnty")
    problems.add_text(source_id.isna(), "event_id_cnty is empty")
    event_type = _column(raw, "event_type")
    category = event_type.str.lower().map(ACLED_EVENT_TYPES)
    problems.add(
        category.isna(),
        "event_type",
        event_type,
        "is not an ACLED event type (" + "; ".join(ACLED_EVENT_TYPE_NAMES) + ")",
    )
    sub_event = _column(raw, "sub_event_type")
    excessive_force = sub_event.str.lower() == "excessive force against protesters"
    latitude, longitude = _coordinates(raw, problems)
    revision = _revision_time(raw, "timestamp", problems)
    source_event_type = event_type.where(sub_event == "", event_type + " / " + sub_event)
    time_precision, geo_precision = _code(raw, "time_precision"), _code(raw, "geo_precision")
    frame = _frame(
        raw,
        "acled",
        source_id,
        country=_text(raw, "country"),
        admin1=_text(raw, "admin1"),
        admin2=_text(raw, "admin2"),
        location=_text(raw, "location"),
        latitude=latitude,
        longitude=longitude,
        source_event_type=source_event_type.where(source_event_type != ""),
        category=category,
        violent=category.isin(VIOLENT_CATEGORIES) | excessive_force,
        actor1=_text(raw, "actor1"),
        actor2=_text(raw, "actor2"),
        fatalities=_integer(raw, "fatalities", problems),
        notes=_text(raw, "notes"),
        source_text=_text(raw, "source"),
        revision_time=revision,
        date_end=pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]"),
        date_precision=time_precision,
        geo_precision=geo_precision,
        # time_precision 3: only the month or a longer span is known; geo_precision 3: only a
        # larger region is named (README, "Date and place precision").
        week_precise=~(time_precision >= 3).fillna(False),
        place_precise=~(geo_precision >= 3).fillna(False),
        details=_details(raw, ACLED_DETAILS),
    )
    return frame, problems.by_line


def _revision_time(raw: pd.DataFrame, name: str, problems: _Problems) -> pd.Series:
    """ACLED's ``timestamp``: Unix seconds, or a date-time string in some re-saved files."""
    values = _column(raw, name)
    seconds = _numbers(values)
    text = (values != "") & seconds.isna()
    if text.any():
        parsed = pd.to_datetime(values[text], errors="coerce", utc=True, format="ISO8601")
        epoch = pd.Timestamp("1970-01-01", tz="UTC")
        seconds.loc[parsed.index] = ((parsed - epoch) // pd.Timedelta(seconds=1)).astype(float)
    bad = (values != "") & (seconds.isna() | ~np.isfinite(seconds) | (seconds.abs() > 2**53))
    problems.add(bad, name, values, "is not a Unix time or a date-time")
    return seconds.where(~bad).round().astype("Int64")


def _map_ucdp(raw: pd.DataFrame, ingest_time: int) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    problems = _Problems()
    source_id = _text(raw, "id").str.replace(r"\.0+$", "", regex=True)
    problems.add_text(source_id.isna(), "id is empty")
    violence = _column(raw, "type_of_violence").str.replace(r"\.0+$", "", regex=True)
    known = violence.map({k: v[0] for k, v in UCDP_VIOLENCE_TYPES.items()})
    problems.add(known.isna(), "type_of_violence", violence, "is not 1, 2 or 3")
    label = violence.map({k: v[1] for k, v in UCDP_VIOLENCE_TYPES.items()})
    conflict = _column(raw, "conflict_name")
    source_event_type = label.where(conflict == "", label + " (" + conflict + ")")
    latitude, longitude = _coordinates(raw, problems)
    headline, where = _text(raw, "source_headline"), _text(raw, "where_description")
    office, article = _text(raw, "source_office"), _text(raw, "source_article")
    date_prec, where_prec = _code(raw, "date_prec"), _code(raw, "where_prec")
    frame = _frame(
        raw,
        "ucdp",
        source_id,
        country=_text(raw, "country"),
        admin1=_text(raw, "adm_1"),
        admin2=_text(raw, "adm_2"),
        location=_text(raw, "where_coordinates"),
        latitude=latitude,
        longitude=longitude,
        source_event_type=source_event_type,
        category=known,
        violent=pd.Series(True, index=raw.index),
        actor1=_text(raw, "side_a"),
        actor2=_text(raw, "side_b"),
        fatalities=_integer(raw, "best", problems),
        notes=headline.fillna(where),
        source_text=office.fillna(article),
        revision_time=pd.Series(pd.NA, index=raw.index, dtype="Int64"),
        date_end=_date_end(raw, "date_end"),
        date_precision=date_prec,
        geo_precision=where_prec,
        # date_prec 4-5: dated to a month, a year or longer; where_prec 4-7: located only to a
        # province, a larger region, the country or international waters.
        week_precise=~(date_prec >= 4).fillna(False),
        place_precise=~(where_prec >= 4).fillna(False),
        details=_details(raw, UCDP_DETAILS),
    )
    return frame, problems.by_line


def _map_native(raw: pd.DataFrame, ingest_time: int) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    problems = _Problems()
    event_type = _column(raw, "event_type")
    key = event_type.str.lower().str.replace(r"[^a-z]+", "_", regex=True).str.strip("_")
    category = key.map(NATIVE_EVENT_TYPES)
    problems.add(
        category.isna(),
        "event_type",
        event_type,
        "is not an event type (battle, remote_violence, violence_against_civilians, riot, "
        "protest, strategic, or ACLED's event types)",
    )
    violent_text = _column(raw, "violent").str.lower()
    violent = category.isin(VIOLENT_CATEGORIES)
    violent = violent.mask(violent_text.isin(_TRUE), True).mask(violent_text.isin(_FALSE), False)
    problems.add(
        (violent_text != "") & ~violent_text.isin(_TRUE | _FALSE),
        "violent",
        violent_text,
        "is not true or false",
    )
    latitude, longitude = _coordinates(raw, problems)
    columns = dict(
        country=_text(raw, "country"),
        admin1=_text(raw, "admin1"),
        admin2=_text(raw, "admin2"),
        location=_text(raw, "location"),
        latitude=latitude,
        longitude=longitude,
        source_event_type=event_type.where(event_type != ""),
        category=category,
        violent=violent,
        actor1=_text(raw, "actor1"),
        actor2=_text(raw, "actor2"),
        fatalities=_integer(raw, "fatalities", problems, empty=0),
        notes=_text(raw, "notes"),
        source_text=_text(raw, "source"),
        revision_time=pd.Series(pd.NA, index=raw.index, dtype="Int64"),
        date_end=_date_end(raw, "date_end"),
        date_precision=pd.Series(pd.NA, index=raw.index, dtype="Int64"),
        geo_precision=pd.Series(pd.NA, index=raw.index, dtype="Int64"),
        week_precise=pd.Series(True, index=raw.index),
        place_precise=pd.Series(True, index=raw.index),
        details=pd.Series(None, index=raw.index, dtype=object),
    )
    source_id = _text(raw, "id")
    if source_id.isna().any():
        # Rows without an id are identified by their content: re-loading them adds nothing.
        content = _column(raw, "date")
        for name in ("country", "admin1", "admin2", "location", "actor1", "actor2", "notes"):
            content = content + "\x1f" + columns[name].fillna("")
        for name in ("latitude", "longitude", "fatalities"):
            content = content + "\x1f" + columns[name].astype(str).fillna("")
        content = content + "\x1f" + category.fillna("")
        hashes = [
            "h:" + hashlib.sha256(text.encode()).hexdigest()[:24]
            for text in content[source_id.isna()]
        ]
        source_id = source_id.copy()
        source_id[source_id.isna()] = hashes
    return _frame(raw, "native", source_id, **columns), problems.by_line


ACLED = FormatSpec(
    name="acled",
    label="ACLED export",
    required=("event_id_cnty", "event_date", "event_type", "country", "fatalities"),
    optional=(
        "sub_event_type",
        "actor1",
        "actor2",
        "admin1",
        "admin2",
        "location",
        "latitude",
        "longitude",
        "notes",
        "source",
        "timestamp",
    ),
    signature=(
        "event_id_cnty",
        "event_date",
        "sub_event_type",
        "inter1",
        "interaction",
        "geo_precision",
        "time_precision",
    ),
    date_column="event_date",
    mapper=_map_acled,
    kept=("time_precision", "geo_precision", *ACLED_DETAILS),
    known=ACLED_COLUMNS,
)
UCDP = FormatSpec(
    name="ucdp",
    label="UCDP GED / Candidate events",
    required=("id", "date_start", "type_of_violence", "country", "best"),
    optional=(
        "adm_1",
        "adm_2",
        "where_coordinates",
        "latitude",
        "longitude",
        "side_a",
        "side_b",
        "source_headline",
        "where_description",
        "source_office",
        "source_article",
        "conflict_name",
    ),
    signature=(
        "type_of_violence",
        "date_start",
        "best",
        "side_a",
        "dyad_name",
        "where_prec",
        "priogrid_gid",
    ),
    date_column="date_start",
    mapper=_map_ucdp,
    kept=("date_end", "date_prec", "where_prec", *UCDP_DETAILS),
    known=UCDP_COLUMNS,
)
NATIVE = FormatSpec(
    name="native",
    label="native incident log",
    required=("date", "event_type", "fatalities"),
    optional=(
        "id",
        "country",
        "admin1",
        "admin2",
        "location",
        "latitude",
        "longitude",
        "actor1",
        "actor2",
        "notes",
        "source",
        "violent",
    ),
    signature=("date", "event_type", "fatalities", "country"),
    date_column="date",
    mapper=_map_native,
    kept=("date_end",),
)
SPECS = {spec.name: spec for spec in (ACLED, UCDP, NATIVE)}


def mapping_spec(mapping: ColumnMapping) -> FormatSpec:
    """A format read through a saved column mapping (stored as source ``mapping.name``)."""
    # The reader compares headers case- and space-insensitively ("Admin 1" is "admin_1").
    file_columns = {name: normalise_header(column) for name, column in mapping.columns.items()}
    rename = {column: name for name, column in file_columns.items()}

    def prepare(raw: pd.DataFrame) -> pd.DataFrame:
        raw = raw.rename(columns=rename)
        if mapping.date_format:
            text = raw["date"].str.strip()
            parsed = pd.to_datetime(text, format=mapping.date_format, errors="coerce")
            # Values that do not fit the pattern stay as written and are rejected by name.
            raw["date"] = parsed.dt.strftime("%Y-%m-%d").where(parsed.notna(), text)
        if "event_type" in raw.columns:
            mapped = raw["event_type"].str.strip().str.casefold().map(mapping.event_types)
            raw["event_type"] = mapped.fillna(raw["event_type"])
        else:
            raw["event_type"] = mapping.category or ""
        if "fatalities" not in raw.columns:
            raw["fatalities"] = ""  # not reported: stored as 0
        return raw

    def mapper(raw: pd.DataFrame, ingest_time: int) -> tuple[pd.DataFrame, dict[int, list[str]]]:
        frame, problems = _map_native(raw, ingest_time)
        frame["source"] = mapping.name
        frame["id"] = mapping.name + ":" + frame["source_id"].fillna("")
        return frame, problems

    columns = tuple(file_columns.values())
    return FormatSpec(
        name=mapping.name,
        label=f"{mapping.label} (saved mapping {mapping.name})",
        required=columns,
        optional=(),
        signature=columns,
        date_column="date",
        mapper=mapper,
        prepare=prepare,
        file_date_column=file_columns["date"],
    )


def _saved_format(name: str) -> FormatSpec:
    try:
        return mapping_spec(load_mapping(name))
    except FormatFileError as error:
        raise FileProblem(str(error)) from None


def _detect_saved(present: set[str]) -> FormatSpec | None:
    """The saved mapping whose columns the header carries (the one naming most columns)."""
    fits = [
        m for m in saved_mappings() if {normalise_header(c) for c in m.columns.values()} <= present
    ]
    if not fits:
        return None
    return mapping_spec(max(fits, key=lambda m: (len(m.columns), m.name)))


def detect_format(columns: list[str]) -> FormatSpec:
    """Pick the format whose characteristic columns the header carries."""
    present = set(columns)

    def score(spec: FormatSpec) -> float:
        return sum(c in present for c in spec.signature) / len(spec.signature)

    if "event_id_cnty" in present:
        return ACLED  # ACLED's own id column settles it, whatever else is missing
    if {"type_of_violence", "date_start"} <= present or {"type_of_violence", "best", "date"} <= (
        present
    ):
        return UCDP  # reduced UCDP exports name the date "date"
    saved = _detect_saved(present)
    if saved is not None:
        return saved  # the user mapped this header's columns
    best = max(SPECS.values(), key=score)
    if score(best) < 0.5:
        shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
        raise FileProblem(
            f"unknown format: the header has columns {shown}. Expected an ACLED export "
            "(event_id_cnty, event_date, event_type, ...), a UCDP GED / Candidate file (id, "
            f"date_start, type_of_violence, best, ...) or the native format (date, country, "
            f"event_type, fatalities; template: {NATIVE_TEMPLATE}); for another provider's "
            "export, map its columns once on the Upload page or in data/formats/NAME.toml"
        )
    return best


class IncidentFile:
    """An incident file opened for loading; iterate :meth:`chunks` once.

    ``rows_read`` counts data rows (blank lines excluded) once the chunks are consumed.
    """

    def __init__(
        self, source: Path | BinaryIO, name: str | None = None, file_format: str = "auto"
    ) -> None:
        self._source = source
        self.stream = CsvStream(source, name)
        self.name = self.stream.name
        try:
            if file_format == "auto":
                self.spec = detect_format(self.stream.columns)
            elif file_format in SPECS:
                self.spec = SPECS[file_format]
            else:
                self.spec = _saved_format(file_format)
            self._check_columns()
        except FileProblem as problem:
            self.stream.close()
            if str(problem).startswith(self.name):
                raise
            raise FileProblem(f"{self.name}: {problem}") from None
        if not self.stream.has_data:
            self.stream.close()
            raise FileProblem(f"{self.name}: the file has a header but no data rows")
        self.rows_read = 0
        self.blank_lines = 0
        self._order: NumericOrder | None = None
        self._evidence = DateEvidence()

    @property
    def format(self) -> str:
        return self.spec.name

    def _check_columns(self) -> None:
        missing = [c for c in self.spec.required if c not in self.stream.columns]
        if self.spec is NATIVE and "date" in missing and "event_date" in self.stream.columns:
            missing.remove("date")
        if self.spec is UCDP and "date_start" in missing and "date" in self.stream.columns:
            missing.remove("date_start")
        if (
            self.spec is UCDP
            and "country" in missing
            and {"latitude", "longitude"} <= set(self.stream.columns)
        ):
            missing.remove("country")
        if (
            self.spec is NATIVE
            and "country" not in self.stream.columns
            and not {"latitude", "longitude"} <= set(self.stream.columns)
        ):
            missing.append("country (or latitude and longitude)")
        if missing:
            hint = (
                "; if it is another provider's export, map its columns once on the Upload page "
                "or in data/formats/NAME.toml"
                if self.spec is NATIVE
                else ""
            )
            raise FileProblem(
                f"read as {self.spec.label}, but line 1 (the header) lacks required "
                f"column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}{hint}"
            )

    @property
    def read_as(self) -> str:
        """One line saying how the file was understood."""
        used = {*self.spec.wanted, *self.spec.known}
        if self.spec is UCDP:
            used.add("date")  # a reduced UCDP export's date_start
        extra = [c for c in self.stream.columns if c not in used]
        missing = [c for c in self.spec.optional if c not in self.stream.columns]
        parts = [f"{self.spec.label} ({self.stream.describe()})"]
        if self._order:
            parts.append(f"numeric dates read {self._order.value}")
        if missing:
            parts.append("absent optional columns: " + ", ".join(missing))
        if extra:
            shown = ", ".join(extra[:5]) + (", ..." if len(extra) > 5 else "")
            parts.append(f"{len(extra)} column{'s' if len(extra) > 1 else ''} not used ({shown})")
        return "; ".join(parts)

    @property
    def sha256(self) -> str:
        return self.stream.sha256

    def close(self) -> None:
        self.stream.close()

    def chunks(self, ingest_time: int) -> Iterator[LoadedChunk]:
        """Stream validated incidents and rejections; raises :class:`FileProblem`."""
        wanted = self.spec.wanted
        if self.spec is NATIVE and "event_date" in self.stream.columns:
            wanted = [*wanted, "event_date"]
        if self.spec is UCDP and "date_start" not in self.stream.columns:
            wanted = [*wanted, "date"]
        try:
            for raw_chunk in self.stream.chunks(wanted):
                yield self._load_chunk(raw_chunk, ingest_time)
        finally:
            self.stream.close()

    def _load_chunk(self, chunk: RawChunk, ingest_time: int) -> LoadedChunk:
        raw = chunk.frame
        if self.spec is NATIVE and "date" not in raw.columns and "event_date" in raw.columns:
            raw = raw.rename(columns={"event_date": "date"})
        if self.spec is UCDP and "date_start" not in raw.columns and "date" in raw.columns:
            raw = raw.rename(columns={"date": "date_start"})
        if self.spec.prepare is not None:
            raw = self.spec.prepare(raw)
        self.rows_read += len(raw) + len(chunk.bad_rows)
        self.blank_lines += chunk.blank_lines
        rejections = [_bad_row_rejection(bad) for bad in chunk.bad_rows]
        if raw.empty:
            return LoadedChunk(pd.DataFrame(columns=list(COLUMNS)), rejections)
        dates_raw = raw[self.spec.date_column if self.spec is not NATIVE else "date"]
        self._settle_date_order(dates_raw)
        frame, problems = self.spec.mapper(raw, ingest_time)
        dates, date_problems = parse_date_column(dates_raw, self._order)
        frame.insert(3, "event_date", dates)
        # A span of a week or more (date_end) is not one week's event, whatever the code says.
        span = (frame["date_end"] - dates).dt.days
        frame["week_precise"] = frame["week_precise"].astype(bool) & ~(span >= WEEK_SPAN_DAYS)
        frame["date_end"] = frame["date_end"].where(span > 0)
        column = self.spec.file_date_column or self.spec.date_column
        for line, value, problem in zip(
            raw.index[date_problems.notna()],
            dates_raw[date_problems.notna()],
            date_problems[date_problems.notna()],
            strict=True,
        ):
            problems.setdefault(int(line), []).insert(0, f"{column} {value!r} {problem}")
        frame = frame[list(COLUMNS)]
        if problems:
            frame = frame.drop(index=list(problems))
        frame = _typed(frame)
        valid, reasons = validate_incidents(frame)
        for line, reason in reasons.items():
            problems.setdefault(line, []).append(reason)
        rows = dict(zip(raw.index.tolist(), chunk.rows.tolist(), strict=True))
        for line in sorted(problems):
            rejections.append(
                Rejection(
                    line=line,
                    reason="; ".join(problems[line]),
                    raw={k: str(v) for k, v in raw.loc[line].items()},
                    row=rows.get(line, -1),
                )
            )
        return LoadedChunk(valid, rejections)

    def _settle_date_order(self, dates: pd.Series) -> None:
        evidence = numeric_evidence(dates.unique())
        self._evidence = self._evidence.merge(evidence)
        try:
            if (
                self._order is None
                and evidence.ambiguous
                and not (self._evidence.day_first or self._evidence.month_first)
            ):
                # Only ambiguous numeric dates so far: let the whole column decide.
                self._evidence = self._evidence.merge(self._scan_date_column())
            order = self._evidence.order(self.spec.date_column)
        except AmbiguousDatesError as error:
            raise FileProblem(f"{self.name}: {error}") from None
        if self._order is None:
            self._order = order

    def _scan_date_column(self) -> DateEvidence:
        scan = CsvStream(self._source, self.name)
        evidence = DateEvidence()
        try:
            column = self.spec.file_date_column or self.spec.date_column
            if self.spec is NATIVE and column not in scan.columns:
                column = "event_date"
            if self.spec is UCDP and column not in scan.columns:
                column = "date"
            for chunk in scan.chunks([column]):
                evidence = evidence.merge(numeric_evidence(chunk.frame[column].unique()))
                if evidence.day_first or evidence.month_first:
                    break
        finally:
            scan.close()
        return evidence


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Give the mapped columns the schema's dtypes."""
    frame = frame.copy()
    for name in (
        "id",
        "source",
        "source_id",
        "country",
        "admin1",
        "admin2",
        "location",
        "source_event_type",
        "category",
        "actor1",
        "actor2",
        "notes",
        "source_text",
        "details",
    ):
        frame[name] = _fill_missing_text(frame[name])
    frame["latitude"] = frame["latitude"].astype(float)
    frame["longitude"] = frame["longitude"].astype(float)
    frame["violent"] = frame["violent"].astype(bool)
    frame["fatalities"] = frame["fatalities"].astype("int64")
    frame["revision_time"] = frame["revision_time"].astype("Int64")
    frame["event_date"] = frame["event_date"].astype("datetime64[us]")
    frame["date_end"] = frame["date_end"].astype("datetime64[us]")
    for name in ("date_precision", "geo_precision"):
        frame[name] = frame[name].astype("Int64")
    for name in ("week_precise", "place_precise"):
        frame[name] = frame[name].astype(bool)
    return frame


def _bad_row_rejection(bad: BadRow) -> Rejection:
    return Rejection(line=bad.line, reason=bad.reason, raw=bad.text, row=bad.row)


def open_incident_file(
    source: Path | BinaryIO | str, name: str | None = None, file_format: str = "auto"
) -> IncidentFile:
    """Open ``source`` (a path or a seekable binary file) and detect its format."""
    if isinstance(source, str):
        source = Path(source)
    return IncidentFile(source, name=name, file_format=file_format)
