import datetime as dt

import pandas as pd
import pytest

from risk.incidents.dates import (
    AmbiguousDatesError,
    DateEvidence,
    NumericOrder,
    numeric_evidence,
    parse_date,
    parse_date_column,
)


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-20",
        "2024/01/20",
        "2024-01-20 00:00:00.000",
        "2024-01-20T13:45:00Z",
        "20 January 2024",
        "20 Jan 2024",
        "20-Jan-24",
        "20-Jan-2024",
        "January 20, 2024",
        "Jan 20 2024",
        " 20 january 2024 ",
    ],
)
def test_every_listed_style_reads_the_same_day(text):
    assert parse_date(text, None) == (dt.date(2024, 1, 20), None)


def test_numeric_dates_follow_the_settled_order():
    assert parse_date("03/04/2024", NumericOrder.DAY_FIRST)[0] == dt.date(2024, 4, 3)
    assert parse_date("03/04/2024", NumericOrder.MONTH_FIRST)[0] == dt.date(2024, 3, 4)
    assert parse_date("20.01.2024", NumericOrder.DAY_FIRST)[0] == dt.date(2024, 1, 20)
    # Same day and month is the same date either way.
    assert parse_date("05/05/2024", None)[0] == dt.date(2024, 5, 5)


def test_numeric_date_without_an_order_is_not_guessed():
    date, problem = parse_date("03/04/2024", None)
    assert date is None
    assert "ambiguous" in problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-30", "not a valid calendar date"),
        ("yesterday", "not a date in a known format"),
        ("45311", "spreadsheet serial number"),
        ("", "is empty"),
    ],
)
def test_unreadable_dates_say_why(text, expected):
    date, problem = parse_date(text, NumericOrder.DAY_FIRST)
    assert date is None
    assert expected in problem


def test_two_digit_years_pivot_on_the_current_century():
    assert parse_date("20-Jan-99", None)[0] == dt.date(1999, 1, 20)
    assert parse_date("20-Jan-05", None)[0] == dt.date(2005, 1, 20)


def test_evidence_settles_day_first_and_month_first():
    assert numeric_evidence(["01/02/2024", "25/01/2024"]).order("d") is NumericOrder.DAY_FIRST
    assert numeric_evidence(["01/02/2024", "01/25/2024"]).order("d") is NumericOrder.MONTH_FIRST
    assert numeric_evidence(["2024-01-02"]).order("d") is None


def test_evidence_refuses_ambiguous_and_mixed_files_naming_column_and_value():
    with pytest.raises(AmbiguousDatesError, match=r"event_date.*'03/04/2024'"):
        numeric_evidence(["03/04/2024"]).order("event_date")
    with pytest.raises(AmbiguousDatesError, match="mixes day-first"):
        DateEvidence(day_first="25/01/2024", month_first="01/25/2024").order("event_date")


def test_column_parse_reports_each_bad_value():
    dates, problems = parse_date_column(pd.Series(["2024-01-20", "nope", "20 January 2024"]), None)
    assert dates.dtype == "datetime64[us]"
    assert dates.iloc[0] == dates.iloc[2] == pd.Timestamp("2024-01-20")
    assert pd.isna(dates.iloc[1])
    assert problems.notna().tolist() == [False, True, False]
