"""Serving the store to pages: settings, the store and theatres handles, page runs, cache keys.

Two keys: :func:`data_key` for what is derived from incidents, :func:`results_key` for models
and scores, so training or scoring does not rebuild the weekly panel.
"""

from __future__ import annotations

import json
import logging
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


def data_key() -> str:
    """Changes whenever incidents change (load, undo), and with the store, theatres and target.

    The key of every cached result derived from incidents. A fresh read is cheap (the weekly
    counts are stored, :mod:`risk.store.cells`), so new data, from this session or elsewhere,
    is served at once: the first visit after a change computes under the new key.
    """
    return "|".join(
        (
            settings().database_url,
            theatres_key(),
            json.dumps(target().as_dict(), sort_keys=True),
            queries.data_version(store()),
        )
    )


def results_key() -> str:
    """Also changes whenever a model is trained or scores are stored: for model and scores."""
    return f"{data_key()}|{queries.results_version(store())}"
