"""The embedded demo data: loaded once into an empty store so the first start shows a dashboard.

The demo is simulated (see ``data/demo/README.md``); every page says so while it is loaded.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from risk.config import DEMO_DATA_PATH
from risk.store.database import Store, batches, incidents, utc_now
from risk.store.ingest import IngestReport, ingest_file

DEMO_ORIGIN = "demo"
_LOADED_KEY = "demo_loaded_at"


def load_demo_once(store: Store) -> IngestReport | None:
    """Load the demo if this store never had it and holds no incidents; else do nothing."""
    if store.get_meta(_LOADED_KEY) is not None:
        return None

    def still_empty(connection: Connection) -> bool:
        # Checked again under the writer lock: two processes starting together load it once.
        if store.get_meta(_LOADED_KEY, connection) is not None:
            return False
        if connection.execute(sa.select(incidents.c.id).limit(1)).first() is not None:
            return False
        store.set_meta(connection, _LOADED_KEY, utc_now().isoformat())
        return True

    return ingest_file(
        store,
        DEMO_DATA_PATH,
        name="demo: simulated incidents 2022-2024 (ACLED format)",
        origin=DEMO_ORIGIN,
        precondition=still_empty,
    )


def holds_demo(store: Store) -> bool:
    """True while a committed demo batch is in the store (pages then show a banner)."""
    with store.read() as connection:
        found = connection.execute(
            sa.select(batches.c.id)
            .where(batches.c.origin == DEMO_ORIGIN, batches.c.status == "committed")
            .limit(1)
        ).first()
    return found is not None
