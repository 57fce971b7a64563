"""The dashboard's shared UI: serving (store, keys), reads (cached queries), look, widgets, actions.

The only place that imports both Streamlit and ``risk/``; pages draw what these return.
"""
