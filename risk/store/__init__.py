"""Incidents <-> database: tables, migrations, ingest and undo, queries, the demo load."""
