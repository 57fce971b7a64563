"""Upload: read a file, preview what it would change, commit it as one batch; list and undo."""

import pandas as pd
import streamlit as st

from risk.export import safe_csv
from risk.incidents.csv_reader import FileProblem
from risk.incidents.custom_formats import (
    FIELDS,
    ColumnMapping,
    FormatFileError,
    guess_column,
)
from risk.incidents.schema import CATEGORIES
from risk.store.database import StoreError
from ui import actions, look, reads, widgets

NONE = "(not in the file)"


def mapping_step(uploaded, file_key: str) -> None:
    """Map an unknown provider's columns, save the mapping under a name, preview with it."""
    try:
        sample = actions.file_sample(uploaded, uploaded.name)
    except FileProblem:
        return  # not a readable table at all: the error above says why
    st.subheader("Map this file's columns")
    st.caption(
        "For another provider's export: say which column holds what. The mapping is saved "
        "under its name in data/formats/ and used from then on by this page, "
        "`python -m risk ingest --format NAME` and the drop folder."
    )
    st.dataframe(sample.head(5), hide_index=True)
    columns = list(sample.columns)
    options = [NONE, *columns]
    chosen = {}
    grid = st.columns(3)
    for position, field in enumerate(FIELDS):
        guess = guess_column(field, columns)
        chosen[field] = grid[position % 3].selectbox(
            field, options, index=options.index(guess) if guess else 0, key=f"map_{field}"
        )
    date_format = st.text_input(
        "Date format (e.g. %d/%m/%Y; empty: recognise it)", key="map_date_format"
    )
    event_types: dict[str, str] = {}
    category = None
    if chosen["event_type"] != NONE:
        values = sorted({v.strip() for v in sample[chosen["event_type"]].dropna() if v.strip()})[
            :100
        ]
        table = st.data_editor(
            pd.DataFrame({"value": values, "category": [None] * len(values)}),
            hide_index=True,
            disabled=["value"],
            column_config={
                "value": "Value in the file",
                "category": st.column_config.SelectboxColumn("Category", options=CATEGORIES),
            },
            key="map_event_types",
        )
        event_types = {
            str(v).casefold(): c
            for v, c in zip(table["value"], table["category"], strict=True)
            if isinstance(c, str) and c
        }
    else:
        category = st.selectbox("Category of every row", CATEGORIES, key="map_category")
    name = st.text_input("Name (2-10 lower-case letters, e.g. ngo)", key="map_name")
    if st.button("Save the mapping and preview the file", key="map_save"):
        mapping = ColumnMapping(
            name=name.strip(),
            label=name.strip() or "mapped export",
            columns={f: c for f, c in chosen.items() if c != NONE},
            date_format=date_format.strip() or None,
            event_types=event_types,
            category=category,
        )
        try:
            actions.save_column_mapping(mapping)
        except FormatFileError as error:
            st.error(
                f"The mapping was not saved: {look.escape_markdown(error)}",
                icon=":material/block:",
            )
        else:
            st.session_state["upload_format"] = (file_key, mapping.name)
            st.session_state.pop("preview_key", None)
            st.rerun()


widgets.page_header("Upload")
done = st.session_state.pop("upload_done", None)
if done:
    st.success(done, icon=":material/check_circle:")

allowed = actions.change_allowed("load files or undo loads")
try:
    max_rows = actions.upload_max_rows()
except ValueError as error:
    st.error(f"{error}. Fix the setting and restart the dashboard.")
    st.stop()
max_mb = st.get_option("server.maxUploadSize")

if allowed:
    st.caption(
        f"An ACLED export, a UCDP GED or Candidate file, or your own log in the native format "
        f"(template: data/templates/native.csv). CSV or TSV, optionally gzipped or in a zip "
        f"with one CSV; up to {max_mb:,} MB and {max_rows:,} rows. Load bigger files from a "
        "terminal: python -m risk ingest FILE."
    )
    round_ = st.session_state.setdefault("upload_round", 0)
    uploaded = st.file_uploader(
        "Incident file", type=["csv", "tsv", "txt", "gz", "zip"], key=f"upload_{round_}"
    )
    if uploaded is not None:
        file_key = f"{uploaded.file_id}|{uploaded.size}"
        mapped = st.session_state.get("upload_format")
        file_format = mapped[1] if mapped and mapped[0] == file_key else "auto"
        if st.session_state.get("preview_key") != file_key:
            with st.spinner("Reading the file; nothing is stored yet..."):
                try:
                    st.session_state["preview"] = actions.preview_file(
                        uploaded, uploaded.name, max_rows, file_format
                    )
                except FileProblem as problem:
                    st.session_state["preview"] = problem
            st.session_state["preview_key"] = file_key
        preview = st.session_state["preview"]
        if isinstance(preview, FileProblem):
            st.error(
                f"This file cannot be loaded: {look.escape_markdown(preview)}",
                icon=":material/block:",
            )
            mapping_step(uploaded, file_key)
        else:
            st.markdown("**Read as**")
            st.text(preview.read_as)
            with st.container(horizontal=True):
                st.metric("Rows read", f"{preview.rows_read:,}", border=True)
                st.metric("New", f"{preview.added:,}", border=True)
                st.metric("Updated", f"{preview.updated:,}", border=True)
                st.metric("Already stored", f"{preview.duplicates:,}", border=True)
                st.metric("Rejected", f"{preview.rejected_count:,}", border=True)
            if preview.first_date is not None:
                st.text(f"Incidents from {preview.first_date} to {preview.last_date}")
            if preview.theatres:
                st.dataframe(
                    pd.DataFrame(list(preview.theatres.items()), columns=["theatre", "rows"]),
                    hide_index=True,
                    column_config={
                        "theatre": "Theatre",
                        "rows": look.count_column("Accepted rows"),
                    },
                    width="content",
                )
            if preview.rejected_count:
                st.markdown(f"**Rejected rows ({preview.rejected_count:,})**")
                rejected = pd.DataFrame(
                    [(r.line, r.reason, r.raw) for r in preview.rejected],
                    columns=["line", "reason", "raw"],
                )
                st.dataframe(
                    rejected,
                    hide_index=True,
                    height=240,
                    column_config={
                        "line": look.count_column("Line"),
                        "reason": st.column_config.TextColumn("Reason", width="large"),
                        "raw": st.column_config.TextColumn("Row as written", width="large"),
                    },
                )
                widgets.download_csv(
                    "Rejected rows (CSV)",
                    safe_csv(rejected),
                    "rejected-rows.csv",
                    key="preview_rejections_csv",
                )
            changes = preview.added + preview.updated
            if changes == 0:
                st.info(
                    "Nothing to load: every row is already stored or was rejected.",
                    icon=":material/info:",
                )
            if st.button(
                f"Load {preview.added:,} new and {preview.updated:,} updated incidents as one "
                "batch",
                type="primary",
                disabled=changes == 0,
                key="confirm_load",
            ):
                try:
                    with st.status("Loading the file...", expanded=True) as status:
                        report = actions.load_file(uploaded, uploaded.name, max_rows, file_format)
                        status.write(
                            f"Batch {report.batch_id}: {report.added:,} added, "
                            f"{report.updated:,} updated."
                        )
                        status.update(label="Updating the scores...")
                        scores = actions.update_scores()
                        status.update(label="Done", state="complete")
                except FileProblem as problem:
                    st.error(
                        f"This file cannot be loaded: {look.escape_markdown(problem)}",
                        icon=":material/block:",
                    )
                else:
                    st.session_state["upload_done"] = (
                        f"Loaded batch {report.batch_id}: {report.added:,} new, "
                        f"{report.updated:,} updated, {report.duplicates:,} already stored, "
                        f"{report.rejected_count:,} rejected. {scores}"
                    )
                    st.session_state["upload_round"] = round_ + 1
                    actions.forget_undo_choice(loaded=report.batch_id)
                    st.session_state.pop("preview_key", None)
                    st.session_state.pop("preview", None)
                    st.rerun()

st.subheader("Loads")
loads = reads.batches()
if loads.empty:
    st.info("Nothing has been loaded yet.")
    st.stop()
widgets.batches_table(
    loads,
    [
        "id",
        "status",
        "file_name",
        "origin",
        "finished_at",
        "rows_read",
        "added",
        "updated",
        "duplicates",
        "rejected",
        "undone_at",
        "read_as",
    ],
)

with_rejections = loads[loads["rejected"] > 0]
if not with_rejections.empty:
    with st.container(horizontal=True, vertical_alignment="bottom"):
        batch = st.selectbox(
            "Rejected rows of batch",
            with_rejections["id"].tolist(),
            format_func=lambda i: f"{i}: {loads.set_index('id').at[i, 'file_name']}",
            key="rejections_batch",
            width=480,  # file names are long: room to read them
        )
        widgets.download_csv(
            "Rejected rows (CSV)",
            reads.rejections_csv(int(batch)),
            f"batch-{batch}-rejected-rows.csv",
            key="batch_rejections_csv",
        )

committed = loads[loads["status"] == "committed"].set_index("id")
if allowed and not committed.empty:
    st.subheader("Undo a load")
    # Every widget of this step is keyed by the round (bumped by every load and undo) and the
    # confirmation also by the batch: a tick or a typed number confirms one batch, once, and can
    # never carry over to another batch that the selector lands on after a rerun.
    undo_round = st.session_state.setdefault("undo_round", 0)
    just_loaded = st.session_state.get("last_loaded_batch")
    choices = committed.index.tolist()
    batch = st.selectbox(
        "Batch",
        choices,
        index=choices.index(just_loaded) if just_loaded in choices else None,
        placeholder="Choose the batch to take out",
        width=480,
        format_func=lambda i: f"{i}: {committed.at[i, 'file_name']}",
        key=f"undo_batch_{undo_round}",
    )
    if batch is not None:
        entry = committed.loc[batch]
        st.checkbox(
            f"Take batch {batch} out: remove the {entry['added']:,} incidents it added and "
            f"restore the {entry['updated']:,} it updated to their earlier versions.",
            key=f"undo_sure_{undo_round}_{batch}",
        )
        sure = actions.undo_confirmed(int(batch), int(entry["added"]), undo_round)
        if int(entry["added"]) > actions.UNDO_TYPE_NUMBER_ABOVE:
            st.text_input(
                f"This removes {entry['added']:,} incidents: type the batch number ({batch}) "
                "to confirm",
                key=f"undo_typed_{undo_round}_{batch}",
            )
        if st.button("Undo this load", disabled=not sure, key=f"undo_button_{undo_round}"):
            try:
                with st.spinner(f"Undoing batch {batch} and updating the scores..."):
                    undone = actions.undo(int(batch))
                    scores = actions.update_scores()
            except StoreError as error:
                st.error(
                    f"Batch {batch} was not undone: {look.escape_markdown(error)}",
                    icon=":material/block:",
                )
            else:
                st.session_state["upload_done"] = (
                    f"Undid batch {undone.batch_id}: {undone.removed:,} incidents removed, "
                    f"{undone.restored:,} restored. {scores}"
                )
                actions.forget_undo_choice()
                st.rerun()
