"""When an event happened: date expressions in a sentence, resolved against the report's date.

Phrases are found with one pattern ("on Saturday", "yesterday", "20 January", "Jan. 20, 2024",
"last week", "three days ago") and parsed by dateparser relative to the report date. Weekdays
follow wire-news usage: "on Saturday" in a report dated Saturday is that day, otherwise the
latest such day before the report.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import dateparser

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_NUMBER_WORD = r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|a few|several)"
DATE_PHRASE = re.compile(
    rf"""\b(?:
        (?P<iso>\d{{4}}-\d{{2}}-\d{{2}})
      | (?P<day_month>\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?)
      | (?P<month_day>{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?)
      | (?P<weekday>{_WEEKDAY})
      | (?P<relative>yesterday|today|tonight|last\s+night|this\s+morning|overnight|
            earlier\s+today|the\s+day\s+before|last\s+week|earlier\s+this\s+week|
            {_NUMBER_WORD}\s+days?\s+ago|a\s+week\s+ago|last\s+month)
      | (?P<same>(?:on\s+)?the\s+same\s+day|the\s+same\s+night|hours\s+later|simultaneous(?:ly)?)
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)
_APPROXIMATE = re.compile(r"week|month|few|several", re.IGNORECASE)


@dataclass(frozen=True)
class DateMention:
    """A date expression found in a sentence and what it resolves to (None: the same day)."""

    text: str
    date: dt.date | None
    approximate: bool = False
    same_as_before: bool = False


def resolve_phrase(phrase: str, report_date: dt.date) -> dt.date | None:
    """The date a phrase means, seen from ``report_date``; None when it cannot be read."""
    words = phrase.lower().split()
    if len(words) == 1 and words[0] in _WEEKDAYS:
        back = (report_date.weekday() - _WEEKDAYS.index(words[0])) % 7
        return report_date - dt.timedelta(days=back)
    if phrase.lower() in ("tonight", "this morning", "overnight", "earlier today"):
        return report_date
    if phrase.lower() == "the day before":
        return report_date - dt.timedelta(days=1)
    base = dt.datetime.combine(report_date, dt.time(12))
    parsed = dateparser.parse(
        phrase,
        languages=["en"],
        settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past", "DATE_ORDER": "DMY"},
    )
    return parsed.date() if parsed else None


def find_dates(text: str, report_date: dt.date) -> list[DateMention]:
    """Every date expression in ``text`` with the date it means."""
    found = []
    for match in DATE_PHRASE.finditer(text):
        phrase = re.sub(r"\s+", " ", match.group())
        if match.group("same"):
            found.append(DateMention(phrase, None, same_as_before=True))
            continue
        date = resolve_phrase(phrase, report_date)
        if date is not None:
            approximate = bool(match.group("relative") and _APPROXIMATE.search(phrase))
            found.append(DateMention(phrase, date, approximate=approximate))
    return found
