"""Cached reads for the analyst's week: alerts, the weekly brief, the track record, synchrony.

Like :mod:`ui.reads`: every argument of a cached function is part of its key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

from risk.forecast.track_record import TrackRecord, track_record
from risk.region.actors import ActorGroups, ActorGroupsError, actor_groups_path, load_actor_groups
from risk.region.synchrony import Synchrony, synchrony
from risk.report.alerts import (
    AlertConfigError,
    AlertRule,
    Firing,
    alert_log,
    alerts_path,
    evaluate,
    load_rules,
)
from risk.report.brief import build_brief
from risk.store import queries
from ui.reads import _model_metadata, _panel, latest_scores
from ui.serving import data_key, results_key, store, target, theatres


def _modified(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


# -- alerts -------------------------------------------------------------------------------------
def alert_rules() -> tuple[list[AlertRule], str | None]:
    """The alert rules (read per run: the file is small), or none and the reason."""
    try:
        return load_rules(alerts_path()), None
    except AlertConfigError as error:
        return [], str(error)


def firing_now(rules: list[AlertRule]) -> list[Firing]:
    """What the rules fire on the latest stored scores (whether or not it was sent)."""
    return evaluate(rules, latest_scores())


def sent_alerts() -> pd.DataFrame:
    """Alerts sent or tried, newest first (not cached: a failed send changes no data)."""
    return alert_log(store())


# -- the brief ----------------------------------------------------------------------------------
def brief_html() -> Callable[[], bytes]:
    """A callable for st.download_button: the weekly brief, built on click (another thread)."""
    opened, current, surge = store(), theatres(), target()
    return lambda: build_brief(opened, current, surge).encode("utf-8")


# -- track record -------------------------------------------------------------------------------
@st.cache_data(show_spinner="Resolving past forecasts...", max_entries=4)
def _track_record(key: str, data: str) -> TrackRecord:
    metadata = _model_metadata(key)
    backtest = None
    if metadata:
        backtest = queries.backtest_frames(metadata)["reliability"].to_dict("records")
    return track_record(store(), _panel(data), target(), backtest)


def live_track_record() -> TrackRecord:
    """Stored scores against what happened (risk.forecast.track_record)."""
    return _track_record(results_key(), data_key())


# -- synchrony ----------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _groups_at(path: str, modified: float) -> ActorGroups:
    return load_actor_groups(Path(path))


def actor_groups() -> tuple[ActorGroups | None, str | None]:
    """The actor groups file, re-read when it changes; or None and the reason."""
    path = actor_groups_path()
    try:
        return _groups_at(str(path), _modified(path)), None
    except ActorGroupsError as error:
        return None, str(error)


@st.cache_data(show_spinner="Comparing the theatres week by week...", max_entries=8)
def _synchrony(key: str, groups_file: str, group: str, min_theatres: int, within: int) -> Synchrony:
    groups, _ = actor_groups()
    return synchrony(
        store(),
        theatres(),
        _panel(key),
        groups,
        group=group,
        min_theatres=min_theatres,
        within=within,
        min_baseline=target().min_baseline,
    )


def region_synchrony(group: str, min_theatres: int, within: int) -> Synchrony:
    path = actor_groups_path()
    return _synchrony(data_key(), f"{path}|{_modified(path)}", group, min_theatres, within)
