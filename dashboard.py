"""Escalation-risk dashboard: ``streamlit run dashboard.py`` (or ``scripts/start``).

Only navigation lives here; each page is a file in ``pages/`` and reads ``risk/`` through ``ui``.
"""

import streamlit as st

st.set_page_config(page_title="Escalation risk", page_icon=":material/radar:", layout="wide")

pages = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
]
st.navigation(pages).run()
