from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from risk.ingest import ingest_file
from risk.queries import store_summary, theatre_column, theatre_stats
from risk.store import Store, incidents, places
from risk.theatres import load_theatres

DATA = Path(__file__).parent / "data"


@pytest.fixture
def loaded(database_url):
    store = Store(database_url)
    for name in ("acled_current.csv", "ucdp_ged_current.csv", "native_log.csv"):
        ingest_file(store, DATA / name)
    yield store
    store.dispose()


def test_sql_theatres_match_the_pandas_rules(loaded):
    theatres = load_theatres("data/theatres.toml")
    with loaded.read() as connection:
        query = sa.select(
            theatre_column(connection, theatres),
            places.c.country,
            places.c.admin1,
            incidents.c.latitude,
            incidents.c.longitude,
        ).join(places, places.c.id == incidents.c.place_id)
        rows = pd.DataFrame(connection.execute(query).all())
    in_python = theatres.assign(rows.replace({"": None}))
    assert rows["theatre"].tolist() == in_python.tolist()
    assert set(rows["theatre"]) == {
        "Iraq",
        "Syria",
        "Lebanon & northern Israel",
        "Israel & Palestine",
        "Yemen & Red Sea",
        "Iran",
        "Other",
    }


def test_stats_per_theatre(loaded):
    stats = theatre_stats(loaded, load_theatres("data/theatres.toml")).set_index("theatre")
    # Syria: 1 ACLED strike (5 killed) + 2 UCDP events (7 and 3 killed).
    assert stats.loc["Syria", ["incidents", "violent", "fatalities"]].tolist() == [3, 3, 15]
    assert str(stats.loc["Syria", "first_date"]) == "2024-01-18"
    assert stats.loc["Other", "incidents"] == 1
    assert stats["incidents"].sum() == store_summary(loaded).total_incidents == 15


def test_editing_the_theatres_file_needs_no_reingest(loaded, tmp_path):
    merged = tmp_path / "levant.toml"
    merged.write_text(
        '[[theatre]]\nname = "Levant"\ncountries = ["Syria", "Lebanon", "LBN", "Israel", "PSE"]\n'
    )
    stats = theatre_stats(loaded, load_theatres(merged)).set_index("theatre")
    # Syria 3 (ACLED 1, UCDP 2), Lebanon 2 (ACLED, native), Israel 2 (ACLED HaZafon, UCDP
    # Gaza), Palestine 1.
    assert stats.loc["Levant", "incidents"] == 3 + 2 + 2 + 1
    assert stats.loc["Other", "incidents"] == 15 - stats.loc["Levant", "incidents"]


def test_empty_store_lists_every_theatre_with_zeros(database_url):
    store = Store(database_url)
    stats = theatre_stats(store, load_theatres("data/theatres.toml"))
    assert len(stats) == 6 and stats["incidents"].sum() == 0
    assert store_summary(store).first_date is None
    store.dispose()
