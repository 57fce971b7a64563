"""Theatres: named groups of countries, regions and sea boxes, read from a TOML file.

An event belongs to the first theatre it matches, in file order; events that match none are
"Other" and are kept. Theatres are applied when data is read (in pandas or as a SQL CASE
expression), never stored with the incidents, so editing the file needs no re-ingest.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from risk.incidents.places import CountryIndex, load_admin1_index, load_country_index

OTHER = "Other"
_KEYS = {"name", "countries", "regions", "bbox", "sources"}
# Which source counts a theatre-week when several cover it (README, "One source per week"):
# ACLED first (weekly, revised), then UCDP (yearly releases, lethal events only), then the
# analyst's own log, which so fills the weeks after the latest release without double counting.
DEFAULT_SOURCES = ("acled", "ucdp", "native")

Box = tuple[float, float, float, float]


class TheatreFileError(ValueError):
    """The theatres file cannot be used; the message names the file and the theatre."""


@dataclass(frozen=True)
class Theatre:
    name: str
    countries: tuple[str, ...] = ()
    regions: tuple[tuple[str, str], ...] = ()  # (country, admin1)
    boxes: tuple[Box, ...] = ()  # (lon_min, lat_min, lon_max, lat_max)
    sources: tuple[str, ...] = ()  # source priority for this theatre; () = the file's


class Theatres:
    """An ordered list of theatres with the matching rules."""

    def __init__(
        self,
        theatres: Iterable[Theatre],
        countries: CountryIndex | None = None,
        sources: tuple[str, ...] = DEFAULT_SOURCES,
    ):
        self.theatres = tuple(theatres)
        self.sources = tuple(sources)
        self._countries = countries or load_country_index()
        self._country_keys = [
            {self._countries.key(c) for c in theatre.countries} for theatre in self.theatres
        ]
        self._admin1 = load_admin1_index()
        self._region_keys = [
            {self.region_key(c, a) for c, a in theatre.regions} for theatre in self.theatres
        ]

    @property
    def names(self) -> list[str]:
        """Theatre names in file order, then "Other"."""
        return [t.name for t in self.theatres] + [OTHER]

    def region_key(self, country: str | None, admin1: str | None) -> tuple[str, str]:
        """(country key, admin1 key): equal for every spelling in the alias table."""
        country_key = self._countries.key(country)
        return country_key, self._admin1.key(country_key, admin1)

    def source_priority(self, name: str) -> tuple[str, ...]:
        """Sources in the order they count for theatre ``name`` (its own list, else the file's)."""
        for theatre in self.theatres:
            if theatre.name == name and theatre.sources:
                return theatre.sources
        return self.sources

    def declared_countries(self, name: str) -> set[str]:
        """Country keys a theatre names (its countries and the countries of its regions)."""
        for theatre in self.theatres:
            if theatre.name == name:
                names = [*theatre.countries, *(country for country, _ in theatre.regions)]
                return {self._countries.key(c) for c in names}
        return set()

    def place_theatre(self, country: str | None, admin1: str | None) -> int | None:
        """Index of the first theatre whose countries or regions hold this place."""
        region = self.region_key(country, admin1)
        country_key = region[0]
        for index, (countries, regions) in enumerate(
            zip(self._country_keys, self._region_keys, strict=True)
        ):
            if country_key and country_key in countries:
                return index
            if admin1 and region in regions:
                return index
        return None

    def assign(self, frame: pd.DataFrame) -> pd.Series:
        """Theatre name per row of a frame with country, admin1, latitude, longitude."""
        country = frame["country"].to_numpy(dtype=object, na_value=None)
        admin1 = frame["admin1"].to_numpy(dtype=object, na_value=None)
        # Each distinct place is matched once (an ingest chunk has thousands of rows, few places).
        codes, unique = pd.factorize(
            pd.Series(list(zip(country, admin1, strict=True)), dtype=object)
        )
        by_place = np.array([self.place_theatre(c, a) for c, a in unique], dtype=float)
        first = np.where(np.isnan(by_place[codes]), math.inf, by_place[codes])
        longitude = frame["longitude"].to_numpy(dtype=float, na_value=np.nan)
        latitude = frame["latitude"].to_numpy(dtype=float, na_value=np.nan)
        for position, theatre in enumerate(self.theatres):
            inside = np.zeros(len(frame), dtype=bool)
            for lon_min, lat_min, lon_max, lat_max in theatre.boxes:
                inside |= (
                    (longitude >= lon_min)
                    & (longitude <= lon_max)
                    & (latitude >= lat_min)
                    & (latitude <= lat_max)
                )
            first = np.where(inside & (first > position), position, first)
        names = np.array(self.names, dtype=object)  # "Other" last: the index of no theatre
        position = np.where(np.isinf(first), len(names) - 1, first).astype(np.int64)
        return pd.Series(names[position], index=frame.index).astype(str)

    def sql_case(
        self,
        place_id: sa.ColumnElement,
        latitude: sa.ColumnElement,
        longitude: sa.ColumnElement,
        places: Mapping[int, tuple[str | None, str | None]],
    ) -> sa.ColumnElement[str]:
        """A SQL expression giving each incident's theatre name.

        ``places`` maps place ids to (country, admin1); the expression lists, per theatre,
        the place ids it claims and its boxes, in file order, so the first match wins as in
        :meth:`assign`.
        """
        claimed: dict[int, list[int]] = {}
        for pid, (country, admin1) in places.items():
            index = self.place_theatre(country, admin1)
            if index is not None:
                claimed.setdefault(index, []).append(pid)
        whens = []
        for index, theatre in enumerate(self.theatres):
            conditions: list[sa.ColumnElement[bool]] = []
            if claimed.get(index):
                # Place ids are integers from our own table, rendered inline so a store
                # with many places does not hit the database's bound-parameter limit.
                ids = sa.bindparam(
                    f"theatre_places_{index}",
                    sorted(claimed[index]),
                    expanding=True,
                    literal_execute=True,
                )
                conditions.append(place_id.in_(ids))
            for lon_min, lat_min, lon_max, lat_max in theatre.boxes:
                conditions.append(
                    sa.and_(longitude.between(lon_min, lon_max), latitude.between(lat_min, lat_max))
                )
            if conditions:
                whens.append((sa.or_(*conditions), sa.literal(theatre.name)))
        if not whens:
            return sa.literal(OTHER)
        return sa.case(*whens, else_=sa.literal(OTHER))


def _strings(value: object, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise TheatreFileError(f"{where}: {key} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _box(value: object, where: str) -> Box:
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise TheatreFileError(
            f"{where}: bbox must be [lon_min, lat_min, lon_max, lat_max] (four numbers), "
            f"not {value!r}"
        )
    lon_min, lat_min, lon_max, lat_max = (float(v) for v in value)
    if not (-180 <= lon_min < lon_max <= 180 and -90 <= lat_min < lat_max <= 90):
        raise TheatreFileError(
            f"{where}: bbox {value!r} must have -180 <= lon_min < lon_max <= 180 and "
            "-90 <= lat_min < lat_max <= 90"
        )
    return lon_min, lat_min, lon_max, lat_max


def parse_theatres(document: Mapping[str, object], origin: str) -> list[Theatre]:
    """Check a parsed TOML document and build the theatres, with messages naming ``origin``."""
    unknown_top = set(document) - {"theatre", "sources"}
    if unknown_top:
        raise TheatreFileError(
            f"{origin}: unknown top-level key(s) {', '.join(sorted(unknown_top))}; "
            "theatres are written as [[theatre]] tables (and an optional sources = [...])"
        )
    entries = document.get("theatre")
    if not isinstance(entries, list) or not entries:
        raise TheatreFileError(f"{origin}: no theatres; add at least one [[theatre]] table")
    theatres: list[Theatre] = []
    for number, entry in enumerate(entries, start=1):
        where = f"{origin}: theatre {number}"
        if not isinstance(entry, dict):
            raise TheatreFileError(f"{where}: must be a [[theatre]] table")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise TheatreFileError(f"{where}: needs a name")
        name = name.strip()
        where = f"{origin}: theatre {number} ({name!r})"
        unknown = set(entry) - _KEYS
        if unknown:
            raise TheatreFileError(
                f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                f"allowed: {', '.join(sorted(_KEYS))}"
            )
        if name.casefold() == OTHER.casefold():
            raise TheatreFileError(f"{where}: {OTHER!r} is reserved for unmatched events")
        if any(t.name.casefold() == name.casefold() for t in theatres):
            raise TheatreFileError(f"{where}: the name is used twice")
        countries = _strings(entry.get("countries", []), where, "countries")
        regions = []
        for region in _strings(entry.get("regions", []), where, "regions"):
            country, _, admin1 = region.partition("/")
            if not country.strip() or not admin1.strip():
                raise TheatreFileError(
                    f"{where}: region {region!r} must be written 'Country/admin1'"
                )
            regions.append((country.strip(), admin1.strip()))
        raw_box = entry.get("bbox", [])
        if isinstance(raw_box, list) and raw_box and isinstance(raw_box[0], list):
            boxes = tuple(_box(b, where) for b in raw_box)  # several boxes
        elif raw_box:
            boxes = (_box(raw_box, where),)
        else:
            boxes = ()
        if not (countries or regions or boxes):
            raise TheatreFileError(f"{where}: give countries, regions or a bbox")
        sources = _sources(entry["sources"], where) if "sources" in entry else ()
        theatres.append(Theatre(name, countries, tuple(regions), boxes, sources))
    return theatres


def _sources(value: object, where: str) -> tuple[str, ...]:
    names = tuple(s.casefold() for s in _strings(value, where, "sources"))
    if len(set(names)) != len(names):
        raise TheatreFileError(f"{where}: sources {list(names)} names a source twice")
    bad = [n for n in names if not (n.isalnum() and n.isascii())]
    if bad:
        raise TheatreFileError(
            f"{where}: source {bad[0]!r} is not a source name (such as acled, ucdp, native)"
        )
    return names


def parse_sources(document: Mapping[str, object], origin: str) -> tuple[str, ...]:
    """The file's global source priority (``sources = [...]``), else the default."""
    if "sources" not in document:
        return DEFAULT_SOURCES
    return _sources(document["sources"], origin)


def load_theatres(path: Path | str) -> Theatres:
    """Read and check a theatres TOML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TheatreFileError(f"{path}: theatres file not found") from None
    except UnicodeDecodeError:
        raise TheatreFileError(f"{path}: theatres file is not UTF-8 text") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TheatreFileError(f"{path}: not valid TOML: {error}") from None
    return Theatres(parse_theatres(document, str(path)), sources=parse_sources(document, str(path)))


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def theatres_by_admin1(
    places: Iterable[tuple[str | None, str | None]], countries: Iterable[str] | None = None
) -> str:
    """A theatres file with one theatre per (country, admin1), e.g. governorates.

    ``places`` are (country, admin1) pairs as stored; ``countries`` limits the file to those
    countries (any spelling or ISO3 code). Places without an admin1 are left to "Other".
    """
    index = load_country_index()
    admin1_index = load_admin1_index()
    wanted = {index.key(c) for c in countries} if countries else None
    seen: set[tuple[str, str]] = set()
    lines = [
        "# One theatre per admin1 (generated by: python -m risk theatres --by-admin1).",
        "# Edit freely; see data/theatres.toml for the format.",
    ]
    for country, admin1 in sorted(p for p in places if p[0] and p[1]):
        country_key = index.key(country)
        # Spellings of one admin1 (UCDP's "Idlib Governorate", ACLED's "Idleb") make one
        # theatre, named by the alias table's canonical name when it knows the place.
        admin1 = admin1_index.canonical(country_key, admin1) or admin1
        key = (country_key, admin1_index.key(country_key, admin1))
        if (wanted is not None and key[0] not in wanted) or key in seen:
            continue
        seen.add(key)
        lines += [
            "",
            "[[theatre]]",
            f"name = {_toml_string(f'{country} / {admin1}')}",
            f"regions = [{_toml_string(f'{country}/{admin1}')}]",
        ]
    return "\n".join(lines) + "\n"
