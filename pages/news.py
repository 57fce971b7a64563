"""News: paste a report (or give a file or URL), review the candidate incidents, load them."""

import io

import pandas as pd
import streamlit as st

from risk.incidents.csv_reader import FileProblem
from risk.incidents.schema import CATEGORIES
from risk.news.extract import NATIVE_COLUMNS, extract_incidents, native_csv, native_rows
from risk.news.fetch import fetch_report
from risk.news.reading import ReportProblem, read_report
from ui import actions, look, widgets

widgets.page_header("News")
done = st.session_state.pop("news_done", None)
if done:
    st.success(done, icon=":material/check_circle:")
st.caption(
    "Turn a news report into candidate incidents in the native format. Nothing is stored until "
    "you have reviewed the table and loaded it; the load is one batch you can undo on the "
    "Upload page."
)

kind = st.radio("Report", ["Paste text", "File", "URL"], horizontal=True, key="news_kind")
round_ = st.session_state.setdefault("news_round", 0)
text, uploaded, url = "", None, ""
if kind == "Paste text":
    text = st.text_area("Report text", height=200, key=f"news_text_{round_}")
elif kind == "File":
    uploaded = st.file_uploader(
        "Report file", type=["txt", "html", "htm"], key=f"news_file_{round_}"
    )
else:
    url = st.text_input("Report URL", placeholder="https://...", key=f"news_url_{round_}")
given_date = st.date_input(
    "Report date (empty: read from the page)", value=None, key="news_date", format="YYYY-MM-DD"
)

if st.button("Find incidents", type="primary", key="news_extract"):
    try:
        with st.spinner("Reading the report..."):
            if kind == "Paste text":
                report = read_report(text, name="pasted text")
            elif kind == "File":
                if uploaded is None:
                    raise ReportProblem("choose a .txt or .html file first")
                report = read_report(uploaded.getvalue(), name=uploaded.name)
            else:
                report = fetch_report(url)
    except ReportProblem as problem:
        st.session_state["news_result"] = str(problem)
    else:
        report_date = given_date or report.published
        if report_date is None:
            st.session_state["news_result"] = (
                "The report's date is not in it: enter the report date above, then find the "
                "incidents again."
            )
        else:
            st.session_state["news_result"] = extract_incidents(report, report_date)
    st.session_state["news_editor_round"] = st.session_state.get("news_editor_round", 0) + 1

result = st.session_state.get("news_result")
if isinstance(result, str):
    st.error(look.escape_markdown(result), icon=":material/block:")
elif result is not None:
    label = result.title or result.origin
    st.text(f"{label} (report date {result.report_date})")
    if not result.incidents:
        st.info("No incidents found in this report. You can add rows by hand below.")
    table = pd.DataFrame(native_rows(result.incidents), columns=list(NATIVE_COLUMNS))
    table["date"] = pd.to_datetime(table["date"]).dt.date
    table["confidence"] = [c.confidence for c in result.incidents]
    table["reasons"] = ["; ".join(c.reasons) for c in result.incidents]
    edited = st.data_editor(
        table,
        num_rows="dynamic",
        hide_index=True,
        key=f"news_editor_{st.session_state.get('news_editor_round', 0)}",
        disabled=["confidence", "reasons"],
        column_config={
            "date": st.column_config.DateColumn("Date", format="YYYY-MM-DD", required=True),
            "event_type": st.column_config.SelectboxColumn(
                "Category", options=list(CATEGORIES), required=True
            ),
            "latitude": st.column_config.NumberColumn("Lat", format="%.4f"),
            "longitude": st.column_config.NumberColumn("Lon", format="%.4f"),
            "fatalities": st.column_config.NumberColumn("Deaths", min_value=0, step=1),
            "source": st.column_config.TextColumn("Sentence", width="large"),
            "notes": st.column_config.TextColumn("Notes", width="medium"),
            "confidence": st.column_config.ProgressColumn(
                "Confidence", min_value=0.0, max_value=1.0, format="%.2f"
            ),
            "reasons": st.column_config.TextColumn("Why", width="large"),
        },
    )
    for number, candidate in enumerate(result.incidents, start=1):
        with st.expander(f"Sentence of row {number}"):
            st.text(candidate.source_text)
    if actions.change_allowed("load incidents from news reports"):
        rows = edited.drop(columns=["confidence", "reasons"]).to_dict("records")
        if st.button(
            f"Load {len(rows)} incidents as one batch",
            disabled=not rows,
            key="news_load",
        ):
            origin = f"news:{label}"[:200]
            try:
                # The same load as an upload: validation, one batch, undo on the Upload page.
                report = actions.load_file(
                    io.BytesIO(native_csv(rows)), origin, len(rows), origin=origin
                )
            except FileProblem as problem:
                st.error(
                    f"Nothing was loaded: {look.escape_markdown(problem)}", icon=":material/block:"
                )
            else:
                scores = actions.update_scores()
                rejected = "".join(
                    f" Row {r.line - 1} rejected: {look.escape_markdown(r.reason)}."
                    for r in report.rejected[:5]
                )
                st.session_state["news_done"] = (
                    f"Loaded batch {report.batch_id} ({look.escape_markdown(origin)}): "
                    f"{report.added:,} new, "
                    f"{report.duplicates:,} already stored, {report.rejected_count:,} "
                    f"rejected.{rejected} {scores} Undo it on the Upload page."
                )
                st.session_state.pop("news_result", None)
                st.session_state["news_round"] = round_ + 1
                st.rerun()
