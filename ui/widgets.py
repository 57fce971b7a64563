"""Page furniture shared by the pages: headers and banners, pickers, tables, downloads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from risk.store import queries
from ui.look import ago, category_label, count_column, utc_column, week_label
from ui.reads import _holds_demo, _last_load, categories, latest_scores, summary
from ui.serving import data_key

# -- page furniture ---------------------------------------------------------------------------
# Our own constant CSS (no data in it): room for content on a 1366x768 laptop screen.
_LAYOUT_CSS = """<style>
[data-testid="stMainBlockContainer"] {padding-top: 3.2rem; padding-bottom: 2rem;}
[data-testid="stMainBlockContainer"] h1 {font-size: 2rem; padding: 0.2rem 0 0 0;}
[data-testid="stMainBlockContainer"] h3 {font-size: 1.3rem; padding-top: 0.6rem;}
[data-testid="stMetricValue"] {font-size: 1.6rem;}
</style>"""


def page_header(title: str) -> None:
    """Title, the demo banner, and the as-of week and data freshness (on every page)."""
    st.html(_LAYOUT_CSS)
    st.title(title)
    banners()
    st.caption(status_line())


def banners() -> None:
    """Every page: say when the data is the simulated demo."""
    if _holds_demo(data_key()):
        st.info(
            "Showing the **simulated demo data** (not real incidents). Load your own ACLED, "
            "UCDP or native files on the Upload page.",
            icon=":material/science:",
        )


def status_line() -> str:
    """'Scores for the week of ... · incidents to ... · last load ...' (plain text)."""
    parts = []
    latest = latest_scores()
    if not latest.empty and summary().total_incidents:
        monday = latest["as_of"].iloc[0]
        parts.append(f"Scores for the week {week_label(monday)}")
    current = summary()
    if current.last_date is not None:
        parts.append(f"incidents {current.first_date} to {current.last_date}")
    loaded = _last_load(data_key())
    if loaded is not None:
        parts.append(
            f"last load {loaded.finished_at:%Y-%m-%d %H:%M} UTC ({ago(loaded.finished_at)})"
        )
    return " · ".join(parts) if parts else "No data loaded yet"


def require_incidents() -> queries.StoreSummary:
    """Stop the page with a first-step message when the store holds no incidents."""
    current = summary()
    if current.total_incidents == 0:
        st.info(
            "**No incidents yet.** Load an ACLED export, a UCDP GED or Candidate file, or your "
            "own log in the native format on the Upload page, or from a terminal with "
            "`python -m risk ingest FILE`. The template for your own log is "
            "`data/templates/native.csv`.",
            icon=":material/upload_file:",
        )
        st.page_link("pages/upload.py", label="Go to Upload", icon=":material/upload:")
        st.stop()
    return current


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def period_input(key: str, weeks: int) -> Any:
    """A date-range picker over the stored incidents: the last ``weeks`` whole weeks with data,
    Monday to the last incident's day, or all of the data when it is shorter."""
    first, last = summary().first_date, summary().last_date
    earliest = _monday(first)
    start = max(earliest, _monday(last) - dt.timedelta(weeks=weeks - 1))
    return st.date_input(
        "Dates",
        value=(start, last),
        min_value=earliest,
        max_value=last,
        format="YYYY-MM-DD",
        key=key,
    )


def complete_period(period: Any) -> tuple[dt.date, dt.date]:
    """(start, end) of a :func:`period_input`, said in a caption; while only the start is
    picked, say so and stop."""
    if not isinstance(period, tuple) or len(period) != 2:
        st.info("Choose the last day of the period too.")
        st.stop()
    start, end = period[0], period[1]
    days = (end - start).days + 1
    st.caption(
        f"Showing {start:%a %Y-%m-%d} to {end:%a %Y-%m-%d} ({days // 7} weeks"
        f"{f' {days % 7} days' if days % 7 else ''}); incidents stored from "
        f"{summary().first_date} to {summary().last_date}."
    )
    return start, end


def categories_input(key: str) -> list[str]:
    """A picker of incident categories, all chosen to start with."""
    return st.multiselect(
        "Categories", categories(), default=categories(), format_func=category_label, key=key
    )


def batches_table(loads: pd.DataFrame, columns: list[str]) -> None:
    """The loads (batches) as a table, with the same labels on every page."""
    labels = {
        "id": count_column("Batch"),
        "status": "Status",
        "file_name": "File",
        "origin": "Origin",
        "format": "Format",
        "read_as": "Read as",
        "finished_at": utc_column("Loaded (UTC)"),
        "rows_read": count_column("Rows"),
        "added": count_column("New"),
        "updated": count_column("Updated"),
        "duplicates": count_column("Already stored"),
        "rejected": count_column("Rejected"),
        "withdrawn": count_column("Withdrawn"),
        "undone_at": utc_column("Undone (UTC)"),
        "sha256": "SHA-256",
    }
    st.dataframe(
        loads[columns],
        hide_index=True,
        height=min(400, 38 + 35 * len(loads)),
        column_config={name: labels[name] for name in columns},
    )


def download_csv(label: str, data: bytes | Callable[[], bytes], file_name: str, key: str) -> None:
    """A CSV download (data from risk.export.safe_csv, so safe to open in a spreadsheet)."""
    st.download_button(
        label,
        data=data,
        file_name=file_name,
        mime="text/csv",
        key=key,
        icon=":material/download:",
        on_click="ignore",
    )
