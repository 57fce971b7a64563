"""Escalation-risk library: incident files -> store -> weekly panel -> model -> scores.

No Streamlit here; the dashboard (``dashboard.py``, ``pages/``) and the CLI (``python -m risk``)
call the same functions.
"""
