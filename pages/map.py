"""Map: incidents as points, sized by deaths and coloured by category. Draws with no internet."""

import html

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from risk.report.brief import MAP_STYLE
from ui import look, reads, widgets

widgets.page_header("Map")
widgets.require_incidents()

available = reads.theatres_with_data()
# Full-width rows: long theatre and category names keep their chips readable.
period = widgets.period_input("map_dates", weeks=4)
chosen = st.multiselect("Theatres", available, default=available, key="map_theatres")
categories = widgets.categories_input("map_categories")
if not chosen or not categories:
    st.info("Choose at least one theatre and one category.")
    st.stop()
start, end = widgets.complete_period(period)
found = reads.map_points(chosen, start, end, categories)
points = found.points

notes = []
if found.total_points > len(points):
    notes.append(
        f"the {len(points):,} busiest of {found.total_points:,} places are drawn; "
        "narrow the dates or filters to see the rest"
    )
if found.without_coordinates:
    notes.append(f"{found.without_coordinates:,} incidents have no coordinates and are not drawn")

figure = go.Figure()
largest = max(int(points["fatalities"].max()) if not points.empty else 0, 1)
for category in categories:
    part = points[points["category"] == category]
    if part.empty:
        continue
    # Marker area grows with deaths; places with none are drawn small, not hidden.
    size = 5 + 30 * np.sqrt(part["fatalities"].to_numpy() / largest)
    # Plotly reads a few HTML tags in hover text: data from files is escaped first.
    where = [html.escape(str(v or "")) for v in part["location"]]
    figure.add_trace(
        go.Scattergeo(
            lon=part["longitude"],
            lat=part["latitude"],
            mode="markers",
            name=look.category_label(category),
            marker={
                "size": size,
                "color": look.CATEGORY_COLOURS.get(category, look.OTHER_COLOUR),
                "opacity": 0.7,
                "line": {"width": 0.5, "color": "#ffffff"},
            },
            customdata=np.column_stack(
                [
                    where,
                    part["incidents"],
                    part["fatalities"],
                    [f"{d:%Y-%m-%d}" for d in part["first_date"]],
                    [f"{d:%Y-%m-%d}" for d in part["last_date"]],
                    [html.escape(str(t)) for t in part["theatre"]],
                ]
            ),
            hovertemplate=(
                "%{customdata[0]} (%{customdata[5]})<br>"
                f"{look.category_label(category)}: %{{customdata[1]}} incidents, "
                "%{customdata[2]} deaths<br>%{customdata[3]} to %{customdata[4]}<extra></extra>"
            ),
        )
    )
lon_range, lat_range = look.map_extent(points["longitude"], points["latitude"])
figure.update_geos(resolution=50, lonaxis_range=lon_range, lataxis_range=lat_range, **MAP_STYLE)
figure.update_layout(
    height=600,
    margin={"t": 0, "b": 0, "l": 0, "r": 0},
    legend={"orientation": "h", "y": -0.02, "title": {"text": "Category"}},
)
drawn, side = st.columns([3, 2])
with drawn:
    st.plotly_chart(figure, config=look.MAP_CONFIG, key="incident_map")
with side:
    with st.container(horizontal=True):
        st.metric("Incidents", f"{found.incidents:,}")
        st.metric("Deaths", f"{found.fatalities:,}")
        st.metric("Map points", f"{found.total_points:,}")
    st.caption(
        "Each point: the incidents of one category at one place (to about 1 km), sized by "
        "deaths. Borders: Natural Earth 1:50m, de facto lines, no statement on disputed "
        "territory."
    )
    if notes:
        st.caption("Note: " + "; ".join(notes) + ".")
    st.markdown("**Deadliest places**")
    st.dataframe(
        reads.top_places(points),
        hide_index=True,
        column_config={
            "location": "Place",
            "theatre": "Theatre",
            "incidents": look.count_column("Incidents"),
            "fatalities": look.count_column("Deaths"),
        },
    )
    widgets.download_csv(
        f"These {found.incidents + found.without_coordinates:,} incidents (CSV)",
        reads.incidents_csv(theatre_names=chosen, start=start, end=end, categories=categories),
        f"incidents-{start:%Y-%m-%d}-to-{end:%Y-%m-%d}.csv",
        key="map_csv",
    )
