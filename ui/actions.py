"""What changes data from the dashboard: who may, and the upload, undo, rescore and refresh."""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from typing import Any, BinaryIO, cast

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException, StreamlitSecretNotFoundError

from risk.forecast.model import ModelError
from risk.forecast.scores import make_scores
from risk.forecast.training import train
from risk.incidents.csv_reader import CsvStream
from risk.incidents.custom_formats import ColumnMapping, save_mapping
from risk.store.ingest import (
    IngestReport,
    UndoReport,
    ingest_file,
    undo_batch,
)
from ui.look import week_label
from ui.reads import _panel, _source_status
from ui.serving import data_key, store, target, theatres

LOCAL_ADDRESSES = frozenset({"localhost", "127.0.0.1", "::1"})
DEFAULT_UPLOAD_MAX_ROWS = 1_000_000


def refresh_now(progress: Callable[[str], None]) -> Any:
    """Run the scheduled refresh here and now (risk.refresh.runs.run_refresh), reporting progress.

    Raises RefreshBusy while another refresh runs and ConfigError for a bad sources file.
    """
    from risk.refresh.runs import run_refresh

    record = run_refresh(
        store(), theatres=theatres(), target=target(), trigger="dashboard", progress=progress
    )
    _source_status.clear()
    return record


# -- changing data: sign-in -------------------------------------------------------------------
def _secret(name: str) -> Any:
    try:
        return st.secrets.get(name)
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return None


def _oidc_configured() -> bool:
    auth = _secret("auth")
    return bool(auth) and ("client_id" in auth or any(isinstance(v, dict) for v in auth.values()))


def _admin_password() -> str | None:
    return _secret("admin_password") or os.environ.get("RISK_ADMIN_PASSWORD") or None


def listens_locally() -> bool:
    return (st.get_option("server.address") or "") in LOCAL_ADDRESSES


def change_allowed(action: str) -> bool:
    """Whether this session may ``action`` (load files, undo, refresh); draws sign-in if not.

    With OIDC configured in secrets ([auth]): signed-in users. With a password (secret
    ``admin_password`` or RISK_ADMIN_PASSWORD): after entering it. With neither: only while
    the server listens on localhost.
    """
    if _oidc_configured():
        if st.user.get("is_logged_in", False):
            st.caption(f"Signed in as {st.user.get('email') or st.user.get('name') or 'user'}.")
            return True
        st.info(f"Sign in to {action}.", icon=":material/lock:")
        if st.button("Sign in", icon=":material/login:"):
            try:
                st.login()
            except StreamlitAPIException as error:
                st.error(f"Sign-in is configured but cannot start: {error}")
        return False
    password = _admin_password()
    if password:
        if st.session_state.get("risk_admin"):
            return True
        st.info(f"Enter the admin password to {action}.", icon=":material/lock:")
        with st.form("sign_in", clear_on_submit=True):
            given = st.text_input("Admin password", type="password")
            submitted = st.form_submit_button("Sign in", icon=":material/login:")
        if submitted:
            if hmac.compare_digest(given.encode(), password.encode()):
                st.session_state["risk_admin"] = True
                st.rerun()
            st.error("That password is not right.")
        return False
    if listens_locally():
        return True
    st.info(
        f"To {action}, configure sign-in: set `admin_password` in `.streamlit/secrets.toml` "
        "or the RISK_ADMIN_PASSWORD environment variable, or an OIDC provider under [auth] "
        "(see the README). Without sign-in, changes are allowed only when the server listens "
        "on localhost.",
        icon=":material/lock:",
    )
    return False


def upload_max_rows() -> int:
    """RISK_UPLOAD_MAX_ROWS (default 1,000,000): the most data rows an uploaded file may have."""
    value = os.environ.get("RISK_UPLOAD_MAX_ROWS", "").strip()
    if not value:
        return DEFAULT_UPLOAD_MAX_ROWS
    try:
        rows = int(value.replace("_", "").replace(",", ""))
    except ValueError:
        raise ValueError(f"RISK_UPLOAD_MAX_ROWS={value!r} is not a whole number") from None
    if rows < 1:
        raise ValueError(f"RISK_UPLOAD_MAX_ROWS={value!r} must be at least 1")
    return rows


# -- changing data ----------------------------------------------------------------------------
def file_sample(uploaded: BinaryIO, name: str, rows: int = 2_000) -> pd.DataFrame:
    """The file's first rows as text, with its (normalised) header; FileProblem if unreadable."""
    uploaded.seek(0)
    stream = CsvStream(uploaded, name)
    try:
        columns = list(stream.columns)
        for chunk in stream.chunks(columns):
            return chunk.frame.head(rows)
        return pd.DataFrame(columns=columns)
    finally:
        stream.close()


def save_column_mapping(mapping: ColumnMapping) -> None:
    """Save a provider's column mapping (risk.incidents.custom_formats); FormatFileError says
    what is wrong."""
    save_mapping(mapping, replace=True)


def preview_file(
    uploaded: BinaryIO, name: str, max_rows: int, file_format: str = "auto"
) -> IngestReport:
    """What loading the file would do (risk.store.ingest.ingest_file with dry_run: rolled back).

    The uploaded object itself is read, never a path: the user's file name only labels it.
    Raises FileProblem for an unusable file.
    """
    uploaded.seek(0)
    # Without a precondition, ingest_file always returns a report.
    return cast(
        IngestReport,
        ingest_file(
            store(),
            uploaded,
            name=name,
            origin="upload",
            theatres=theatres(),
            dry_run=True,
            max_rows=max_rows,
            file_format=file_format,
        ),
    )


def load_file(
    uploaded: BinaryIO,
    name: str,
    max_rows: int,
    file_format: str = "auto",
    origin: str = "upload",
) -> IngestReport:
    """Commit the file as one batch (see :func:`preview_file`); ``origin`` labels the batch."""
    uploaded.seek(0)
    report = ingest_file(
        store(),
        uploaded,
        name=name,
        origin=origin,
        theatres=theatres(),
        max_rows=max_rows,
        file_format=file_format,
    )
    return cast(IngestReport, report)


# Undoing a batch bigger than this asks for its number to be typed, not only a tick.
UNDO_TYPE_NUMBER_ABOVE = 10_000


def undo_confirmed(batch_id: int, incidents_added: int, undo_round: int) -> bool:
    """Whether the user confirmed taking out exactly this batch in this round of the page."""
    state = st.session_state
    if not state.get(f"undo_sure_{undo_round}_{batch_id}"):
        return False
    if incidents_added > UNDO_TYPE_NUMBER_ABOVE:
        typed = str(state.get(f"undo_typed_{undo_round}_{batch_id}") or "").strip()
        return typed == str(batch_id)
    return True


def forget_undo_choice(loaded: int | None = None) -> None:
    """After any load or undo: no batch stays chosen or confirmed; a new load is preselected."""
    state = st.session_state
    state["undo_round"] = state.get("undo_round", 0) + 1
    for key in [
        k for k in state if str(k).startswith(("undo_sure_", "undo_typed_", "undo_batch_"))
    ]:
        del state[key]
    if loaded is None:
        state.pop("last_loaded_batch", None)
    else:
        state["last_loaded_batch"] = loaded


def undo(batch_id: int) -> UndoReport:
    """Take a batch back out (risk.store.ingest.undo_batch); StoreError says why not."""
    report = undo_batch(store(), batch_id)
    return report


def update_scores() -> str:
    """Score the latest complete week after the data changed; train first when needed.

    Returns what happened, in words. A model that no longer fits (other theatres, surge
    settings or library versions) or is missing is retrained.
    """
    opened, current, surge = store(), theatres(), target()
    # Built once and cached under the new data key: the pages opened next find it ready.
    built = _panel(data_key())
    try:
        scored = make_scores(opened, current, surge, panel=built)
        return f"Scored the week {week_label(scored.as_of)} with model {scored.model_version}."
    except ModelError:
        pass
    try:
        report = train(opened, current, surge, panel=built)
        scored = make_scores(opened, current, surge, model=report.model, panel=built)
    except ModelError as error:
        return f"No scores: {error}."
    return f"Trained model {report.model.version} and scored the week {week_label(scored.as_of)}."
