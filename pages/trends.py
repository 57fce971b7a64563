"""Trends: weekly incidents per theatre by category, fatalities, rolling means, surge weeks."""

import math

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from risk.export import safe_csv
from ui import look, reads, serving, widgets

widgets.page_header("Trends")
widgets.require_incidents()

available = reads.theatres_with_data()
named = [name for name in available if name != "Other"] or available
if len(named) > 8:  # e.g. governorates as theatres: start with the busiest six
    busiest = reads.theatre_stats().sort_values("incidents", ascending=False)["theatre"]
    named = [name for name in busiest if name in named][:6]

# Full-width rows: long theatre and category names keep their chips readable.
chosen = st.multiselect("Theatres", available, default=named, key="trend_theatres")
categories = widgets.categories_input("trend_categories")
with st.container(horizontal=True, vertical_alignment="bottom"):
    period = widgets.period_input("trend_dates", weeks=156)
    window = st.select_slider(
        "Rolling mean",
        options=[1, 2, 4, 8, 13, 26],
        value=4,
        key="trend_window",
        format_func=lambda w: f"{w} week{'s' if w != 1 else ''}",
    )
    scale = st.segmented_control(
        "Scale", ["linear", "log"], default="linear", key="trend_scale", required=True
    )

if not chosen or not categories:
    st.info("Choose at least one theatre and one category.")
    st.stop()
start, end = widgets.complete_period(period)
series = reads.weekly_series(chosen, categories, start, end, window)
surges = reads.surge_weeks(chosen, start, end)
colours = look.theatre_colours()
axis_type = "log" if scale == "log" else "linear"
label = (
    "all categories"
    if len(categories) == len(reads.categories())
    else ", ".join(look.category_label(c) for c in categories)
)


def lines(value: str, unit: str, with_surges: bool) -> go.Figure:
    figure = go.Figure()
    for name in chosen:
        part = series[series["theatre"] == name]
        colour = colours.get(name, look.OTHER_COLOUR)
        figure.add_trace(
            go.Scatter(
                x=part["week"],
                y=part[value],
                mode="lines",
                line={"color": colour, "width": 1},
                opacity=0.35,
                name=name,
                legendgroup=name,
                showlegend=False,
                hovertemplate=f"{name}, week of %{{x|%Y-%m-%d}}: %{{y:,}} {unit}<extra></extra>",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=part["week"],
                y=part[f"{value}_mean"],
                mode="lines",
                line={"color": colour, "width": 2.5},
                name=name,
                legendgroup=name,
                hovertemplate=(
                    f"{name}, {window}-week mean to %{{x|%Y-%m-%d}}: %{{y:,.1f}} {unit}"
                    "<extra></extra>"
                ),
            )
        )
        if with_surges:
            marks = surges[surges["theatre"] == name].merge(
                part[["week", value]], on="week", how="left"
            )
            figure.add_trace(
                go.Scatter(
                    x=marks["week"],
                    y=marks[value],
                    mode="markers",
                    marker={
                        "symbol": "triangle-up",
                        "size": 11,
                        "color": colour,
                        "line": {"color": "#000000", "width": 1},
                    },
                    name=f"{name}: surge week",
                    legendgroup=name,
                    showlegend=False,
                    customdata=marks["violent"],
                    hovertemplate=(
                        f"{name}: surge week of %{{x|%Y-%m-%d}} (%{{customdata:,}} violent "
                        "incidents)<extra></extra>"
                    ),
                )
            )
    figure.update_xaxes(tickformat="%Y-%m-%d")
    figure.update_yaxes(look.count_axis(axis_type), title_text=f"{unit} a week")
    figure.update_layout(
        height=360,
        margin={"t": 10, "b": 10, "l": 10, "r": 10},
        legend={"orientation": "h", "y": -0.15},
        hovermode="closest",
    )
    return figure


st.subheader(f"Weekly incidents ({label})")
st.caption(
    f"Thin lines: each week; thick lines: {window}-week mean. Triangles: surge weeks (violent "
    f"incidents at least {serving.target().ratio:g}x the four weeks before, all categories)."
)
st.plotly_chart(lines("incidents", "incidents", True), config=look.PLOTLY_CONFIG, key="trend_lines")

st.subheader("By category")
FACETS = 12
faceted = chosen[:FACETS]
if len(chosen) > FACETS:
    st.caption(f"The first {FACETS} of the {len(chosen)} chosen theatres.")
by_category = reads.weekly_by_category(faceted, categories, start, end)
columns = min(3, len(faceted))
rows = math.ceil(len(faceted) / columns)
facets = make_subplots(
    rows=rows,
    cols=columns,
    subplot_titles=faceted,
    shared_xaxes=True,
    vertical_spacing=0.12 if rows > 1 else 0.05,
    horizontal_spacing=0.05,
)
for index, name in enumerate(faceted):
    part = by_category[by_category["theatre"] == name]
    for category in categories:
        cells = part[part["category"] == category]
        colour = look.CATEGORY_COLOURS.get(category, look.OTHER_COLOUR)
        # Stacked bars on a log axis inflate the bottom category: on log, one line each.
        trace = go.Scatter if axis_type == "log" else go.Bar
        style = (
            {"mode": "lines", "line": {"color": colour, "width": 1.5}}
            if axis_type == "log"
            else {"marker_color": colour}
        )
        facets.add_trace(
            trace(
                x=cells["week"],
                y=cells["incidents"],
                name=look.category_label(category),
                **style,
                legendgroup=category,
                showlegend=index == 0,
                hovertemplate=(
                    f"{name}, week of %{{x|%Y-%m-%d}}: %{{y:,}} "
                    f"{look.category_label(category).lower()}<extra></extra>"
                ),
            ),
            row=index // columns + 1,
            col=index % columns + 1,
        )
facets.update_layout(
    barmode="stack",
    bargap=0,
    height=60 + 230 * rows,
    margin={"t": 30, "b": 10, "l": 10, "r": 10},
    legend={"orientation": "h", "y": -0.08},
)
facets.update_xaxes(tickformat="%Y-%m-%d", nticks=4)
facets.update_yaxes(look.count_axis(axis_type))
st.plotly_chart(facets, config=look.PLOTLY_CONFIG, key="trend_categories_chart")

st.subheader("Weekly fatalities")
st.plotly_chart(lines("fatalities", "deaths", False), config=look.PLOTLY_CONFIG, key="trend_deaths")

widgets.download_csv(
    "Weekly counts (CSV)",
    safe_csv(series),
    f"weekly-{start:%Y-%m-%d}-to-{end:%Y-%m-%d}.csv",
    key="trend_csv",
)
