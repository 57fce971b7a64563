"""Serving the store to pages: settings, the store and theatres handles, page runs, cache keys.

Two keys: :func:`data_key` for what is derived from incidents, :func:`results_key` for models
and scores, so training or scoring does not rebuild the weekly panel. New data from elsewhere
is served once a background thread has computed what the pages read (:class:`_Serving`).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import streamlit as st

from risk.config import Settings, load_settings
from risk.forecast.target import SurgeTarget, settings_target
from risk.incidents.theatres import Theatres, load_theatres
from risk.store import queries
from risk.store.database import Store, StoreError
from risk.store.demo import load_demo_once

_log = logging.getLogger(__name__)


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
    """The surge target the settings name (RISK_TARGET and the RISK_SURGE_* values)."""
    return settings_target(settings())


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
# Reads that every page needs, keyed by the data version alone: prepared first for new data.
_ALWAYS_WARM: list[Callable[[str], Any]] = []


def always_warm(read: Callable[[str], Any]) -> Callable[[str], Any]:
    """Register a cached read of the data version that new data is prepared for first."""
    _ALWAYS_WARM.append(read)
    return read


def replayable(function: Callable) -> Callable:
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
        for read in _ALWAYS_WARM:
            read(new)
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
