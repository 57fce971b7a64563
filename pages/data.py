"""Data: what the store holds, per theatre and per load, and where the loads came from."""

import streamlit as st

import ui

ui.page_header("Data")
summary = ui.summary()

st.subheader("Incidents per theatre")
stats = ui.theatre_stats()
colours = ui.theatre_colours()
st.dataframe(
    stats.style.map(
        lambda name: f"color: {colours.get(name, ui.OTHER_COLOUR)}; font-weight: 600",
        subset=["theatre"],
    ),
    hide_index=True,
    column_config={
        "theatre": "Theatre",
        "incidents": ui.count_column("Incidents"),
        "violent": ui.count_column("Violent"),
        "fatalities": ui.count_column("Deaths"),
        "first_date": st.column_config.DateColumn("First", format="YYYY-MM-DD"),
        "last_date": st.column_config.DateColumn("Last", format="YYYY-MM-DD"),
    },
)
st.caption(
    f"{summary.total_incidents:,} incidents in all, in {ui.plural(summary.batches, 'load')}. "
    f"Theatres come from {ui.settings().theatres_path.name}; 'Other' holds incidents that "
    "match none."
)

st.subheader("Sources")
sources, reason = ui.source_status()
if sources is None:
    st.info(reason, icon=":material/schedule:")
else:
    st.dataframe(
        sources,
        hide_index=True,
        column_config={
            "name": "Source",
            "kind": "Kind",
            "enabled": st.column_config.CheckboxColumn("Enabled"),
            "last_success": st.column_config.DatetimeColumn(
                "Last success (UTC)", format="YYYY-MM-DD HH:mm"
            ),
            "last_attempt": st.column_config.DatetimeColumn(
                "Last attempt (UTC)", format="YYYY-MM-DD HH:mm"
            ),
            "last_status": "Status",
            "last_error": st.column_config.TextColumn("Last error", width="large"),
            "stale": st.column_config.CheckboxColumn("Stale"),
        },
        column_order=[
            "name",
            "kind",
            "enabled",
            "last_success",
            "last_attempt",
            "last_status",
            "stale",
            "added",
            "updated",
            "withdrawn",
            "last_error",
        ],
    )

st.subheader("Loads by origin")
origins = ui.loads_by_origin()
if origins.empty:
    st.info("Nothing has been loaded yet. Load a file on the Upload page.")
else:
    st.dataframe(
        origins,
        hide_index=True,
        column_config={
            "origin": "Origin",
            "loads": ui.count_column("Loads"),
            "last_load": st.column_config.DatetimeColumn(
                "Last successful load (UTC)", format="YYYY-MM-DD HH:mm"
            ),
            "added": ui.count_column("Added"),
            "updated": ui.count_column("Updated"),
            "rejected": ui.count_column("Rejected"),
        },
    )

st.subheader("Loads")
loads = ui.batches()
if not loads.empty:
    st.dataframe(
        loads[
            [
                "id",
                "status",
                "file_name",
                "origin",
                "format",
                "finished_at",
                "rows_read",
                "added",
                "updated",
                "duplicates",
                "rejected",
                "withdrawn",
                "sha256",
            ]
        ],
        hide_index=True,
        height=min(400, 38 + 35 * len(loads)),
        column_config={
            "id": ui.count_column("Batch"),
            "status": "Status",
            "file_name": "File",
            "origin": "Origin",
            "format": "Format",
            "finished_at": st.column_config.DatetimeColumn(
                "Loaded (UTC)", format="YYYY-MM-DD HH:mm"
            ),
            "rows_read": ui.count_column("Rows"),
            "added": ui.count_column("New"),
            "updated": ui.count_column("Updated"),
            "duplicates": ui.count_column("Already stored"),
            "rejected": ui.count_column("Rejected"),
            "withdrawn": ui.count_column("Withdrawn"),
            "sha256": "SHA-256",
        },
    )
    st.page_link("pages/upload.py", label="Load a file or undo a load", icon=":material/upload:")
st.caption(f"Store: {ui.store().dialect}.")
