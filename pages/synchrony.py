"""Synchrony: how the theatres move together, and the days linked actors struck in several."""

import plotly.graph_objects as go
import streamlit as st

from risk.region.actors import DEFAULT_GROUP
from ui import look, week, widgets

widgets.page_header("Synchrony")
widgets.require_incidents()
groups, problem = week.actor_groups()
if groups is None:
    st.error(f"The actor groups cannot be read: {problem}", icon=":material/error:")
    st.stop()
with st.container(horizontal=True):
    names = list(groups.groups)
    group = st.selectbox(
        "Actor group",
        names,
        index=names.index(DEFAULT_GROUP) if DEFAULT_GROUP in names else 0,
        key="sync_group",
    )
    min_theatres = st.number_input("Theatres on one day", 2, 10, 3, key="sync_min")
    within = st.number_input("Co-surge window (weeks)", 1, 12, 4, key="sync_within")
result = week.region_synchrony(group, int(min_theatres), int(within))

st.subheader("Theatres above their normal level, week by week")
st.caption(
    f"Above normal: violent incidents at least {result.ratio:g} times the mean of the four weeks "
    "before (the heat strip's yardstick); surging: the surge rule fired."
)
weekly = result.weekly
figure = go.Figure()
figure.add_trace(
    go.Bar(
        x=weekly["week"],
        y=weekly["above"],
        name="Above normal",
        marker_color=look.BAND_COLOURS["high"],
        hovertemplate="week of %{x|%Y-%m-%d}: %{y} above normal<extra></extra>",
    )
)
figure.add_trace(
    go.Scatter(
        x=weekly["week"],
        y=weekly["surging"].where(weekly["surging"] > 0),  # no dots along the axis
        mode="markers",
        name="Surging",
        marker={"color": look.BAND_COLOURS["severe"], "size": 6},
        hovertemplate="week of %{x|%Y-%m-%d}: %{y} surging<extra></extra>",
    )
)
figure.update_yaxes(title_text="theatres", rangemode="tozero")
figure.update_layout(height=300, margin={"t": 10, "b": 10, "l": 10, "r": 10}, bargap=0.1)
st.plotly_chart(figure, config=look.PLOTLY_CONFIG, key="sync_weekly")

st.subheader(f"Days with violence by {group} in {min_theatres} or more theatres")
days = result.days
if days.empty:
    st.info("No such day in the stored incidents.", icon=":material/info:")
else:
    st.caption(f"{len(days):,} days; the newest first.")
    st.dataframe(
        days.sort_values("date", ascending=False).assign(
            theatre_names=lambda f: f["theatre_names"].str.join(", "),
            actors=lambda f: f["actors"].str.join(", "),
        ),
        hide_index=True,
        height=300,
        column_config={
            "date": st.column_config.DateColumn("Date", format="YYYY-MM-DD"),
            "theatres": look.count_column("Theatres"),
            "theatre_names": st.column_config.TextColumn("Where", width="large"),
            "incidents": look.count_column("Incidents"),
            "fatalities": look.count_column("Deaths"),
            "actors": st.column_config.TextColumn("Actors", width="large"),
        },
    )

left, right = st.columns(2)
with left:
    st.subheader("Lead and lag")
    st.caption(
        "Correlation of one theatre's weekly anomaly (against its own 12 weeks before) with "
        "another's the same week or up to 4 weeks later; the strongest lag per pair."
    )
    st.dataframe(
        result.lead_lag.head(30),
        hide_index=True,
        column_config={
            "leader": "Theatre",
            "follower": "Followed by",
            "lag": look.count_column("Lag (weeks)"),
            "correlation": st.column_config.NumberColumn("Correlation", format="%.2f"),
            "weeks": look.count_column("Weeks"),
            "same_week": st.column_config.NumberColumn("Same week", format="%.2f"),
        },
    )
with right:
    st.subheader("Co-surges")
    st.caption(
        f"How often a surge in a theatre (row) is followed by one in another (column) within "
        f"{within} weeks, against that theatre's chance in any {within}-week window."
    )
    table = result.co_surges
    if table.empty:
        st.info("Too few surges to compare.", icon=":material/info:")
    else:
        grid = table.pivot(index="after", columns="then", values="probability")
        heat = go.Figure(
            go.Heatmap(
                x=list(grid.columns),
                y=list(grid.index),
                z=grid.to_numpy(dtype=float),
                zmin=0,
                zmax=1,
                colorscale="OrRd",
                hovertemplate="after a surge in %{y}: %{z:.0%} chance of one in %{x}"
                "<extra></extra>",
                colorbar={"tickformat": ".0%"},
            )
        )
        heat.update_yaxes(autorange="reversed")
        heat.update_layout(height=360, margin={"t": 10, "b": 10, "l": 10, "r": 10})
        st.plotly_chart(heat, config=look.PLOTLY_CONFIG, key="co_surge")
        st.dataframe(
            table.sort_values("lift", ascending=False).head(20),
            hide_index=True,
            column_config={
                "after": "After a surge in",
                "then": "Then in",
                "a_surges": look.count_column("Surges"),
                "followed": look.count_column("Followed"),
                "probability": st.column_config.NumberColumn("P", format="%.2f"),
                "base_rate": st.column_config.NumberColumn("Base rate", format="%.2f"),
                "lift": st.column_config.NumberColumn("Lift", format="%.1f"),
            },
        )
