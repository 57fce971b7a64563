"""Overview: every theatre at a glance."""

import streamlit as st

import ui

st.title("Regional escalation risk")
ui.banners()
version = ui.version()
summary = ui.cached_summary(version)
if summary.total_incidents == 0:
    st.info(
        "The store is empty. Load incidents on the Upload page or with "
        "`python -m risk ingest FILE` (ACLED, UCDP or native CSV)."
    )
    st.stop()
st.caption(
    f"{summary.total_incidents:,} incidents from {summary.first_date} to {summary.last_date}"
)
stats = ui.cached_theatre_stats(version, str(ui.settings().theatres_path))
st.dataframe(stats, hide_index=True)
