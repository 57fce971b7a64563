"""Theatre detail: forecasts against what happened, drivers, actors and recent incidents."""

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from ui import look, reads, serving, widgets

widgets.page_header("Theatre detail")
summary = widgets.require_incidents()

available = reads.theatres_with_data()
theatre = st.selectbox(
    "Theatre",
    available,
    key="theatre",
    bind="query-params",
    help="The link of this page opens this theatre.",
    width=360,
)
colour = look.theatre_colour(theatre)
horizon = serving.target().horizon
latest = reads.latest_scores()
score = latest[latest["theatre"] == theatre]

# -- the current score ------------------------------------------------------------------------
status = reads.overview().set_index("theatre")
mark = status["status"].get(theatre, "ok") if not status.empty else "ok"
if score.empty:
    reason = (
        look.STATUS_TEXT[mark]
        if mark in ("no recent data", "too little history")
        else reads.model_parts()["error"] or f"no stored score for {theatre}"
    )
    st.info(f"No surge probability for this theatre: {reason}.", icon=":material/info:")
else:
    row = score.iloc[0]
    st.subheader(f"Week {look.week_label(row['as_of'])}")
    if mark != "ok":
        st.info(f"Read this score with care: {look.STATUS_TEXT[mark]}.", icon=":material/warning:")
    with st.container(horizontal=True):
        st.metric(
            f"Surge probability, next {horizon} weeks",
            f"{row['probability']:.0%}",
            delta=look.change_in_points(row["change"]),
            # A rise in risk is the bad direction; no change gets no arrow at all.
            delta_color="inverse",
            delta_arrow="off" if look.change_in_points(row["change"]) == "0.0 pts" else "auto",
            border=True,
        )
        st.metric("Risk band", row["band"], border=True)
        st.metric(
            f"Expected violent incidents, next {horizon} weeks",
            f"{row['expected']:,.0f}",
            delta=f"80% range {row['lower']:,.0f}–{row['upper']:,.0f}",
            delta_color="off",
            delta_arrow="off",
            border=True,
        )
    st.markdown("**Why: the drivers of this score**")
    if row["drivers"]:
        for driver in row["drivers"]:
            st.text(f"• {driver['text']}")
    else:
        st.text("No feature moves this forecast far from the theatre's own past year.")
    st.markdown("**What changed since last week's score**")
    if pd.isna(row["change"]):
        st.text("No score for the week before to compare with.")
    else:
        moved = reads.changed_since_last_week(theatre, row["as_of"])
        st.text(
            f"The probability moved {row['change'] * 100:+.1f} points"
            + (": " if moved else "; no single feature explains much of it.")
        )
        for sentence in moved:
            st.text(f"• {sentence}")

# -- forecasts against what happened ----------------------------------------------------------
st.subheader("Forecasts against what happened")
parts = reads.model_parts()
history = parts["history"]
stored = reads.stored_scores(theatre)
weekly = reads.panel()
weekly = weekly[weekly["theatre"] == theatre]
figure = make_subplots(
    rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4], vertical_spacing=0.06
)
for band, lower, upper in look.band_ranges():
    figure.add_hrect(
        y0=lower,
        y1=upper,
        fillcolor=look.BAND_COLOURS[band],
        opacity=0.12,
        line_width=0,
        row=1,
        col=1,
    )
backtest = None if history is None else history[history["theatre"] == theatre]
if backtest is not None and not backtest.empty:
    followed = backtest[backtest["label"] == 1]
    figure.add_trace(
        go.Bar(
            x=followed["week"],
            y=[1.0] * len(followed),  # clipped at the axis top: a full-height column
            marker_color=look.BAND_COLOURS["severe"],
            opacity=0.18,
            name=f"a surge followed within {horizon} weeks",
            hovertemplate=(
                f"week of %{{x|%Y-%m-%d}}: a surge followed within {horizon} weeks<extra></extra>"
            ),
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=backtest["week"],
            y=backtest["climatology"],
            mode="lines",
            line={"color": "#7f7f7f", "dash": "dot", "width": 1.5},
            name="climatology (baseline)",
            hovertemplate="climatology, week of %{x|%Y-%m-%d}: %{y:.0%}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=backtest["week"],
            y=backtest["model"],
            mode="lines",
            line={"color": colour, "width": 2},
            name="forecaster, out of sample (backtest)",
            hovertemplate="backtest forecast, week of %{x|%Y-%m-%d}: %{y:.0%}<extra></extra>",
        ),
        row=1,
        col=1,
    )
if not stored.empty:
    figure.add_trace(
        go.Scatter(
            x=stored["as_of"],
            y=stored["probability"],
            mode="markers",
            marker={
                "symbol": "diamond",
                "size": 10,
                "color": colour,
                "line": {"color": "#000000", "width": 1},
            },
            name="live score (stored)",
            customdata=stored["model_version"],
            hovertemplate=(
                "score for the week of %{x|%Y-%m-%d}: %{y:.0%}<br>model %{customdata}"
                "<extra></extra>"
            ),
        ),
        row=1,
        col=1,
    )
figure.add_trace(
    go.Bar(
        x=weekly["week"],
        y=weekly["violent"],
        width=6 * 86_400_000,  # a week's bar is six days wide, however few weeks there are
        marker_color=[look.BAND_COLOURS["severe"] if s else colour for s in weekly["surge"]],
        name="violent incidents (red: surge week)",
        hovertemplate="week of %{x|%Y-%m-%d}: %{y:,} violent incidents<extra></extra>",
    ),
    row=2,
    col=1,
)
highest = max(
    [0.0]
    + ([float(backtest["model"].max())] if backtest is not None and not backtest.empty else [])
    + ([float(stored["probability"].max())] if not stored.empty else [])
)
top = min(1.0, max(0.55, highest * 1.2))
figure.update_yaxes(range=[0, top], tickformat=".0%", title_text="P(surge)", row=1, col=1)
figure.update_yaxes(title_text="violent / week", rangemode="tozero", row=2, col=1)
figure.update_xaxes(tickformat="%Y-%m-%d", row=2, col=1)
if not weekly.empty and weekly["week"].nunique() < 8:
    # A theatre with a few weeks of data: show them among the weeks around, not one bar
    # stretched over the whole chart with the same date repeated on the axis.
    last = weekly["week"].max()
    figure.update_xaxes(
        range=[last - pd.Timedelta(weeks=8), last + pd.Timedelta(days=7)], dtick=7 * 86_400_000
    )
figure.update_layout(
    height=460,
    bargap=0,
    margin={"t": 10, "b": 10, "l": 10, "r": 10},
    legend={"orientation": "h", "y": -0.12},
)
st.plotly_chart(figure, config=look.PLOTLY_CONFIG, key="theatre_history")
st.caption(
    "Line: the model's forecast for each week, made by a model trained only on earlier weeks "
    "(rolling-origin backtest). Diamonds: scores as stored when they were made. Shaded "
    f"columns: weeks that a surge followed within {horizon} weeks. Bars below: violent "
    "incidents per week, surge weeks in red."
)
stretches = reads.source_stretches()
stretches = stretches[stretches["theatre"] == theatre]
if not stretches.empty:
    st.caption(
        "Counted from: "
        + "; ".join(
            f"{r.source or 'no data (gap)'} {r.first_week:%Y-%m-%d} to {r.last_week:%Y-%m-%d}"
            for r in stretches.itertuples()
        )
    )
overlap = reads.source_overlap(theatre)
if not overlap.empty:
    with st.expander(f"Weeks where two sources report incidents ({len(overlap)})"):
        st.dataframe(
            overlap.drop(columns="theatre"),
            hide_index=True,
            column_config={"week": st.column_config.DateColumn("Week", format="YYYY-MM-DD")},
        )
if not stored.empty:
    widgets.download_csv(
        "Score history (CSV)",
        reads.scores_csv(stored.drop(columns=["id"], errors="ignore")),
        f"scores-{theatre}.csv",
        key="history_csv",
    )

# -- actors -----------------------------------------------------------------------------------
st.subheader("Actors involved")
spans = {"4 weeks": 4, "12 weeks": 12, "52 weeks": 52, "all time": None}
span = st.segmented_control(
    "Period", list(spans), default="12 weeks", key="actor_span", required=True
)
weeks = spans[span]
actors_start = None if weeks is None else summary.last_date - dt.timedelta(weeks=weeks)
actors = reads.actor_activity(theatre, actors_start, summary.last_date)
st.dataframe(
    actors,
    hide_index=True,
    column_config={
        "actor": st.column_config.TextColumn("Actor", width="large"),
        "incidents": look.count_column("Incidents"),
        "violent": look.count_column("Violent"),
        "fatalities": look.count_column("Deaths"),
        "first_date": st.column_config.DateColumn("First", format="YYYY-MM-DD"),
        "last_date": st.column_config.DateColumn("Last", format="YYYY-MM-DD"),
    },
    height=300,
)

# -- recent incidents -------------------------------------------------------------------------
st.subheader("Incidents")
with st.container(horizontal=True, vertical_alignment="bottom"):
    search = st.text_input(
        "Search notes, actors, places and sources",
        key="incident_search",
        placeholder="e.g. drone, Ain al-Asad, Reuters",
    )
    period = widgets.period_input("incident_dates", weeks=4)
    categories = widgets.categories_input("incident_categories")
period = widgets.complete_period(period)
filters = {
    "theatre_names": [theatre],
    "start": period[0],
    "end": period[1],
    "categories": categories,
    "search": search,
}
found = reads.find_incidents(**filters)
shown = found.rows.drop(columns=["theatre", "latitude", "longitude"]).assign(
    category=lambda f: f["category"].map(look.category_label)
)
st.caption(
    f"{found.total:,} incidents match"
    + (f"; the newest {len(shown):,} are shown" if found.total > len(shown) else "")
    + ". The download holds every match."
)
st.dataframe(
    shown,
    hide_index=True,
    height=420,
    column_config={
        "event_date": st.column_config.DateColumn("Date", format="YYYY-MM-DD"),
        "country": "Country",
        "admin1": "Region",
        "location": "Location",
        "category": "Category",
        "source_event_type": "Event type",
        "actor1": "Actor 1",
        "actor2": "Actor 2",
        "fatalities": look.count_column("Deaths"),
        "notes": st.column_config.TextColumn("Notes", width="large"),
        "source_text": "Sources",
        "source": "Loaded from",
        "source_id": "Id",
    },
)
widgets.download_csv(
    f"These {found.total:,} incidents (CSV)",
    reads.incidents_csv(**filters),
    f"incidents-{theatre}-{period[0]:%Y-%m-%d}-to-{period[1]:%Y-%m-%d}.csv",
    key="incidents_csv",
)
