"""Escalation-risk dashboard: ``streamlit run dashboard.py`` (or ``scripts/start``).

Only navigation lives here; each page is a file in ``pages/`` and reads ``risk/`` through ``ui``.
"""

import streamlit as st

from ui import serving

st.set_page_config(page_title="Escalation risk", page_icon="📡", layout="wide")

pages = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("pages/trends.py", title="Trends", icon=":material/show_chart:"),
    st.Page("pages/theatre.py", title="Theatre detail", icon=":material/location_searching:"),
    st.Page("pages/map.py", title="Map", icon=":material/map:"),
    st.Page("pages/upload.py", title="Upload", icon=":material/upload_file:"),
    st.Page("pages/news.py", title="News", icon=":material/newspaper:"),
    st.Page("pages/model.py", title="Model", icon=":material/model_training:"),
    st.Page("pages/track_record.py", title="Track record", icon=":material/fact_check:"),
    st.Page("pages/synchrony.py", title="Synchrony", icon=":material/hub:"),
    st.Page("pages/alerts.py", title="Alerts", icon=":material/notifications:"),
    st.Page("pages/data.py", title="Data", icon=":material/database:"),
]
serving.run_page(st.navigation(pages, position="top"))
