"""How the dashboard looks: colours per theatre, band and category; labels; number and date text."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from risk.forecast.scores import BANDS
from risk.incidents.theatres import OTHER
from ui.serving import theatres

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
    "model": "The forecaster, as chosen fold by fold (nested)",
    "logistic": "Logistic regression on every feature",
    "boosting": "Gradient boosting on a compact feature set",
    "climatology": "Climatology: the theatre's past surge rate",
    "persistence": "Persistence: surge rate after a recent surge, or not",
    "average": "Average: share of surge weeks in the past year",
    "conflictology": "Conflictology: share of 4-week spans with a surge in the past year",
    "levels": "Levels: gradient boosting on the violent counts of the last 1, 4, 12 weeks",
}
# What a theatre's status means, for the overview and theatre pages.
STATUS_TEXT = {
    "ok": "",
    "no skill": "no skill: the forecaster did no better than the theatre's own surge rate in "
    "the backtest",
    "too few surges": "too few surges in the backtest to tell whether the forecast has skill",
    "no recent data": "no recent data: its last week covered by the data is before the scored week",
    "too little history": "too little history: the data covering it starts too recently for "
    "the forecast's features",
}
# Short names of the model's features (risk.forecast.model.FEATURES), for charts.
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
    "peers_surging_4": "same-country theatres' surges, 4 weeks",
    "peers_ratio_4_12": "same-country theatres, last 4 vs 12 weeks",
}


def feature_label(feature: str) -> str:
    """A feature as readers see it; an unlabelled one in words, never its internal name."""
    return FEATURE_LABELS.get(feature) or feature.replace("_", " ")


PLOTLY_CONFIG = {"displaylogo": False}
# plotly.js fetches world_50m.json from here: Streamlit serves ./static (a symlink to data/map)
# at /app/static/ when server.enableStaticServing is on. Relative, so it works under any page.
MAP_CONFIG = {**PLOTLY_CONFIG, "topojsonURL": "app/static/"}


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
    lowers = [lower for _, lower, _ in BANDS] + [1.0]
    return [(name, lowers[i], lowers[i + 1]) for i, (name, _, _) in enumerate(BANDS)]


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


def utc_column(label: str) -> Any:
    """A date-time column shown to the minute (values are UTC)."""
    return st.column_config.DatetimeColumn(label, format="YYYY-MM-DD HH:mm")


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


def count_axis(axis_type: str) -> dict[str, Any]:
    """A y axis for weekly counts: from zero on a linear scale; on a log scale, ticks only at
    1, 10, 100... (plotly's default log ticks label 2-9 too, and they run together)."""
    if axis_type == "log":
        return {"type": "log", "dtick": 1, "tickformat": ",d", "minor": {"showgrid": True}}
    return {"type": "linear", "rangemode": "tozero"}


# The region of the six theatres: the map's extent when there is nothing to fit.
REGION_LON, REGION_LAT = (25.0, 63.0), (10.0, 42.0)


def map_extent(
    lon: Any, lat: Any, pad: float = 0.15, min_span: float = 3.0
) -> tuple[list[float], list[float]]:
    """Longitude and latitude ranges that fit the points drawn, with a margin (the whole region
    when there are none), so one country's data fills the map."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    keep = np.isfinite(lon) & np.isfinite(lat)
    if not keep.any():
        return list(REGION_LON), list(REGION_LAT)

    def fit(values: Any, low: float, high: float) -> list[float]:
        lo, hi = float(values.min()), float(values.max())
        margin = max((hi - lo) * pad, (min_span - (hi - lo)) / 2, 0.5)
        return [max(low, lo - margin), min(high, hi + margin)]

    return fit(lon[keep], -180.0, 180.0), fit(lat[keep], -85.0, 85.0)


MISSING = "—"


def blank_missing(rows: Any) -> pd.DataFrame:
    """Rows for a table with missing values shown as a dash, not a grey "None", and times as
    UTC text (a column of times with gaps would otherwise show "None" too)."""
    frame = pd.DataFrame(rows)
    for name in frame.columns:
        column = frame[name]
        if (
            pd.api.types.is_datetime64_any_dtype(column)
            or column.map(lambda v: isinstance(v, dt.datetime)).any()
        ):
            frame[name] = [
                MISSING if v is None or pd.isna(v) else f"{pd.Timestamp(v):%Y-%m-%d %H:%M}"
                for v in column
            ]
        elif column.dtype == object:
            frame[name] = [MISSING if v is None or v == "" else v for v in column]
    return frame


def change_in_points(change: float | None) -> str | None:
    """A change of probability as signed percentage points; None when unknown, and "0.0 pts"
    without a sign when it rounds to nothing (a "+0.0" read as a rise)."""
    if change is None or pd.isna(change):
        return None
    points = round(float(change) * 100, 1)
    return "0.0 pts" if points == 0 else f"{points:+.1f} pts"
