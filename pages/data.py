"""Data: what the store holds, per theatre and per load, and where the loads came from."""

import streamlit as st

from ui import actions, look, reads, serving, widgets

widgets.page_header("Data")
summary = reads.summary()

st.subheader("Incidents per theatre")
stats = reads.theatre_stats()
colours = look.theatre_colours()
st.dataframe(
    stats.style.map(
        lambda name: f"color: {colours.get(name, look.OTHER_COLOUR)}; font-weight: 600",
        subset=["theatre"],
    ),
    hide_index=True,
    column_config={
        "theatre": "Theatre",
        "incidents": look.count_column("Incidents"),
        "violent": look.count_column("Violent"),
        "fatalities": look.count_column("Deaths"),
        "first_date": st.column_config.DateColumn("First", format="YYYY-MM-DD"),
        "last_date": st.column_config.DateColumn("Last", format="YYYY-MM-DD"),
    },
)
st.caption(
    f"{summary.total_incidents:,} incidents in all, in {look.plural(summary.batches, 'load')}. "
    f"Theatres come from {serving.settings().theatres_path.name}; 'Other' holds incidents that "
    "match none."
)

st.subheader("Where the weekly counts come from")
stretches = reads.source_stretches()
if stretches.empty:
    st.info("No weekly counts yet: load incident data first.", icon=":material/info:")
else:
    st.dataframe(
        stretches.assign(source=stretches["source"].fillna("no data (not covered)")),
        hide_index=True,
        column_config={
            "theatre": "Theatre",
            "source": "Counted from",
            "first_week": st.column_config.DateColumn("From week", format="YYYY-MM-DD"),
            "last_week": st.column_config.DateColumn("To week", format="YYYY-MM-DD"),
            "weeks": look.count_column("Weeks"),
        },
    )
    st.caption(
        "Each week is counted from one source: the first in the theatres file's priority that "
        "covers it (default ACLED, then UCDP, then your own log). Weeks no load covers are "
        "gaps, not zeros. Events dated only to a month or longer are left out of weekly counts."
    )
overlap = reads.source_overlap()
if not overlap.empty:
    st.markdown("**Weeks where two sources report incidents** (violent incidents of each)")
    st.dataframe(
        overlap,
        hide_index=True,
        column_config={"week": st.column_config.DateColumn("Week", format="YYYY-MM-DD")},
    )
unmatched = reads.unmatched_places()
if not unmatched.empty:
    st.markdown(
        f"**Places that match no theatre** ({int(unmatched['incidents'].sum()):,} incidents "
        "in 'Other')"
    )
    st.dataframe(
        unmatched,
        hide_index=True,
        column_config={
            "country": "Country",
            "admin1": "Admin1",
            "incidents": look.count_column("Incidents"),
            "canonical": "Known as",
        },
    )
    st.caption(
        'Add a region ("Country/admin1") or a country to the theatres file to count these; '
        "'Known as' is the alias table's name for the admin1 (data/admin1_aliases.csv)."
    )

st.subheader("Sources")
sources, reason = reads.source_status()
if sources is None:
    st.info(reason, icon=":material/schedule:")
else:
    st.dataframe(
        look.blank_missing(sources),
        hide_index=True,
        column_config={
            "name": "Source",
            "kind": "Kind",
            "enabled": st.column_config.CheckboxColumn("Enabled"),
            "last_success": "Last success (UTC)",
            "last_attempt": "Last attempt (UTC)",
            "state": "State",
            "last_error": st.column_config.TextColumn("Last error", width="large"),
            "added": look.count_column("Added (last)"),
            "updated": look.count_column("Updated (last)"),
            "withdrawn": look.count_column("Withdrawn (last)"),
        },
        column_order=[
            "name",
            "kind",
            "enabled",
            "last_success",
            "last_attempt",
            "state",
            "added",
            "updated",
            "withdrawn",
            "last_error",
        ],
    )

if sources is not None:
    st.markdown("**Refresh now** pulls every enabled source, loads what is new and rescores.")
    # The outcome of a click, shown after the rerun that redraws the tables above with it.
    outcome = st.session_state.pop("risk_refresh_outcome", None)
    if outcome is not None:
        text, failed = outcome
        if failed:
            st.warning(text, icon=":material/sync_problem:")
        else:
            st.success(text, icon=":material/sync:")
    if actions.change_allowed("refresh the sources now") and st.button(
        "Refresh now", icon=":material/sync:"
    ):
        from risk.refresh.runs import RefreshBusy
        from risk.refresh.sources import ConfigError

        with st.status("Refreshing the sources...", expanded=True) as progress:
            try:
                record = actions.refresh_now(progress=progress.write)
            except RefreshBusy as busy:
                progress.update(label="Another refresh is running", state="error")
                st.warning(str(busy))
            except ConfigError as error:
                progress.update(label="The sources file cannot be used", state="error")
                st.error(str(error))
            else:
                failed = record.status != "ok"
                text = (
                    f"Refresh {'finished with failures' if failed else 'done'}: "
                    f"{record.added:,} added, {record.updated:,} updated, "
                    f"{record.withdrawn:,} withdrawn."
                )
                if record.failed:
                    text += f" Failed: {', '.join(s.name for s in record.failed)}."
                if failed:
                    text += " See the run below."
                st.session_state["risk_refresh_outcome"] = (text, failed)
                st.rerun()

runs = reads.recent_runs()
if not runs.empty:
    st.markdown("**Recent refresh runs**")
    st.dataframe(
        runs[
            [
                "id",
                "trigger",
                "started_at",
                "finished_at",
                "status",
                "added",
                "updated",
                "withdrawn",
                "sources",
                "model",
                "error",
            ]
        ],
        hide_index=True,
        column_config={
            "id": look.count_column("Run"),
            "trigger": "Trigger",
            "started_at": look.utc_column("Started (UTC)"),
            "finished_at": look.utc_column("Finished (UTC)"),
            "status": "Status",
            "added": look.count_column("Added"),
            "updated": look.count_column("Updated"),
            "withdrawn": look.count_column("Withdrawn"),
            "sources": st.column_config.TextColumn("Sources", width="medium"),
            "model": st.column_config.TextColumn("Model", width="medium"),
            "error": st.column_config.TextColumn("Error", width="large"),
        },
    )

st.subheader("Loads by origin")
origins = reads.loads_by_origin()
if origins.empty:
    st.info("Nothing has been loaded yet. Load a file on the Upload page.")
else:
    st.dataframe(
        origins,
        hide_index=True,
        column_config={
            "origin": "Origin",
            "loads": look.count_column("Loads"),
            "last_load": st.column_config.DatetimeColumn(
                "Last successful load (UTC)", format="YYYY-MM-DD HH:mm"
            ),
            "added": look.count_column("Added"),
            "updated": look.count_column("Updated"),
            "rejected": look.count_column("Rejected"),
        },
    )

st.subheader("Loads")
loads = reads.batches()
if not loads.empty:
    widgets.batches_table(
        loads,
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
        ],
    )
    st.page_link("pages/upload.py", label="Load a file or undo a load", icon=":material/upload:")
st.caption(f"Store: {serving.store().dialect}.")
