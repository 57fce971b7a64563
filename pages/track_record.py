"""Track record: the stored scores (live forecasts) against what happened since."""

import plotly.graph_objects as go
import streamlit as st

from ui import look, serving, week, widgets

widgets.page_header("Track record")
widgets.require_incidents()
record = week.live_track_record()
horizon = serving.target().horizon
st.caption(
    f"Every stored score is a forecast of a surge within {horizon} weeks; it resolves once those "
    "weeks are in the data. Only forecasts made by a model trained before their week count "
    "(out of sample); past weeks replayed with a newer model are shown apart."
)
if record.forecasts == 0:
    st.info(
        "No scores are stored yet. Scores are stored by every refresh and upload; replay past "
        "weeks with `python -m risk scores --from DATE --to DATE`.",
        icon=":material/info:",
    )
    st.stop()

with st.container(horizontal=True):
    st.metric("Stored scores", f"{record.forecasts:,}")
    st.metric("Resolved, out of sample", f"{record.resolved:,}")
    st.metric("Brier", "–" if record.brier is None else f"{record.brier:.3f}")
    st.metric(
        "Climatology Brier",
        "–" if record.climatology_brier is None else f"{record.climatology_brier:.3f}",
    )
    st.metric("Skill", "–" if record.skill is None else f"{record.skill:+.3f}")
    st.metric("80% interval coverage", "–" if record.coverage is None else f"{record.coverage:.0%}")

if record.resolved == 0:
    st.info(
        f"No out-of-sample forecast has resolved yet ({record.forecasts:,} stored, "
        f"{record.in_sample_resolved:,} resolved but replayed by a model trained on them). "
        f"A forecast resolves {horizon} weeks after its week.",
        icon=":material/hourglass:",
    )

st.subheader("Reliability")
figure = go.Figure()
figure.add_trace(
    go.Scatter(
        x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#9e9e9e"}, name="Perfect"
    )
)
for name, points, colour in (
    ("Live forecasts", record.reliability, "#d62728"),
    ("Backtest", record.backtest_reliability, "#1f77b4"),
):
    if points:
        figure.add_trace(
            go.Scatter(
                x=[p["forecast"] for p in points],
                y=[p["observed"] for p in points],
                mode="lines+markers",
                marker={"size": [6 + min(p["n"], 400) ** 0.5 for p in points], "color": colour},
                name=name,
                customdata=[p["n"] for p in points],
                hovertemplate="forecast %{x:.0%}, observed %{y:.0%} (%{customdata} forecasts)"
                "<extra></extra>",
            )
        )
figure.update_xaxes(title_text="forecast probability", range=[0, 1], tickformat=".0%")
figure.update_yaxes(title_text="share that surged", range=[0, 1], tickformat=".0%")
figure.update_layout(height=380, margin={"t": 10, "b": 10, "l": 10, "r": 10})
st.plotly_chart(figure, config=look.PLOTLY_CONFIG, key="reliability")

st.subheader("Per theatre")
if record.theatres.empty:
    st.info("No resolved out-of-sample forecast per theatre yet.", icon=":material/info:")
else:
    st.dataframe(
        record.theatres,
        hide_index=True,
        column_config={
            "theatre": "Theatre",
            "resolved": look.count_column("Resolved"),
            "surges": look.count_column("Followed by a surge"),
            "warnings": look.count_column("Warnings", help="Forecasts in the high band or above"),
            "hits": look.count_column("Hits"),
            "misses": look.count_column("Misses"),
            "false_alarms": look.count_column("False alarms"),
            "brier": st.column_config.NumberColumn("Brier", format="%.3f"),
            "climatology_brier": st.column_config.NumberColumn("Climatology", format="%.3f"),
            "skill": st.column_config.NumberColumn("Skill", format="%+.3f"),
        },
    )
if record.in_sample_resolved:
    hindsight = record.in_sample
    st.caption(
        f"In sample, not part of the record: {record.in_sample_resolved:,} replayed forecasts, "
        f"Brier {hindsight['brier']:.3f} against climatology {hindsight['climatology_brier']:.3f}."
    )
