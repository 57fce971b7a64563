"""Event dates as incident files write them, parsed without guessing.

Accepted: ISO (``2024-01-20``, optionally with a time), ACLED's long form (``20 January 2024``),
spreadsheet short forms (``20-Jan-24``, ``Jan 20, 2024``) and numeric day/month forms
(``20/01/2024``). A numeric form is read day-first or month-first only when the file itself
settles it (some value has a day above 12); otherwise the file is refused as ambiguous.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

import pandas as pd

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}

_ISO = re.compile(
    r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})"  # the date
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"  # an optional time
)
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})[ \-/.]([A-Za-z]+)\.?[ \-/.,]+(\d{2}|\d{4})$")
_MONTH_DAY_YEAR = re.compile(r"^([A-Za-z]+)\.? (\d{1,2}),? (\d{2}|\d{4})$")
_NUMERIC = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{2}|\d{4})(?: \d{1,2}:\d{2}(?::\d{2})?)?$")
_SERIAL = re.compile(r"^\d{5}(?:\.0+)?$")


class NumericOrder(Enum):
    """How a file writes numeric dates such as ``03/04/2024``."""

    DAY_FIRST = "day-first"
    MONTH_FIRST = "month-first"


class AmbiguousDatesError(ValueError):
    """A file's numeric dates cannot be read without guessing the day/month order."""


@dataclass(frozen=True)
class DateEvidence:
    """What a file's numeric dates say about their order: one example of each kind."""

    day_first: str | None = None
    month_first: str | None = None
    ambiguous: str | None = None

    def merge(self, other: DateEvidence) -> DateEvidence:
        return DateEvidence(
            self.day_first or other.day_first,
            self.month_first or other.month_first,
            self.ambiguous or other.ambiguous,
        )

    def order(self, column: str) -> NumericOrder | None:
        """The order the evidence settles, ``None`` when there are no numeric dates.

        Raises :class:`AmbiguousDatesError` when the file mixes both orders or never shows
        which it uses.
        """
        if self.day_first and self.month_first:
            raise AmbiguousDatesError(
                f"column {column} mixes day-first ({self.day_first!r}) and month-first "
                f"({self.month_first!r}) dates; re-export the file with ISO dates (YYYY-MM-DD)"
            )
        if self.day_first:
            return NumericOrder.DAY_FIRST
        if self.month_first:
            return NumericOrder.MONTH_FIRST
        if self.ambiguous:
            raise AmbiguousDatesError(
                f"column {column} has dates like {self.ambiguous!r} that could be day-first or "
                "month-first, and no value in the file settles which; re-export the file with "
                "ISO dates (YYYY-MM-DD) or ACLED's long form (20 January 2024)"
            )
        return None


def numeric_evidence(values: Iterable[str]) -> DateEvidence:
    """Look at distinct date strings and report which numeric orders they allow."""
    evidence = DateEvidence()
    for value in values:
        match = _NUMERIC.match(value.strip()) if isinstance(value, str) else None
        if not match:
            continue
        first, second = int(match.group(1)), int(match.group(3))
        if first > 12 >= second:
            evidence = evidence.merge(DateEvidence(day_first=value))
        elif second > 12 >= first:
            evidence = evidence.merge(DateEvidence(month_first=value))
        elif first <= 12 and second <= 12 and first != second:
            evidence = evidence.merge(DateEvidence(ambiguous=value))
        if evidence.day_first and evidence.month_first:
            break
    return evidence


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        # Two-digit years from spreadsheets: up to next year is this century, the rest the last.
        pivot = dt.date.today().year % 100 + 1
        year += 2000 if year <= pivot else 1900
    return year


def parse_date(value: str, order: NumericOrder | None) -> tuple[dt.date | None, str | None]:
    """Parse one date string; return ``(date, None)`` or ``(None, what is wrong)``."""
    text = value.strip()
    if not text:
        return None, "is empty"
    try:
        if match := _ISO.match(text):
            return dt.date(int(match[1]), int(match[2]), int(match[3])), None
        if match := _DAY_MONTH_YEAR.match(text):
            month = MONTHS.get(match[2].lower())
            if month:
                return dt.date(_year(match[3]), month, int(match[1])), None
        if match := _MONTH_DAY_YEAR.match(text):
            month = MONTHS.get(match[1].lower())
            if month:
                return dt.date(_year(match[3]), month, int(match[2])), None
        if match := _NUMERIC.match(text):
            first, second, year = int(match[1]), int(match[3]), _year(match[4])
            if first == second:
                return dt.date(year, first, first), None
            if order is NumericOrder.DAY_FIRST:
                return dt.date(year, second, first), None
            if order is NumericOrder.MONTH_FIRST:
                return dt.date(year, first, second), None
            return None, "is ambiguous (day-first or month-first?)"
    except ValueError:
        return None, "is not a valid calendar date"
    if _SERIAL.match(text):
        return None, (
            "looks like a spreadsheet serial number; format the column as a date "
            "(YYYY-MM-DD) before saving"
        )
    return None, "is not a date in a known format (use YYYY-MM-DD)"


def parse_date_column(values: pd.Series, order: NumericOrder | None) -> tuple[pd.Series, pd.Series]:
    """Parse a column of date strings.

    Returns ``(dates, problems)``: ``dates`` is ``datetime64[us]`` with NaT where a value could
    not be read, ``problems`` holds what is wrong with each such value (else missing).
    Each distinct string is parsed once.
    """
    texts = values.fillna("").astype(str)
    parsed = {value: parse_date(value, order) for value in texts.unique()}
    dates = texts.map({k: v[0] for k, v in parsed.items()})
    problems = texts.map({k: v[1] for k, v in parsed.items()})
    return pd.to_datetime(dates).astype("datetime64[us]"), problems
