"""The extractor's rules one at a time: spellings, dates, tolls, places it does not know."""

from __future__ import annotations

import datetime as dt

import pytest

from risk.incidents.actor_groups import ActorGroupsError, parse_actor_groups
from risk.news.actors import load_actor_groups
from risk.news.extract import extract_incidents, native_csv, native_rows
from risk.news.gazetteer import load_gazetteer
from risk.news.matching import tokens
from risk.news.reading import NewsReport
from risk.news.when import find_dates

SATURDAY = dt.date(2024, 1, 20)


def incidents(text: str, date: dt.date = SATURDAY):
    return extract_incidents(NewsReport(text, "", None, "test"), date).incidents


@pytest.mark.parametrize(
    "spelling", ["Ain al-Asad", "Ayn al-Asad", "Al-Asad Air Base", "Ain al Assad", "AIN AL-ASAD"]
)
def test_one_air_base_under_its_spellings(spelling):
    found = load_gazetteer().find(spelling, tokens(spelling))
    assert [m.value.name for m in found] == ["Ain al-Asad Air Base"]


def test_a_name_two_towns_share_is_read_by_the_province_beside_it():
    text = "Shelling hit the town of Ariha in Idlib province on Tuesday, killing two civilians."
    (found,) = incidents(text)
    assert (found.country, found.admin1, found.location) == ("Syria", "Idleb", "Ariha")
    assert found.latitude is None and found.longitude is None
    assert any("not in the gazetteer" in reason for reason in found.reasons)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("on Saturday", "2024-01-20"),  # the report's own weekday is that day
        ("on Thursday night", "2024-01-18"),
        ("yesterday", "2024-01-19"),
        ("three days ago", "2024-01-17"),
        ("on 2 January", "2024-01-02"),
        ("Dec. 30, 2023", "2023-12-30"),
    ],
)
def test_dates_are_resolved_against_the_report_date(phrase, expected):
    (mention,) = find_dates(f"Rockets hit the base {phrase}.", SATURDAY)
    assert mention.date == dt.date.fromisoformat(expected)


@pytest.mark.parametrize(
    ("sentence", "toll"),
    [
        ("A drone strike on a car in Tyre on Friday killed three people.", 3),
        ("A drone strike on a car in Tyre on Friday killed a Hezbollah member.", 1),
        ("A drone strike in Tyre on Friday 14 June wounded six people.", None),
        ("A drone strike in Tyre on Friday caused no casualties.", None),
        ("A drone strike in Tyre on Friday left at least twenty-one dead.", 21),
    ],
)
def test_death_tolls_in_digits_and_words_and_none(sentence, toll):
    (found,) = incidents(sentence)
    assert found.fatalities == toll


def test_a_sentence_about_two_theatres_is_two_incidents():
    found = incidents(
        "Israeli jets struck Damascus on Saturday, while Houthi missiles hit a ship off Hodeidah."
    )
    assert sorted(c.country for c in found) == ["Syria", "Yemen"]
    by_country = {c.country: c for c in found}
    assert by_country["Syria"].actor1 == "Military Forces of Israel"
    assert by_country["Yemen"].actor1 == "Ansar Allah (Houthis)"


def test_background_and_hypotheticals_give_no_incident():
    assert incidents("Recent US strikes against Houthi forces in Yemen show the resolve.") == []
    assert incidents("Hezbollah warned it would strike Haifa if attacked.") == []
    assert incidents("The US keeps about 2,500 soldiers in Iraq.") == []


def test_candidates_write_a_native_csv():
    found = incidents("Rockets hit Erbil on Saturday, killing two.")
    lines = native_csv(native_rows(found)).decode().splitlines()
    assert lines[0].startswith("date,country,admin1,location,latitude,longitude,event_type")
    assert lines[1].startswith("2024-01-20,Iraq,Erbil,Erbil,")
    assert ",remote_violence," in lines[1] and ",2," in lines[1]


def test_the_actor_groups_file_names_every_axis_member_under_one_group():
    groups = load_actor_groups()
    axis = {actor.name for actor in groups.groups["Iran and allies"]}
    assert {"Hezbollah", "Ansar Allah (Houthis)", "Islamic Resistance in Iraq"} <= axis
    assert groups.actor("Kata'ib Hezbollah").part_of == "Islamic Resistance in Iraq"
    assert groups.actor("IDF").name == "Military Forces of Israel"


def test_a_broken_actor_groups_file_says_where():
    with pytest.raises(ActorGroupsError, match="used twice"):
        parse_actor_groups('[[group]]\nname = "A"\n[[group]]\nname = "A"\n')
    with pytest.raises(ActorGroupsError, match="has no name"):
        parse_actor_groups('[[group]]\nname = "A"\n[[group.members]]\naliases = []\n')
