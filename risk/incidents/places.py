"""Place names as different sources spell them, reduced to keys that compare equal.

``Homs Governorate`` (UCDP) and ``Homs`` (ACLED) give the same admin1 key; ``Yemen (North
Yemen)``, ``Republic of Yemen`` and ``YEM`` give the same country key (the ISO3 code, from
``data/countries.csv``).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from risk.config import ADMIN1_ALIASES_PATH, COUNTRIES_PATH

# Administrative suffixes and prefixes sources add to admin1 names.
_ADMIN_WORDS = (
    "governorate",
    "governorates",
    "province",
    "district",
    "region",
    "state",
    "muhafazat",
    "mohafazat",
    "muhafazah",
    "ostan",
    "wilayat",
    "wilayah",
    "department",
    "county",
    "prefecture",
    "oblast",
    "emirate",
    "municipality",
    "mohafaza",
    "muhafaza",
)
_ARTICLES = ("al", "el", "ar", "as", "ad", "ash", "an", "at", "az", "ath", "adh")
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
# Letters NFKD does not split into a base letter and a mark (Turkish dotless i, ...).
_PLAIN_LETTERS = str.maketrans(
    {"ı": "i", "ł": "l", "ø": "o", "đ": "d", "ß": "ss", "ʿ": "", "ʾ": ""}
)


def _fold(text: str) -> str:
    """Lower case, accents removed, brackets dropped, punctuation as single spaces."""
    text = _BRACKETS.sub(" ", text)
    text = unicodedata.normalize("NFKD", text.translate(_PLAIN_LETTERS))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.casefold().replace("'", "").replace("\u2019", "").replace("`", "")
    return _NON_WORD.sub(" ", text).strip()


def admin_key(name: str | None) -> str:
    """Key for an admin1/admin2 name: ``Al-Anbar Governorate`` -> ``anbar``."""
    if not name:
        return ""
    words = _fold(name).split()
    while len(words) > 1 and words[-1] in _ADMIN_WORDS:
        words.pop()
    while len(words) > 1 and words[0] in _ADMIN_WORDS:
        words.pop(0)
    if len(words) > 1 and words[0] in _ARTICLES:
        words.pop(0)
    return " ".join(words)


class CountryIndex:
    """Country names, aliases and codes mapped to ISO3 codes."""

    def __init__(self, rows: list[dict[str, str]]) -> None:
        self._by_key: dict[str, str] = {}
        self.names: dict[str, str] = {}
        for row in rows:
            code = row["iso3"].strip().upper()
            self.names[code] = row["name"].strip()
            self._by_key[code.lower()] = code
            for alias in [row["name"], *(row.get("aliases") or "").split("|")]:
                key = _fold(alias)
                if key:
                    self._by_key.setdefault(key, code)

    def key(self, name: str | None) -> str:
        """ISO3 code when the name or code is known, else the folded name."""
        if not name:
            return ""
        folded = _fold(name)
        return self._by_key.get(folded, folded)

    def is_known(self, name: str) -> bool:
        return _fold(name) in self._by_key


class Admin1Index:
    """Admin1 spellings (ACLED, UCDP, transliterations) mapped to one canonical name per country.

    Read from ``data/admin1_aliases.csv``: ``iso3, admin1`` (the canonical name) and
    ``aliases`` separated by ``|``. Spellings compare by :func:`admin_key`.
    """

    def __init__(self, rows: list[dict[str, str]]) -> None:
        self._canonical: dict[tuple[str, str], str] = {}
        for row in rows:
            code, name = row["iso3"].strip().upper(), row["admin1"].strip()
            for alias in [name, *(row.get("aliases") or "").split("|")]:
                key = admin_key(alias)
                if key:
                    self._canonical.setdefault((code, key), name)

    def canonical(self, country_key: str, admin1: str | None) -> str | None:
        """The canonical admin1 name, or None when the spelling is not in the table."""
        if not admin1:
            return None
        return self._canonical.get((country_key.upper(), admin_key(admin1)))

    def key(self, country_key: str, admin1: str | None) -> str:
        """Key that equals for every spelling of one admin1 (the canonical name's key)."""
        canonical = self.canonical(country_key, admin1)
        return admin_key(canonical if canonical is not None else admin1)

    def countries(self) -> set[str]:
        return {code for code, _ in self._canonical}

    def names(self, country_key: str) -> set[str]:
        """The canonical admin1 names of a country."""
        return {name for (code, _), name in self._canonical.items() if code == country_key}


@lru_cache(maxsize=4)
def load_admin1_index(path: Path = ADMIN1_ALIASES_PATH) -> Admin1Index:
    """The admin1 alias table shipped in ``data/admin1_aliases.csv`` (read once per process)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return Admin1Index(list(csv.DictReader(handle)))


@lru_cache(maxsize=4)
def load_country_index(path: Path = COUNTRIES_PATH) -> CountryIndex:
    """The country table shipped in ``data/countries.csv`` (read once per process)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return CountryIndex(list(csv.DictReader(handle)))
