"""The dashboard's one shared UI module: cached access to ``risk/``, banners, colours.

Pages call these functions and draw; they never query the store or compute aggregates
themselves. Cached results are keyed by :func:`data_version`, so an upload, an undo or a
refresh shows up on the next rerun without a restart.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from risk.config import Settings, load_settings
from risk.demo import holds_demo, load_demo_once
from risk.queries import StoreSummary, data_version, store_summary, theatre_stats
from risk.store import Store
from risk.theatres import OTHER, Theatres, load_theatres

# One colour per theatre (by position in the theatres file) and per band, on every page.
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


def theatres() -> Theatres:
    """The theatres file, re-read when it changes on disk."""
    path = Path(settings().theatres_path)
    return _theatres_at(str(path), path.stat().st_mtime if path.exists() else 0.0)


def theatre_colours() -> dict[str, str]:
    names = theatres().names
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names) if name != OTHER}
    colours[OTHER] = OTHER_COLOUR
    return colours


def version() -> str:
    """Changes whenever stored data changes (and with the store); part of every cache key."""
    return f"{settings().database_url}|{data_version(store())}"


@st.cache_data(show_spinner=False, max_entries=8)
def cached_summary(data_key: str) -> StoreSummary:
    return store_summary(store())


@st.cache_data(show_spinner=False, max_entries=8)
def cached_theatre_stats(data_key: str, theatres_key: str) -> pd.DataFrame:
    return theatre_stats(store(), theatres())


def banners() -> None:
    """Every page: say when the data is the simulated demo."""
    if _holds_demo(version()):
        st.info(
            "Showing the **simulated demo data** (not real incidents). Load your own ACLED, "
            "UCDP or native files on the Upload page.",
            icon=":material/science:",
        )


@st.cache_data(show_spinner=False, max_entries=4)
def _holds_demo(data_key: str) -> bool:
    return holds_demo(store())
