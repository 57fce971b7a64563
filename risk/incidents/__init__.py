"""Files -> incidents: formats, CSV reading, dates, the canonical schema, place names, theatres."""
