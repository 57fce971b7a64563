"""Precision and recall of the extractor over short wire-style reports with known incidents.

The reports in tests/data/news/ cover several theatres, dates written several ways, numbers in
words, places with several spellings, and reports that describe no incident at all. The
seed report (../shared/reference/seed-report.txt) is checked incident by incident.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from risk.news.extract import Candidate, extract_incidents
from risk.news.matching import phrase_key
from risk.news.reading import read_report

ROOT = Path(__file__).parent.parent.parent
FIXTURES = ROOT / "tests/data/news"
SEED_REPORT = ROOT / "../shared/reference/seed-report.txt"
PRECISION_FLOOR = 0.75
RECALL_FLOOR = 0.75


def same_place(expected: str, found: str) -> bool:
    """Two spellings of one place: equal skeletons, or one inside the other ("Sadr City")."""
    a, b = " ".join(phrase_key(expected)), " ".join(phrase_key(found))
    return bool(a and b) and (a == b or a in b or b in a)


def matches(expected: dict, found: Candidate) -> bool:
    return (
        found.date == dt.date.fromisoformat(expected["date"])
        and found.country == expected["country"]
        and found.category == expected["category"]
        and ("location" not in expected or same_place(expected["location"], found.location))
    )


def score_fixtures() -> dict[str, float]:
    """Counts and rates over every fixture report; one-to-one matching, first match wins."""
    spec = tomllib.loads((FIXTURES / "expected.toml").read_text(encoding="utf-8"))
    found_total = expected_total = hits = 0
    actor_checks = actor_hits = toll_checks = toll_hits = 0
    for entry in spec["report"]:
        report = read_report((FIXTURES / entry["file"]).read_bytes(), name=entry["file"])
        found = extract_incidents(report, dt.date.fromisoformat(entry["date"])).incidents
        found_total += len(found)
        expected_total += len(entry["incidents"])
        unmatched = list(found)
        for expected in entry["incidents"]:
            match = next((f for f in unmatched if matches(expected, f)), None)
            if match is None:
                print(f"MISSED {entry['file']}: {expected}")
                continue
            hits += 1
            unmatched.remove(match)
            for side in ("actor1", "actor2"):
                if side in expected:
                    actor_checks += 1
                    actor_hits += getattr(match, side) == expected[side]
            if "fatalities" in expected:
                toll_checks += 1
                toll_hits += match.fatalities == expected["fatalities"]
        for extra in unmatched:
            print(
                f"EXTRA {entry['file']}: {extra.date} {extra.country} {extra.location!r} "
                f"{extra.category}"
            )
    result = {
        "reports": len(spec["report"]),
        "expected": expected_total,
        "found": found_total,
        "matched": hits,
        "precision": hits / found_total if found_total else 1.0,
        "recall": hits / expected_total if expected_total else 1.0,
        "actors_right": actor_hits / actor_checks if actor_checks else 1.0,
        "fatalities_right": toll_hits / toll_checks if toll_checks else 1.0,
    }
    print("news fixtures:", {k: round(v, 3) for k, v in result.items()})
    return result


def test_precision_and_recall_over_the_fixture_reports():
    result = score_fixtures()
    assert result["reports"] >= 20
    assert result["precision"] >= PRECISION_FLOOR, result
    assert result["recall"] >= RECALL_FLOOR, result


def test_reports_without_incidents_give_none():
    spec = tomllib.loads((FIXTURES / "expected.toml").read_text(encoding="utf-8"))
    quiet = [e for e in spec["report"] if not e["incidents"]]
    assert len(quiet) >= 3
    for entry in quiet:
        report = read_report((FIXTURES / entry["file"]).read_bytes(), name=entry["file"])
        found = extract_incidents(report, dt.date.fromisoformat(entry["date"])).incidents
        assert found == [], (entry["file"], [c.as_json() for c in found])


@pytest.fixture
def seed_incidents() -> list[Candidate]:
    if not SEED_REPORT.exists():
        pytest.skip(f"the seed report is not at {SEED_REPORT} (shared/ is not beside the repo)")
    report = read_report(SEED_REPORT.read_bytes(), name=SEED_REPORT.name)
    return extract_incidents(report, dt.date(2024, 1, 20)).incidents


def test_seed_report_gives_its_four_incidents_and_no_background(seed_incidents):
    by_country = {c.country: c for c in seed_incidents}
    assert all(c.date == dt.date(2024, 1, 20) for c in seed_incidents)
    base = by_country["Iraq"]
    assert base.location == "Ain al-Asad Air Base"
    assert (base.admin1, base.category) == ("Al Anbar", "remote_violence")
    assert base.latitude is not None and base.longitude is not None
    assert base.actor1 == "Islamic Resistance in Iraq"
    assert base.actor2 == "Military Forces of the United States"
    damascus = by_country["Syria"]
    assert damascus.location == "Damascus"
    assert damascus.actor1 == "Military Forces of Israel"
    lebanon = by_country["Lebanon"]
    assert lebanon.actor1 == "Military Forces of Israel"
    assert lebanon.actor2 == "Hezbollah"
    yemen = by_country["Yemen"]
    assert {yemen.actor1, yemen.actor2} == {
        "Military Forces of the United States",
        "Ansar Allah (Houthis)",
    }
    # Troop numbers, calls for withdrawal, the Gaza war and "recent strikes" are background.
    assert len(seed_incidents) == 4
    assert all("withdrawal" not in c.source_text for c in seed_incidents)
    assert all("2,500 soldiers" not in c.source_text for c in seed_incidents)
