"""The dashboard's one shared UI module: cached access to ``risk/``, page furniture, colours.

Pages call these functions and draw; they never query the store or compute aggregates
themselves. Cached results are keyed by tokens that change with every load, undo, training and
scoring, so the next rerun shows them without a restart.

Two keys: :func:`data_key` for what is derived from incidents, :func:`results_key` for models
and scores, so training or scoring does not rebuild the weekly panel. New data from elsewhere
is served once a background thread has computed what the pages read (:class:`_Serving`).

``st.cache_data`` ignores arguments whose names start with ``_``: every argument of a cached
function here is part of its key.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, cast

import pandas as pd
import sqlalchemy as sa
import streamlit as st
from streamlit.errors import StreamlitAPIException, StreamlitSecretNotFoundError

from risk import panel as panels
from risk import queries
from risk.config import Settings, load_settings
from risk.demo import holds_demo, load_demo_once
from risk.export import safe_csv
from risk.ingest import (
    IngestReport,
    UndoReport,
    batch_rejections,
    ingest_file,
    list_batches,
    undo_batch,
)
from risk.model import ModelError, describe_feature
from risk.panel import SurgeTarget, weekly_actors, weekly_counts, weekly_panel
from risk.schema import CATEGORIES
from risk.scores import BANDS, make_scores, score_history
from risk.store import Store, StoreError
from risk.theatres import OTHER, Theatres, load_theatres
from risk.training import latest_model, model_metadata, train

_log = logging.getLogger(__name__)

# One colour per theatre (by position in the theatres file), per band and per category, on
# every page.
PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)
OTHER_COLOUR = "#b0b0b0"
BAND_COLOURS = {"low": "#74c476", "elevated": "#fdd049", "high": "#fd8d3c", "severe": "#d7301f"}
BAND_TEXT = {"low": "#0b3d17", "elevated": "#3d2f00", "high": "#3b1700", "severe": "#ffffff"}
CATEGORY_LABELS = {
    "battle": "Battles",
    "remote_violence": "Explosions / remote violence",
    "violence_against_civilians": "Violence against civilians",
    "riot": "Riots",
    "protest": "Protests",
    "strategic": "Strategic developments",
}
# Okabe-Ito: tells the six apart with any kind of colour vision.
CATEGORY_COLOURS = {
    "battle": "#D55E00",
    "remote_violence": "#CC79A7",
    "violence_against_civilians": "#0072B2",
    "riot": "#E69F00",
    "protest": "#009E73",
    "strategic": "#7f7f7f",
}
FORECASTER_LABELS = {
    "model": "This model",
    "climatology": "Climatology: the theatre's past surge rate",
    "persistence": "Persistence: surge rate after a recent surge, or not",
    "average": "Average: share of surge weeks in the past year",
    "conflictology": "Conflictology: share of 4-week spans with a surge in the past year",
    "levels": "Recent levels only (violent counts of the last 1, 4, 12 weeks)",
}
# Short names of the model's features (risk.model.FEATURES), for charts.
FEATURE_LABELS = {
    "violent_mean_1": "violent, last week",
    "violent_mean_4": "violent, 4-week mean",
    "violent_mean_12": "violent, 12-week mean",
    "violent_mean_52": "violent, 52-week mean",
    "ratio_4_12": "last 4 vs 12 weeks before",
    "fatalities_mean_4": "deaths, 4-week mean",
    "fatalities_per_violent_4": "deaths per violent incident",
    "actors_mean_4": "distinct actors",
    "incidents_mean_4": "all incidents, 4-week mean",
    "volatility_52": "volatility",
    "surges_52": "surges, past year",
    "weeks_since_surge": "weeks since last surge",
    "change_4": "change vs 4 weeks",
    "change_52": "change vs year",
    "others_surging": "other theatres surging",
    "others_surging_4": "other theatres' surges, 4 weeks",
    "region_violent_other_mean_4": "violence elsewhere in region",
    "window_surge_rate_52": "4-week spans with a surge",
    "surge_rate_long": "long-run surge rate",
    "level_vs_year": "level vs yearly average",
    "nb_surge_prob": "surge odds from noise alone",
}
PLOTLY_CONFIG = {"displaylogo": False}
# plotly.js fetches world_50m.json from here: Streamlit serves ./static (a symlink to data/map)
# at /app/static/ when server.enableStaticServing is on. Relative, so it works under any page.
MAP_CONFIG = {**PLOTLY_CONFIG, "topojsonURL": "app/static/"}
LOCAL_ADDRESSES = frozenset({"localhost", "127.0.0.1", "::1"})
DEFAULT_UPLOAD_MAX_ROWS = 1_000_000


# -- running a page ---------------------------------------------------------------------------
def run_page(page: Any) -> None:
    """Run the chosen page; a database that is down or unreachable is a message, not a trace."""
    try:
        page.run()
    except StoreError as error:
        st.error(
            f"{error}\n\nCheck `RISK_DATABASE_URL` and that the database server is running, "
            "then reload the page.",
            icon=":material/database_off:",
        )
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
        # The driver's own first line: no SQL, no parameters, no connection string.
        reason = str(error.orig or "").strip().splitlines()[:1] or ["connection lost"]
        _log.warning("database error on a page: %s", reason[0])
        st.error(
            f"The database did not answer: {reason[0]}\n\nReload the page in a moment; if this "
            "persists, check the database server.",
            icon=":material/database_off:",
        )


# -- settings, store, theatres, keys ----------------------------------------------------------
def settings() -> Settings:
    """Read per run (cheap), so a changed environment is never masked by a cache."""
    return load_settings()


@st.cache_resource(show_spinner="Opening the store (the first start loads the demo data)...")
def _store_at(url: str, load_demo: bool) -> Store:
    opened = Store(url)
    if load_demo:
        load_demo_once(opened)
    return opened


def store() -> Store:
    """The store, migrated; an empty store gets the demo data once (unless RISK_LOAD_DEMO=0)."""
    current = settings()
    return _store_at(current.database_url, current.load_demo)


@st.cache_resource(show_spinner=False)
def _theatres_at(path: str, modified: float) -> Theatres:
    return load_theatres(path)


def _theatres_file() -> tuple[str, float]:
    path = Path(settings().theatres_path)
    return str(path), path.stat().st_mtime if path.exists() else 0.0


def theatres() -> Theatres:
    """The theatres file, re-read when it changes on disk."""
    return _theatres_at(*_theatres_file())


def theatres_key() -> str:
    path, modified = _theatres_file()
    return f"{path}|{modified}"


def target() -> SurgeTarget:
    current = settings()
    return SurgeTarget(
        horizon=current.surge_horizon,
        ratio=current.surge_ratio,
        min_baseline=current.surge_min_baseline,
    )


class _Serving:
    """Which data version the pages of one store (and theatres, target) are served from.

    When new data lands (a refresh in another process, another user's load), the pages keep
    showing the version whose results are computed while a background thread computes the
    new one, then switch: nobody waits seconds for the weekly panel of a million incidents.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.served: dict[str, str] = {}  # scope -> data version the pages show
        self.newest: dict[str, str] = {}  # scope -> newest version a warm-up was started for
        self.warming: set[tuple[str, str]] = set()
        # The cached reads asked for lately (function, arguments): what to compute ahead.
        self.calls: OrderedDict[tuple[Any, tuple, tuple], None] = OrderedDict()


RECENT_CALLS = 96


def _replayable(function: Callable) -> Callable:
    """Remember the calls of a cached read, so that new data can be prepared for them."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        entry = (function, args, tuple(sorted(kwargs.items())))
        try:
            hash(entry)
        except TypeError:
            return function(*args, **kwargs)
        serving = _serving()
        with serving.lock:
            serving.calls[entry] = None
            serving.calls.move_to_end(entry)
            while len(serving.calls) > RECENT_CALLS:
                serving.calls.popitem(last=False)
        return function(*args, **kwargs)

    call.clear = function.clear  # type: ignore[attr-defined]
    return call


class _QuietWarmUp(logging.Filter):
    """The warm-up thread has no page to draw on by design: not worth a warning per run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.threadName == "risk-warm" and "missing ScriptRunContext" in record.getMessage()
        )


logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
    _QuietWarmUp()
)


@st.cache_resource(show_spinner=False)
def _serving() -> _Serving:
    return _Serving()


def _scope() -> str:
    return "|".join(
        (
            settings().database_url,
            theatres_key(),
            json.dumps(target().as_dict(), sort_keys=True),
        )
    )


def _warm(serving: _Serving, scope: str, served: str, version: str) -> None:
    """Compute what the pages read for ``version``, then serve it.

    The reads are the ones visitors made lately under the served version (same arguments,
    new keys), most recent first, so the next clicks find them ready.
    """
    old, new = f"{scope}|{served}", f"{scope}|{version}"
    try:
        new_results = f"{new}|{queries.results_version(store())}"

        def rekey(value: Any) -> Any:
            if value == old:
                return new
            if isinstance(value, str) and value.startswith(f"{old}|"):
                return new_results
            return value

        with serving.lock:
            calls = [c for c in reversed(serving.calls) if old in c[1] or f"{old}|" in str(c[1])]
        _summary(new)
        _theatre_stats(new)
        _panel(new)
        for function, args, kwargs in calls:
            try:
                function(*map(rekey, args), **{k: rekey(v) for k, v in kwargs})
            except Exception:  # noqa: BLE001 (e.g. a theatre gone: the page will say so)
                _log.debug("preparing %s for new data failed", function, exc_info=True)
    except Exception:  # noqa: BLE001 (served anyway: the pages then compute and report it)
        _log.exception("preparing the dashboard's results for new data failed")
    finally:
        with serving.lock:
            serving.warming.discard((scope, version))
            if serving.newest.get(scope) == version:  # an older warm-up never overtakes
                serving.served[scope] = version


def data_key() -> str:
    """Changes whenever incidents change (load, undo), and with the store, theatres and target.

    The key of every cached result derived from incidents. New data from elsewhere is served
    once its results are computed (see _Serving); the first visit, and a session that changed
    the data itself (:func:`serve_newest`), compute at once.
    """
    scope = _scope()
    newest = queries.data_version(store())
    serving = _serving()
    with serving.lock:
        served = serving.served.setdefault(scope, newest)
        if served != newest and (scope, newest) not in serving.warming:
            serving.newest[scope] = newest
            serving.warming.add((scope, newest))
            threading.Thread(
                target=_warm, args=(serving, scope, served, newest), name="risk-warm", daemon=True
            ).start()
    return f"{scope}|{served}"


def serve_newest() -> None:
    """After this session changed the data: show the newest version now, to everyone."""
    scope, newest = _scope(), queries.data_version(store())
    serving = _serving()
    with serving.lock:
        serving.newest[scope] = newest
        serving.served[scope] = newest


def updating() -> bool:
    """Whether newer data is being prepared (the pages show the previous version meanwhile)."""
    serving = _serving()
    with serving.lock:
        return serving.served.get(_scope()) != queries.data_version(store())


def results_key() -> str:
    """Also changes whenever a model is trained or scores are stored: for model and scores."""
    return f"{data_key()}|{queries.results_version(store())}"


# -- colours ----------------------------------------------------------------------------------
def theatre_colours() -> dict[str, str]:
    names = theatres().names
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names) if name != OTHER}
    colours[OTHER] = OTHER_COLOUR
    return colours


def theatre_colour(name: str) -> str:
    return theatre_colours().get(name, OTHER_COLOUR)


def band_ranges() -> list[tuple[str, float, float]]:
    """(band, lower, upper) for every band, for shading probability charts."""
    lowers = [lower for _, lower in BANDS] + [1.0]
    return [(name, lowers[i], lowers[i + 1]) for i, (name, _) in enumerate(BANDS)]


# -- cached reads -----------------------------------------------------------------------------
@_replayable
@st.cache_data(show_spinner=False, max_entries=8)
def _summary(key: str) -> queries.StoreSummary:
    return queries.store_summary(store())


def summary() -> queries.StoreSummary:
    return _summary(data_key())


@_replayable
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


@_replayable
@st.cache_data(show_spinner="Counting incidents per theatre and week...", max_entries=4)
def _weekly_counts(key: str) -> pd.DataFrame:
    return weekly_counts(store(), theatres())


@_replayable
@st.cache_data(show_spinner="Building the weekly panel...", max_entries=4)
def _panel(key: str) -> pd.DataFrame:
    opened, current = store(), theatres()
    # The actor count is the panel's slowest scan: run it beside the weekly counts (each
    # query has its own connection; SQLite readers and PostgreSQL run them in parallel).
    with ThreadPoolExecutor(max_workers=1) as pool:
        actors = pool.submit(weekly_actors, opened, current)
        counts = _weekly_counts(key)
        return weekly_panel(opened, current, target(), counts=counts, actors=actors.result())


def panel() -> pd.DataFrame:
    """The weekly theatre panel with surge weeks (risk.panel.weekly_panel)."""
    return _panel(data_key())


@_replayable
@st.cache_data(show_spinner=False, max_entries=8)
def _latest_scores(key: str) -> pd.DataFrame:
    return queries.latest_scores(store(), theatres().names)


def latest_scores() -> pd.DataFrame:
    return _latest_scores(results_key())


@_replayable
@st.cache_data(show_spinner=False, max_entries=8)
def _last_load(key: str) -> queries.LastLoad | None:
    return queries.last_load(store())


@_replayable
@st.cache_data(show_spinner=False, max_entries=8)
def _holds_demo(key: str) -> bool:
    return holds_demo(store())


@_replayable
@st.cache_data(show_spinner=False, max_entries=8)
def _model_metadata(key: str) -> dict[str, Any] | None:
    return model_metadata(store())


def metadata() -> dict[str, Any] | None:
    """The newest model's metadata (with its backtest), or None."""
    return _model_metadata(results_key())


@_replayable
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


def model_parts() -> dict[str, Any]:
    """From the model in use: ``history`` (out-of-sample backtest forecasts per theatre-week),
    ``features`` (each with its typical value in words), or ``error`` saying why there is none.
    """
    return _model_parts(results_key())


@_replayable
@st.cache_data(show_spinner=False, max_entries=16)
def _score_history(key: str, theatre: str) -> pd.DataFrame:
    return score_history(store(), theatre)


def stored_scores(theatre: str) -> pd.DataFrame:
    """Every score stored for a theatre (live forecasts as they were made)."""
    return _score_history(results_key(), theatre)


@_replayable
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


@_replayable
@st.cache_data(show_spinner=False, max_entries=16)
def _actor_activity(
    key: str, theatre: str, start: dt.date | None, end: dt.date | None
) -> pd.DataFrame:
    return queries.actor_activity(store(), theatres(), theatre, start=start, end=end)


def actor_activity(theatre: str, start: dt.date | None, end: dt.date | None) -> pd.DataFrame:
    return _actor_activity(data_key(), theatre, start, end)


@_replayable
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


@_replayable
@st.cache_data(show_spinner=False, max_entries=8)
def _batches(key: str) -> pd.DataFrame:
    return list_batches(store())


def batches() -> pd.DataFrame:
    """Every batch, newest first (risk.ingest.list_batches)."""
    return _batches(data_key())


@_replayable
@st.cache_data(show_spinner=False, max_entries=8)
def _loads_by_origin(key: str) -> pd.DataFrame:
    return queries.loads_by_origin(store())


def loads_by_origin() -> pd.DataFrame:
    return _loads_by_origin(data_key())


def rejections_csv(batch_id: int) -> Callable[[], bytes]:
    """A callable for st.download_button: a batch's rejected rows (line, reason, raw row)."""
    opened = store()
    return lambda: safe_csv(batch_rejections(opened, batch_id))


@_replayable
@st.cache_data(show_spinner=False, max_entries=8)
def _overview(data: str, results: str) -> pd.DataFrame:
    return queries.theatre_overview(_panel(data), _latest_scores(results))


def overview() -> pd.DataFrame:
    """Per theatre for the scored week: score, band, change, expected, last 26 weeks."""
    return _overview(data_key(), results_key())


@_replayable
@st.cache_data(show_spinner=False, max_entries=8)
def _region_heat(key: str, end: dt.date | None, weeks: int) -> pd.DataFrame:
    return queries.region_heat(_panel(key), None if end is None else pd.Timestamp(end), weeks)


def region_heat(end: dt.date | None, weeks: int) -> pd.DataFrame:
    """Theatre x week violent incidents against the four weeks before, surge weeks marked."""
    return _region_heat(data_key(), end, weeks)


@_replayable
@st.cache_data(show_spinner=False, max_entries=16)
def _weekly_series(
    key: str,
    theatre_names: tuple[str, ...],
    categories: tuple[str, ...],
    start: dt.date,
    end: dt.date,
    window: int,
) -> pd.DataFrame:
    return queries.weekly_series(
        _weekly_counts(key),
        theatres=list(theatre_names),
        categories=list(categories),
        start=start,
        end=end,
        window=window,
    )


def weekly_series(
    theatre_names: list[str], categories: list[str], start: dt.date, end: dt.date, window: int
) -> pd.DataFrame:
    """Weekly incidents and fatalities per theatre for chosen categories, rolling means."""
    return _weekly_series(data_key(), tuple(theatre_names), tuple(categories), start, end, window)


@_replayable
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


@_replayable
@st.cache_data(show_spinner=False, max_entries=16)
def _surge_weeks(
    key: str, theatre_names: tuple[str, ...], start: dt.date, end: dt.date
) -> pd.DataFrame:
    return queries.surge_weeks_between(_panel(key), list(theatre_names), start, end)


@_replayable
@st.cache_data(show_spinner=False, max_entries=4)
def _backtest(key: str) -> dict[str, pd.DataFrame] | None:
    found = _model_metadata(key)  # key: a results key
    return None if found is None else queries.backtest_frames(found)


def backtest() -> dict[str, pd.DataFrame] | None:
    """The model's stored backtest as tables (risk.queries.backtest_frames), or None."""
    return _backtest(results_key())


def drivers_now() -> pd.DataFrame:
    """The drivers of the latest stored scores: theatre, rank, feature, contribution, text."""
    return queries.score_drivers(latest_scores())


@st.cache_data(show_spinner=False, ttl=60, max_entries=4)
def _source_status(key: str) -> tuple[list[dict[str, Any]] | None, str | None]:
    try:
        from risk.refresh import source_status
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
    """Scheduled sources with their last successful load (risk.refresh.source_status), or
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
    # A source never tried is set-up, not news: the Data page lists it; here only the ones
    # that were pulled and have since gone quiet or started failing.
    stale = [s["name"] for s in sources or [] if s.get("stale") and s.get("last_attempt")]
    if stale:
        warnings.append(
            f"Stale source{'s' if len(stale) > 1 else ''}: {', '.join(stale)} (no successful "
            "pull within twice the refresh interval). See the Data page."
        )
    return warnings


def recent_runs(n: int = 10) -> pd.DataFrame:
    """The last refresh runs (not cached: a failed run changes no data, yet must show)."""
    from risk.refresh import recent_runs as runs

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


def refresh_now(progress: Callable[[str], None]) -> Any:
    """Run the scheduled refresh here and now (risk.refresh.run_refresh), reporting progress.

    Raises RefreshBusy while another refresh runs and ConfigError for a bad sources file.
    """
    from risk.refresh import run_refresh

    record = run_refresh(
        store(), theatres=theatres(), target=target(), trigger="dashboard", progress=progress
    )
    _source_status.clear()
    serve_newest()
    return record


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
    if not latest.empty:
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
    if updating():
        parts.append("newer data is being prepared and shows on your next click")
    return " · ".join(parts) if parts else "No data loaded yet"


def week_label(monday: dt.date) -> str:
    """'2024-12-23 to 2024-12-29' for the ISO week starting that Monday."""
    return f"{monday:%Y-%m-%d} to {monday + dt.timedelta(days=6):%Y-%m-%d}"


def ago(moment: dt.datetime, now: dt.datetime | None = None) -> str:
    seconds = ((now or dt.datetime.now(dt.UTC)) - moment).total_seconds()
    if seconds < 90:
        return "just now"
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "minute")):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def categories() -> list[str]:
    """Incident categories in their canonical order."""
    return list(CATEGORIES)


def latest_complete_week() -> dt.date | None:
    """Monday of the latest week that the incidents cover to its Sunday."""
    last = summary().last_date
    return None if last is None else panels.latest_complete_week(last).date()


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


def utc_column(label: str) -> Any:
    """A date-time column shown to the minute (values are UTC)."""
    return st.column_config.DatetimeColumn(label, format="YYYY-MM-DD HH:mm")


def period_input(key: str, weeks: int) -> Any:
    """A date-range picker over the stored incidents, starting with their last ``weeks``."""
    first, last = summary().first_date, summary().last_date
    return st.date_input(
        "Dates",
        value=(max(first, last - dt.timedelta(weeks=weeks)), last),
        min_value=first,
        max_value=last,
        format="YYYY-MM-DD",
        key=key,
    )


def complete_period(period: Any) -> tuple[dt.date, dt.date]:
    """(start, end) of a :func:`period_input`; while only the start is picked, say so and stop."""
    if not isinstance(period, tuple) or len(period) != 2:
        st.info("Choose the last day of the period too.")
        st.stop()
    return period[0], period[1]


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


def count_column(label: str, help: str | None = None) -> Any:
    """A whole-number column with thousands separators."""
    return st.column_config.NumberColumn(label, format="localized", help=help)


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


_MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()<>#+-.!|~:$&"})


def escape_markdown(text: str) -> str:
    """Text from files or users, made literal inside Streamlit markdown (alerts, captions):
    no links, images, formatting or LaTeX from data. Raw HTML is never enabled anyway.
    """
    return str(text).translate(_MARKDOWN_SPECIALS)


def category_label(category: str) -> str:
    return CATEGORY_LABELS.get(category, category)


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


def scores_csv(frame: pd.DataFrame) -> bytes:
    """Scores as CSV: the drivers as one readable text column."""
    table = frame.copy()
    if "drivers" in table:
        table["drivers"] = [
            "; ".join(d["text"] for d in (json.loads(v) if isinstance(v, str) else v))
            for v in table["drivers"]
        ]
    return safe_csv(table)


# -- changing data: sign-in -------------------------------------------------------------------
def _secret(name: str) -> Any:
    try:
        return st.secrets.get(name)
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return None


def _oidc_configured() -> bool:
    auth = _secret("auth")
    return bool(auth) and ("client_id" in auth or any(isinstance(v, dict) for v in auth.values()))


def _admin_password() -> str | None:
    return _secret("admin_password") or os.environ.get("RISK_ADMIN_PASSWORD") or None


def listens_locally() -> bool:
    return (st.get_option("server.address") or "") in LOCAL_ADDRESSES


def change_allowed(action: str) -> bool:
    """Whether this session may ``action`` (load files, undo, refresh); draws sign-in if not.

    With OIDC configured in secrets ([auth]): signed-in users. With a password (secret
    ``admin_password`` or RISK_ADMIN_PASSWORD): after entering it. With neither: only while
    the server listens on localhost.
    """
    if _oidc_configured():
        if st.user.get("is_logged_in", False):
            st.caption(f"Signed in as {st.user.get('email') or st.user.get('name') or 'user'}.")
            return True
        st.info(f"Sign in to {action}.", icon=":material/lock:")
        if st.button("Sign in", icon=":material/login:"):
            try:
                st.login()
            except StreamlitAPIException as error:
                st.error(f"Sign-in is configured but cannot start: {error}")
        return False
    password = _admin_password()
    if password:
        if st.session_state.get("risk_admin"):
            return True
        st.info(f"Enter the admin password to {action}.", icon=":material/lock:")
        with st.form("sign_in", clear_on_submit=True):
            given = st.text_input("Admin password", type="password")
            submitted = st.form_submit_button("Sign in", icon=":material/login:")
        if submitted:
            if hmac.compare_digest(given.encode(), password.encode()):
                st.session_state["risk_admin"] = True
                st.rerun()
            st.error("That password is not right.")
        return False
    if listens_locally():
        return True
    st.info(
        f"To {action}, configure sign-in: set `admin_password` in `.streamlit/secrets.toml` "
        "or the RISK_ADMIN_PASSWORD environment variable, or an OIDC provider under [auth] "
        "(see the README). Without sign-in, changes are allowed only when the server listens "
        "on localhost.",
        icon=":material/lock:",
    )
    return False


def upload_max_rows() -> int:
    """RISK_UPLOAD_MAX_ROWS (default 1,000,000): the most data rows an uploaded file may have."""
    value = os.environ.get("RISK_UPLOAD_MAX_ROWS", "").strip()
    if not value:
        return DEFAULT_UPLOAD_MAX_ROWS
    try:
        rows = int(value.replace("_", "").replace(",", ""))
    except ValueError:
        raise ValueError(f"RISK_UPLOAD_MAX_ROWS={value!r} is not a whole number") from None
    if rows < 1:
        raise ValueError(f"RISK_UPLOAD_MAX_ROWS={value!r} must be at least 1")
    return rows


# -- changing data ----------------------------------------------------------------------------
def preview_file(uploaded: BinaryIO, name: str, max_rows: int) -> IngestReport:
    """What loading the file would do (risk.ingest.ingest_file with dry_run: rolled back).

    The uploaded object itself is read, never a path: the user's file name only labels it.
    Raises FileProblem for an unusable file.
    """
    uploaded.seek(0)
    # Without a precondition, ingest_file always returns a report.
    return cast(
        IngestReport,
        ingest_file(
            store(),
            uploaded,
            name=name,
            origin="upload",
            theatres=theatres(),
            dry_run=True,
            max_rows=max_rows,
        ),
    )


def load_file(uploaded: BinaryIO, name: str, max_rows: int) -> IngestReport:
    """Commit the file as one batch (see :func:`preview_file`)."""
    uploaded.seek(0)
    report = ingest_file(
        store(), uploaded, name=name, origin="upload", theatres=theatres(), max_rows=max_rows
    )
    serve_newest()
    return cast(IngestReport, report)


def undo(batch_id: int) -> UndoReport:
    """Take a batch back out (risk.ingest.undo_batch); StoreError says why not."""
    report = undo_batch(store(), batch_id)
    serve_newest()
    return report


def update_scores() -> str:
    """Score the latest complete week after the data changed; train first when needed.

    Returns what happened, in words. A model that no longer fits (other theatres, surge
    settings or library versions) or is missing is retrained.
    """
    serve_newest()
    opened, current, surge = store(), theatres(), target()
    # Built once and cached under the new data key: the pages opened next find it ready.
    built = _panel(data_key())
    try:
        scored = make_scores(opened, current, surge, panel=built)
        return f"Scored the week {week_label(scored.as_of)} with model {scored.model_version}."
    except ModelError:
        pass
    try:
        report = train(opened, current, surge, panel=built)
        scored = make_scores(opened, current, surge, model=report.model, panel=built)
    except ModelError as error:
        return f"No scores: {error}."
    return f"Trained model {report.model.version} and scored the week {week_label(scored.as_of)}."
