"""Synchrony: above-normal weeks, linked-actor days, lead-lag, co-surges; forgiving actor names."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from risk.cli import main
from risk.forecast.panel import build_panel, weekly_panel
from risk.forecast.target import SurgeTarget
from risk.incidents.theatres import load_theatres
from risk.region.actors import ActorGroupsError, load_actor_groups
from risk.region.synchrony import co_surges, lead_lag, linked_days, weekly_synchrony
from risk.store.database import Store
from risk.store.ingest import ingest_file

ROOT = Path(__file__).parents[2]
GROUPS = load_actor_groups(ROOT / "data" / "actor_groups.toml")


@pytest.mark.parametrize(
    ("actor", "member"),
    [
        ("Hezbollah", "Hezbollah"),
        ("Hezbollah (Lebanon)", "Hezbollah"),
        ("Hizballah", "Hezbollah"),
        ("HIZBULLAH", "Hezbollah"),
        ("Kata'ib Hizballah", "Kataib Hezbollah"),
        ("Houthi Movement", "Ansar Allah (Houthis)"),
        ("Huthis", "Ansar Allah (Houthis)"),
        ("Ansarallah", "Ansar Allah (Houthis)"),
        (
            "Military Forces of Iran (1989-) Islamic Revolutionary Guard Corps",
            "Military Forces of Iran",
        ),
        ("Government of Iran", "Military Forces of Iran"),
        ("Islamic Resistance in Iraq", "Islamic Resistance in Iraq"),
        ("Syrian insurgents, Hizbollah", "Hezbollah"),  # a UCDP side listing several
    ],
)
def test_actor_names_match_their_group_whatever_the_spelling(actor, member):
    assert GROUPS.match(actor) == ("Iran and allies", member)


@pytest.mark.parametrize(
    "actor", ["Protesters (Iran)", "Unidentified Armed Group (Syria)", "Rioters", "", None]
)
def test_other_actors_match_no_iran_allied_group(actor):
    found = GROUPS.match(actor)
    assert found is None or found[0] != "Iran and allies"


def test_a_bad_actor_groups_file_says_where(tmp_path):
    path = tmp_path / "groups.toml"
    path.write_text('[[group]]\nname = "A"\n[[group.members]]\naliases = ["x"]\n')
    with pytest.raises(ActorGroupsError, match="has no name"):
        load_actor_groups(path)
    with pytest.raises(ActorGroupsError, match="no such actor groups file"):
        load_actor_groups(tmp_path / "missing.toml")


def counts_frame(series: dict[str, list[int]]) -> pd.DataFrame:
    start = pd.Timestamp("2024-01-01")
    rows = [
        {
            "theatre": theatre,
            "week": start + pd.Timedelta(weeks=i),
            "category": "battle",
            "incidents": n,
            "violent": n,
            "fatalities": 0,
        }
        for theatre, values in series.items()
        for i, n in enumerate(values)
    ]
    return pd.DataFrame(rows)


def panel_of(series: dict[str, list[int]]) -> pd.DataFrame:
    actors = pd.DataFrame(columns=["theatre", "week", "actors"])
    return build_panel(counts_frame(series), actors, SurgeTarget(), list(series))


def test_weekly_synchrony_counts_theatres_above_their_four_weeks_before():
    flat = [4] * 12
    a, b = flat.copy(), flat.copy()
    a[8] = b[8] = 12  # 3x the four weeks before: above normal and a surge
    b[10] = 5  # 1.25x: not above at the default 1.5
    weekly = weekly_synchrony(panel_of({"A": a, "B": b, "C": flat}))
    row = weekly.set_index("week").loc[pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=8)]
    assert (row["above"], row["surging"], row["theatres"]) == (2, 2, 3)
    assert row["above_names"] == ["A", "B"]
    assert weekly["above"].sum() == 2


def test_lead_lag_finds_a_theatre_that_follows_another():
    rng = np.random.default_rng(1)
    leader = rng.poisson(np.exp(rng.normal(2, 0.6, 120))).tolist()
    follower = [5, 5] + leader[:-2]  # the same, two weeks later
    found = lead_lag(panel_of({"A": leader, "B": follower}))
    best = found[(found["leader"] == "A") & (found["follower"] == "B")].iloc[0]
    assert best["lag"] == 2 and best["correlation"] > 0.9
    assert abs(best["same_week"]) < 0.5


def test_co_surges_count_surges_followed_within_the_window():
    flat = [4] * 30
    a, b = flat.copy(), flat.copy()
    a[8], b[10] = 12, 12  # a surge in A followed two weeks later by one in B
    a[20] = 12  # and one that is not followed
    table = co_surges(panel_of({"A": a, "B": b}), within=4).set_index(["after", "then"])
    row = table.loc[("A", "B")]
    assert (row["a_surges"], row["followed"], row["probability"]) == (2, 1, 0.5)
    windows = pd.Series([0.0] * 30)
    windows[6:10] = 1.0  # weeks whose next 4 weeks hold B's surge (week 10)
    assert row["base_rate"] == pytest.approx(windows[: 30 - 4].mean())
    assert row["lift"] == pytest.approx(0.5 / row["base_rate"])


LINKED = """id,date,country,admin1,event_type,actor1,actor2,fatalities
1,2024-01-20,Iraq,Al Anbar,remote_violence,Islamic Resistance in Iraq,US forces,0
2,2024-01-20,Syria,Damascus,remote_violence,Military Forces of Israel,Hizballah,4
3,2024-01-20,Lebanon,South,battle,Hezbollah (Lebanon),Military Forces of Israel,1
4,2024-01-20,Yemen,Al Hudaydah,remote_violence,Houthi Movement,,0
5,2024-01-21,Iraq,Baghdad,battle,Kata'ib Hizballah,,0
6,2024-01-21,Lebanon,South,battle,Hezbollah,,0
7,2024-01-21,Syria,Aleppo,protest,Hezbollah,,0
8,2024-01-22,Iraq,Baghdad,battle,Civilians (Iraq),Islamic State,0
9,2024-01-22,Syria,Homs,battle,Islamic State,,0
10,2024-01-22,Yemen,Marib,battle,Islamic State,,0
"""


def test_linked_days_need_three_theatres_with_violence_by_the_group(sqlite_url, tmp_path):
    store = Store(sqlite_url)
    path = tmp_path / "linked.csv"
    path.write_text(LINKED, encoding="utf-8")
    ingest_file(store, path)
    theatres = load_theatres(ROOT / "data" / "theatres.toml")
    days = linked_days(store, theatres, GROUPS, group="Iran and allies")
    # 21 January: two theatres with violence, a protest does not count; 22: another group.
    assert days["date"].tolist() == [dt.date(2024, 1, 20)]
    day = days.iloc[0]
    assert day["theatres"] == 4 and day["incidents"] == 4 and day["fatalities"] == 5
    assert day["theatre_names"] == ["Iraq", "Syria", "Lebanon & northern Israel", "Yemen & Red Sea"]
    assert day["actors"] == [
        "Ansar Allah (Houthis)",
        "Hezbollah",
        "Islamic Resistance in Iraq",
    ]
    jihadists = linked_days(store, theatres, GROUPS, group="Jihadist groups")
    assert jihadists["date"].tolist() == [dt.date(2024, 1, 22)]
    store.dispose()


def test_cli_synchrony_json(sqlite_url, tmp_path, monkeypatch, capsys):
    store = Store(sqlite_url)
    path = tmp_path / "linked.csv"
    path.write_text(LINKED, encoding="utf-8")
    ingest_file(store, path)
    store.dispose()
    monkeypatch.setenv("RISK_DATABASE_URL", sqlite_url)
    assert main(["synchrony", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [d["date"] for d in payload["linked_days"]] == ["2024-01-20"]
    assert {"week", "theatres", "above", "surging"} <= set(payload["weekly"][0])
    assert main(["synchrony", "--group", "Nobody"]) == 1
    assert "no actor group 'Nobody'" in capsys.readouterr().err


def test_panel_from_the_store_feeds_weekly_synchrony(sqlite_url, tmp_path):
    store = Store(sqlite_url)
    path = tmp_path / "linked.csv"
    path.write_text(LINKED, encoding="utf-8")
    ingest_file(store, path)
    theatres = load_theatres(ROOT / "data" / "theatres.toml")
    weekly = weekly_synchrony(weekly_panel(store, theatres, SurgeTarget()))
    assert weekly["theatres"].max() == 4 and weekly["above"].sum() == 0  # no history yet
    store.dispose()
