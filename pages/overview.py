"""Overview: every theatre at a glance for the latest complete week, and the region heat strip."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from risk.forecast.scores import BANDS, TOP_BAND_MIN_LEVEL
from ui import look, reads, serving, week, widgets

widgets.page_header("Regional escalation risk")
widgets.require_incidents()
for warning in reads.freshness_warnings():
    st.warning(warning, icon=":material/schedule:")

horizon = serving.target().horizon
table = reads.overview()
latest = reads.latest_scores()
scored = not latest.empty

if scored:
    as_of = latest["as_of"].iloc[0]
    st.subheader(f"Week {look.week_label(as_of)}")
    bands = table["band"].value_counts()
    with st.container(horizontal=True):
        for name in reversed([b for b, _, _ in BANDS]):
            st.badge(
                f"{bands.get(name, 0)} {name}",
                color={"low": "green", "elevated": "yellow", "high": "orange", "severe": "red"}[
                    name
                ],
            )
    found = reads.metadata() or {}
    in_use = found.get("in_use") or (found.get("backtest") or {}).get("in_use")
    if found.get("baseline"):
        st.info(
            f"The forecaster in use is a baseline, {look.FORECASTER_LABELS.get(in_use, in_use)}: "
            "no model beat it in the backtest, so these probabilities are that baseline's. See "
            "the Model page.",
            icon=":material/info:",
        )
    unskilled = table[table["status"].isin(["no skill", "too few surges"])]["theatre"].tolist()
    if unskilled:
        st.caption(
            "Marked with ⚠ in the table: no skill shown in the backtest (the forecaster did no "
            "better than the theatre's own surge rate, or too few surges to tell): "
            + ", ".join(unskilled)
            + "."
        )
    current_week = reads.latest_complete_week()
    if current_week is not None and current_week > as_of:
        st.info(
            f"These scores are for the week {look.week_label(as_of)}, but the incidents now run "
            f"to {reads.summary().last_date}. They are brought up to date after the next upload or "
            "refresh, or with `python -m risk scores`.",
            icon=":material/update:",
        )
else:
    as_of = None
    reason = reads.model_parts()["error"] or "no scores have been stored yet"
    st.info(
        f"No surge probabilities yet: {reason}. The table shows the latest counts.",
        icon=":material/info:",
    )

if table.empty:
    st.info("No incidents in any theatre of the theatres file yet (all are in 'Other').")
    st.stop()

shown = table.assign(
    skill=[
        "⚠ " + status if status != "ok" else f"{s:+.2f}"
        for status, s in zip(table["status"], table["skill"], strict=True)
    ],
    probability=table["probability"] * 100,
    expected=table["expected"].round(),
    change=[look.change_in_points(c) or "" for c in table["change"]],
    range=[
        f"{lo:,.0f}–{hi:,.0f}" if lo == lo and hi == hi else "–"
        for lo, hi in zip(table["lower"], table["upper"], strict=True)
    ],
)[
    [
        "theatre",
        "band",
        "probability",
        "skill",
        "change",
        "expected",
        "range",
        "violent",
        "recent",
        "surges_52",
    ]
]
colours = look.theatre_colours()
styled = shown.style.map(
    lambda name: f"color: {colours.get(name, look.OTHER_COLOUR)}; font-weight: 600",
    subset=["theatre"],
).map(
    lambda band: (
        f"background-color: {look.BAND_COLOURS[band]}; color: {look.BAND_TEXT[band]}"
        if band in look.BAND_COLOURS
        else ""
    ),
    subset=["band"],
)
picked = st.dataframe(
    styled,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="overview_table",
    column_config={
        "theatre": st.column_config.TextColumn("Theatre", width="medium"),
        "band": st.column_config.TextColumn(
            "Band",
            help="Probability and size together: elevated 15%+ and at least 1 excess violent "
            "incident at stake (probability x the rise a surge takes at the theatre's level), "
            "high 30%+ and 3+, severe 50%+ and 8+; a theatre under "
            f"{TOP_BAND_MIN_LEVEL:g} violent incident a week (last 4 weeks) is never severe. "
            "Sorted by band.",
        ),
        "skill": st.column_config.TextColumn(
            "Skill",
            help="Brier skill of the forecaster against the theatre's own surge rate in the "
            "backtest (above 0 beats it); ⚠ marks no skill or too few surges to tell",
        ),
        "probability": st.column_config.ProgressColumn(
            f"P(surge), {horizon} wks",
            min_value=0.0,
            max_value=100.0,
            format="%.0f%%",
            help=f"Probability of at least one surge week in the next {horizon} weeks",
        ),
        "change": st.column_config.TextColumn(
            "Change", help="Since last week's score, in percentage points"
        ),
        "expected": st.column_config.NumberColumn(
            f"Expected violent, {horizon} wks",
            format="localized",
            help=f"Expected violent incidents over the next {horizon} weeks",
        ),
        "range": st.column_config.TextColumn("80% range"),
        "violent": look.count_column("Violent this week"),
        "recent": st.column_config.LineChartColumn(
            "Violent, last 26 weeks", y_min=0, width="medium"
        ),
        "surges_52": look.count_column("Surges, past year", help="Surge weeks in the past 52"),
    },
)
if picked.selection.rows:
    chosen = shown["theatre"].iloc[picked.selection.rows[0]]
    st.switch_page("pages/theatre.py", query_params={"theatre": chosen})

with st.container(horizontal=True, vertical_alignment="center", gap="small"):
    st.caption("Select a row, or open:", width="content")
    for name in shown["theatre"]:
        st.page_link("pages/theatre.py", label=name, query_params={"theatre": name})
    if scored:
        widgets.download_csv(
            "Scores (CSV)",
            reads.scores_csv(latest),
            f"scores-{as_of:%Y-%m-%d}.csv",
            key="scores_csv",
        )
        st.download_button(
            "Weekly brief (HTML)",
            data=week.brief_html(),
            file_name=f"brief-{as_of:%Y-%m-%d}.html",
            mime="text/html",
            key="brief_html",
            icon=":material/summarize:",
            on_click="ignore",
        )

st.subheader("Region heat strip")
st.caption(
    "Each cell: a theatre's violent incidents that week against the mean of its four weeks "
    "before (the surge rule's yardstick). Dots mark surge weeks; the bars on top count the "
    "theatres surging at once."
)
weeks = (
    st.segmented_control(
        "Weeks shown",
        [26, 52, 104, 156],
        default=52,
        format_func=lambda w: f"{w} weeks",
        key="heat_weeks",
    )
    or 52
)
heat = reads.region_heat(as_of, weeks)
order = [name for name in shown["theatre"]]
grid = heat.pivot(index="theatre", columns="week", values="ratio").reindex(order)
violent = heat.pivot(index="theatre", columns="week", values="violent").reindex(order)
with np.errstate(divide="ignore"):
    z = np.clip(np.log2(grid.to_numpy(dtype=float)), -2, 2)
z[np.isneginf(z)] = -2
ticks = [-2, -1, 0, 1, 2]
figure = make_subplots(
    rows=2, cols=1, shared_xaxes=True, row_heights=[0.22, 0.78], vertical_spacing=0.03
)
surging = heat.drop_duplicates("week")
figure.add_trace(
    go.Bar(
        x=surging["week"],
        y=surging["surging"],
        marker_color=look.BAND_COLOURS["severe"],
        name="Theatres surging",
        hovertemplate="week of %{x|%Y-%m-%d}: %{y} theatre(s) surging<extra></extra>",
        showlegend=False,
    ),
    row=1,
    col=1,
)
figure.add_trace(
    go.Heatmap(
        x=grid.columns,
        y=grid.index,
        z=z,
        zmin=-2,
        zmax=2,
        zmid=0,
        colorscale="RdBu_r",
        customdata=np.dstack([violent.to_numpy(dtype=float), grid.to_numpy(dtype=float)]),
        hovertemplate=(
            "%{y}, week of %{x|%Y-%m-%d}<br>%{customdata[0]:,.0f} violent incidents, "
            "%{customdata[1]:.1f}x the 4 weeks before<extra></extra>"
        ),
        colorbar={
            "title": {"text": "vs 4 weeks before"},
            "tickvals": ticks,
            "ticktext": ["¼×", "½×", "1×", "2×", "4×"],
            "len": 0.75,
            "y": 0.39,
        },
        xgap=1,
        ygap=2,
    ),
    row=2,
    col=1,
)
surges = heat[heat["surge"]]
figure.add_trace(
    go.Scatter(
        x=surges["week"],
        y=surges["theatre"],
        mode="markers",
        marker={"symbol": "circle", "size": 6, "color": "#111111"},
        name="Surge week",
        hovertemplate="%{y}: surge in the week of %{x|%Y-%m-%d}<extra></extra>",
        showlegend=False,
    ),
    row=2,
    col=1,
)
figure.update_yaxes(title_text="surging", row=1, col=1, rangemode="tozero", dtick=1)
# Every theatre labelled: plotly skips labels of a tall category axis unless told not to.
figure.update_yaxes(
    autorange="reversed", tickmode="array", tickvals=order, tickfont={"size": 11}, row=2, col=1
)
figure.update_xaxes(tickformat="%Y-%m-%d", row=2, col=1)
row_height = 34 if len(order) <= 10 else 18  # governorates as theatres: every label legible
figure.update_layout(
    height=140 + row_height * len(order), margin={"t": 10, "b": 10, "l": 10, "r": 10}
)
st.plotly_chart(figure, config=look.PLOTLY_CONFIG, key="heat_strip")
