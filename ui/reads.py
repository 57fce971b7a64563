"""Cached reads of ``risk/`` for the pages: summaries, panel, scores, incidents, map, batches.

``st.cache_data`` ignores arguments whose names start with ``_``: every argument of a cached
function here is part of its key.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from risk.export import safe_csv
from risk.forecast import panel as panels
from risk.forecast.model import ModelError, describe_feature
from risk.forecast.panel import weekly_counts, weekly_panel
from risk.forecast.scores import last_covered_weeks, score_history, what_changed, with_status
from risk.forecast.training import latest_model, model_metadata
from risk.incidents.schema import CATEGORIES
from risk.store import queries
from risk.store.demo import holds_demo
from risk.store.ingest import (
    batch_rejections,
    list_batches,
)
from ui.look import week_label
from ui.serving import data_key, results_key, store, target, theatres


# -- cached reads -----------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=8)
def _summary(key: str) -> queries.StoreSummary:
    return queries.store_summary(store())


def summary() -> queries.StoreSummary:
    return _summary(data_key())


@st.cache_data(show_spinner=False, max_entries=8)
def _theatre_stats(key: str) -> pd.DataFrame:
    return queries.theatre_stats(store(), theatres())


def theatre_stats() -> pd.DataFrame:
    """Per theatre: incidents, violent, fatalities, first and last date."""
    return _theatre_stats(data_key())


def theatres_with_data() -> list[str]:
    """Theatres (in file order) that hold at least one incident; "Other" last if any."""
    stats = theatre_stats()
    return stats.loc[stats["incidents"] > 0, "theatre"].tolist()


@st.cache_data(show_spinner="Counting incidents per theatre and week...", max_entries=4)
def _weekly_counts(key: str) -> pd.DataFrame:
    return weekly_counts(store(), theatres())


@st.cache_data(show_spinner="Building the weekly panel...", max_entries=4)
def _panel(key: str) -> pd.DataFrame:
    # Read from the store when the last rescoring stored it; else computed (and stored).
    return weekly_panel(store(), theatres(), target())


def panel() -> pd.DataFrame:
    """The weekly theatre panel with surge weeks (risk.forecast.panel.weekly_panel)."""
    return _panel(data_key())


def source_stretches() -> pd.DataFrame:
    """Which source each stretch of each theatre's weeks is counted from."""
    return queries.source_stretches(panel())


@st.cache_data(show_spinner=False, max_entries=8)
def _source_overlap(key: str, theatre: str | None) -> pd.DataFrame:
    return queries.source_overlap(_weekly_counts(key), theatre)


def source_overlap(theatre: str | None = None) -> pd.DataFrame:
    """Weeks where two sources have incidents: violent incidents of each, side by side."""
    return _source_overlap(data_key(), theatre)


@st.cache_data(show_spinner=False, max_entries=8)
def _unmatched_places(key: str) -> pd.DataFrame:
    return queries.unmatched_places(store(), theatres())


def unmatched_places() -> pd.DataFrame:
    """The (country, admin1) values that fall into "Other", with counts."""
    return _unmatched_places(data_key())


@st.cache_data(show_spinner=False, max_entries=8)
def _latest_scores(key: str) -> pd.DataFrame:
    return queries.latest_scores(store(), theatres().names)


def latest_scores() -> pd.DataFrame:
    """The newest stored scores; none while the store holds no incidents (scores of data that
    was taken out describe nothing the pages can show)."""
    latest = _latest_scores(results_key())
    return latest if summary().total_incidents else latest.iloc[0:0]


@st.cache_data(show_spinner=False, max_entries=8)
def _last_load(key: str) -> queries.LastLoad | None:
    return queries.last_load(store())


@st.cache_data(show_spinner=False, max_entries=8)
def _holds_demo(key: str) -> bool:
    return holds_demo(store())


@st.cache_data(show_spinner=False, max_entries=8)
def _model_metadata(key: str) -> dict[str, Any] | None:
    return model_metadata(store())


def metadata() -> dict[str, Any] | None:
    """The newest model's metadata (with its backtest), or None."""
    return _model_metadata(results_key())


@st.cache_data(show_spinner="Loading the model...", max_entries=4)
def _model_parts(key: str) -> dict[str, Any]:
    try:
        model = latest_model(store(), target(), theatres())
    except ModelError as error:
        return {"error": str(error), "history": None, "features": None}
    features = pd.DataFrame(
        {
            "feature": list(model.features),
            "typical": [describe_feature(f, model.reference[f]) for f in model.features],
        }
    )
    return {"error": None, "history": model.history, "features": features}


@st.cache_data(show_spinner=False, max_entries=16)
def _changed(data: str, results: str, theatre: str, as_of: dt.date) -> list[str]:
    try:
        model = latest_model(store(), target(), theatres())
    except ModelError:
        return []
    rows = _panel(data)
    rows = rows[rows["theatre"] == theatre].set_index("week")
    week = pd.Timestamp(as_of)
    before = week - pd.Timedelta(days=7)
    if week not in rows.index or before not in rows.index:
        return []
    return what_changed(model, rows.loc[week], rows.loc[before])


def changed_since_last_week(theatre: str, as_of: dt.date) -> list[str]:
    """Why a theatre's score moved since the week before, in sentences (empty: nothing to say)."""
    return _changed(data_key(), results_key(), theatre, as_of)


def model_parts() -> dict[str, Any]:
    """From the model in use: ``history`` (out-of-sample backtest forecasts per theatre-week),
    ``features`` (each with its typical value in words), or ``error`` saying why there is none.
    """
    return _model_parts(results_key())


@st.cache_data(show_spinner=False, max_entries=16)
def _score_history(key: str, theatre: str) -> pd.DataFrame:
    return score_history(store(), theatre)


def stored_scores(theatre: str) -> pd.DataFrame:
    """Every score stored for a theatre (live forecasts as they were made)."""
    return _score_history(results_key(), theatre)


@st.cache_data(show_spinner=False, max_entries=16)
def _find_incidents(
    key: str,
    theatre_names: tuple[str, ...] | None,
    start: dt.date | None,
    end: dt.date | None,
    categories: tuple[str, ...] | None,
    search: str,
    limit: int,
) -> queries.IncidentPage:
    return queries.find_incidents(
        store(),
        theatres(),
        theatre_names=None if theatre_names is None else list(theatre_names),
        start=start,
        end=end,
        categories=None if categories is None else list(categories),
        search=search,
        limit=limit,
    )


def find_incidents(
    *,
    theatre_names: list[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    categories: list[str] | None = None,
    search: str = "",
    limit: int = 1_000,
) -> queries.IncidentPage:
    return _find_incidents(
        data_key(),
        None if theatre_names is None else tuple(theatre_names),
        start,
        end,
        None if categories is None else tuple(categories),
        search,
        limit,
    )


def incidents_csv(
    *,
    theatre_names: list[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    categories: list[str] | None = None,
    search: str = "",
) -> Callable[[], bytes]:
    """A callable for st.download_button: every matching incident as a spreadsheet-safe CSV.

    It runs on click, on another thread, so it takes the store and theatres with it and uses
    no Streamlit call.
    """
    opened, current = store(), theatres()

    def build() -> bytes:
        page = queries.find_incidents(
            opened,
            current,
            theatre_names=theatre_names,
            start=start,
            end=end,
            categories=categories,
            search=search,
            limit=None,
        )
        return safe_csv(page.rows)

    return build


@st.cache_data(show_spinner=False, max_entries=16)
def _actor_activity(
    key: str, theatre: str, start: dt.date | None, end: dt.date | None
) -> pd.DataFrame:
    return queries.actor_activity(store(), theatres(), theatre, start=start, end=end)


def actor_activity(theatre: str, start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
    return _actor_activity(data_key(), theatre, start, end)


@st.cache_data(show_spinner="Placing incidents on the map...", max_entries=16)
def _map_points(
    key: str,
    theatre_names: tuple[str, ...],
    start: dt.date,
    end: dt.date,
    categories: tuple[str, ...],
) -> queries.MapPoints:
    return queries.map_points(
        store(),
        theatres(),
        theatre_names=list(theatre_names),
        start=start,
        end=end,
        categories=list(categories),
    )


def map_points(
    theatre_names: list[str], start: dt.date, end: dt.date, categories: list[str]
) -> queries.MapPoints:
    return _map_points(data_key(), tuple(theatre_names), start, end, tuple(categories))


def top_places(points: pd.DataFrame) -> pd.DataFrame:
    """The deadliest places among the map points drawn."""
    return queries.top_places(points)


@st.cache_data(show_spinner=False, max_entries=8)
def _batches(key: str) -> pd.DataFrame:
    return list_batches(store())


def batches() -> pd.DataFrame:
    """Every batch, newest first (risk.store.ingest.list_batches)."""
    return _batches(data_key())


@st.cache_data(show_spinner=False, max_entries=8)
def _loads_by_origin(key: str) -> pd.DataFrame:
    return queries.loads_by_origin(store())


def loads_by_origin() -> pd.DataFrame:
    return _loads_by_origin(data_key())


def rejections_csv(batch_id: int) -> Callable[[], bytes]:
    """A callable for st.download_button: a batch's rejected rows (line, reason, raw row)."""
    opened = store()
    return lambda: safe_csv(batch_rejections(opened, batch_id))


@st.cache_data(show_spinner=False, max_entries=8)
def _overview(data: str, results: str) -> pd.DataFrame:
    return queries.theatre_overview(_panel(data), _latest_scores(results))


def overview() -> pd.DataFrame:
    """Per theatre for the scored week: score, band, change, expected, last 26 weeks, and the
    backtest ``skill`` and ``status`` there; highest band first."""
    table = _overview(data_key(), results_key())
    found = metadata()
    covered = (
        last_covered_weeks(_panel(data_key()), up_to=table["week"].max())
        if not table.empty
        else None
    )
    return with_status(table, None if found is None else found.get("backtest"), covered)


@st.cache_data(show_spinner=False, max_entries=8)
def _region_heat(key: str, end: dt.date | None, weeks: int) -> pd.DataFrame:
    return queries.region_heat(_panel(key), None if end is None else pd.Timestamp(end), weeks)


def region_heat(end: dt.date | None, weeks: int) -> pd.DataFrame:
    """Theatre x week violent incidents against the four weeks before, surge weeks marked."""
    return _region_heat(data_key(), end, weeks)


@st.cache_data(show_spinner=False, max_entries=16)
def _weekly_series(
    key: str,
    theatre_names: tuple[str, ...],
    categories: tuple[str, ...],
    start: dt.date,
    end: dt.date,
    window: int,
) -> pd.DataFrame:
    counted = _panel(key)
    return queries.weekly_series(
        _weekly_counts(key),
        theatres=list(theatre_names),
        categories=list(categories),
        start=start,
        end=end,
        window=window,
        sources=counted[["theatre", "week", "source", "covered"]] if not counted.empty else None,
    )


def weekly_series(
    theatre_names: list[str], categories: list[str], start: dt.date, end: dt.date, window: int
) -> pd.DataFrame:
    """Weekly incidents and fatalities per theatre for chosen categories, rolling means."""
    return _weekly_series(data_key(), tuple(theatre_names), tuple(categories), start, end, window)


@st.cache_data(show_spinner=False, max_entries=16)
def _weekly_by_category(
    key: str,
    theatre_names: tuple[str, ...],
    categories: tuple[str, ...],
    start: dt.date,
    end: dt.date,
) -> pd.DataFrame:
    return queries.weekly_by_category(
        _weekly_counts(key),
        theatres=list(theatre_names),
        categories=list(categories),
        start=start,
        end=end,
    )


def weekly_by_category(
    theatre_names: list[str], categories: list[str], start: dt.date, end: dt.date
) -> pd.DataFrame:
    return _weekly_by_category(data_key(), tuple(theatre_names), tuple(categories), start, end)


def surge_weeks(theatre_names: list[str], start: dt.date, end: dt.date) -> pd.DataFrame:
    """Surge weeks (theatre, week, violent) of the chosen theatres from start to end."""
    return _surge_weeks(data_key(), tuple(theatre_names), start, end)


@st.cache_data(show_spinner=False, max_entries=16)
def _surge_weeks(
    key: str, theatre_names: tuple[str, ...], start: dt.date, end: dt.date
) -> pd.DataFrame:
    return queries.surge_weeks_between(_panel(key), list(theatre_names), start, end)


@st.cache_data(show_spinner=False, max_entries=4)
def _backtest(key: str) -> dict[str, pd.DataFrame] | None:
    found = _model_metadata(key)  # key: a results key
    return None if found is None else queries.backtest_frames(found)


def backtest() -> dict[str, pd.DataFrame] | None:
    """The model's stored backtest as tables (risk.store.queries.backtest_frames), or None."""
    return _backtest(results_key())


def drivers_now() -> pd.DataFrame:
    """The drivers of the latest stored scores: theatre, rank, feature, contribution, text."""
    return queries.score_drivers(latest_scores())


@st.cache_data(show_spinner=False, ttl=60, max_entries=4)
def _source_status(key: str) -> tuple[list[dict[str, Any]] | None, str | None]:
    try:
        from risk.refresh.runs import source_status
    except ImportError:
        return None, "No scheduled sources configured (scheduled refresh is not available)."
    try:
        rows = source_status(store())
    except (ValueError, OSError, sa.exc.SQLAlchemyError) as error:
        return None, f"The sources could not be read: {error}"
    if not rows:
        return None, "No scheduled sources configured."
    return rows, None


def source_status() -> tuple[list[dict[str, Any]] | None, str | None]:
    """Scheduled sources with their last successful load (risk.refresh.runs.source_status), or
    None and a sentence saying why there are none.
    """
    return _source_status(data_key())


def freshness_warnings(now: dt.date | None = None) -> list[str]:
    """Plain sentences for the overview: data behind the calendar, stale sources."""
    warnings = []
    last = summary().last_date
    today = now or dt.datetime.now(dt.UTC).date()
    last_sunday = today - dt.timedelta(days=(today.weekday() + 1) % 7 or 7)
    if last is not None and last < last_sunday and not _holds_demo(data_key()):
        week = last_sunday - dt.timedelta(days=6)
        warnings.append(
            f"The newest incident is from {last:%Y-%m-%d}, so the latest complete week "
            f"({week_label(week)}) has no data: scores describe an older week. Load newer data, "
            "or check the sources on the Data page."
        )
    sources, _ = source_status()
    stale = [s["name"] for s in sources or [] if s.get("stale")]
    if stale:
        warnings.append(
            f"Stale source{'s' if len(stale) > 1 else ''}: {', '.join(stale)} (no successful "
            "pull within twice the refresh interval). See the Data page."
        )
    return warnings


def recent_runs(n: int = 10) -> pd.DataFrame:
    """The last refresh runs (not cached: a failed run changes no data, yet must show)."""
    from risk.refresh.runs import recent_runs as runs

    rows = runs(store(), n)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    for column in ("started_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["model"] = [
        (m or {}).get("note") or (m or {}).get("status") or "" for m in frame.get("model", [])
    ]
    frame["sources"] = [
        ", ".join(f"{x['name']}: {x['status']}" for x in sources or [])
        for sources in frame["sources"]
    ]
    return frame


def categories() -> list[str]:
    """Incident categories in their canonical order."""
    return list(CATEGORIES)


def latest_complete_week() -> dt.date | None:
    """Monday of the latest week that the incidents cover to its Sunday."""
    last = summary().last_date
    return None if last is None else panels.latest_complete_week(last).date()


def scores_csv(frame: pd.DataFrame) -> bytes:
    """Scores as CSV: the drivers as one readable text column."""
    table = frame.copy()
    if "drivers" in table:
        table["drivers"] = [
            "; ".join(d["text"] for d in (json.loads(v) if isinstance(v, str) else v))
            for v in table["drivers"]
        ]
    return safe_csv(table)
