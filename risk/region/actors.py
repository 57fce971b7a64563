"""Which group an incident's actor belongs to (the actor groups file, read by
:mod:`risk.incidents.actor_groups`): a forgiving match of dataset actor names.

A dataset's actor is a whole name, so it is matched whole, more loosely than the phrases
the news extractor looks for in running text (:mod:`risk.news.matching`): matching ignores
case, accents, apostrophes, hyphens, Arabic articles and parenthetical tags ("Hezbollah
(Lebanon)", "Military Forces of Syria (2000-2024)"), and vowels: transliterations of one name
("Hezbollah", "Hizballah", "Hizbullah"; "Houthi", "Huthi") share a consonant skeleton. A long
alias also matches inside a longer name ("Military Forces of Iran (1989-) Islamic
Revolutionary Guard Corps"); a short one (an acronym such as "IS", a single short word) only
matches whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from unidecode import unidecode

from risk.incidents.actor_groups import ActorGroupsError, actor_groups_path, read_actor_groups

__all__ = ["ActorGroups", "ActorGroupsError", "actor_groups_path", "actor_key", "load_actor_groups"]

# The group the synchrony view follows by default: Iran and its allied forces.
DEFAULT_GROUP = "Iran and allies"
_ARTICLES = frozenset({"al", "el", "the", "ash", "ad", "ar", "as", "at", "az", "an"})
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_VOWELS = re.compile(r"[aeiouy]")
# A skeleton this long (consonants) is distinctive enough to match inside a longer name.
_LONG_SKELETON = 5


def _words(name: str) -> list[str]:
    text = unidecode(name).lower()  # as the news extractor folds accents and scripts
    text = _PARENTHESES.sub(" ", text)
    text = re.sub(r"['’ʼʿ`]", "", text)
    return [w for w in re.split(r"[^a-z0-9]+", text) if w and w not in _ARTICLES]


def _skeleton(word: str) -> str:
    # Keep a leading vowel ("Iran" is not "Ran"), drop the others, collapse doubled letters.
    core = word[0] + _VOWELS.sub("", word[1:]) if word else word
    return re.sub(r"(.)\1+", r"\1", core.replace("h", "") if len(core) > 3 else core)


def actor_key(name: str) -> tuple[str, ...]:
    """The spelling-insensitive form of an actor name: one skeleton per word."""
    return tuple(_skeleton(w) for w in _words(name))


@dataclass(frozen=True)
class ActorGroups:
    """Groups in file order, each with its members' names and every spelling as keys."""

    groups: tuple[str, ...]
    keys: tuple[tuple[tuple[str, ...], str, str], ...]  # (key, group, member), longest first

    def match(self, actor: str | None) -> tuple[str, str] | None:
        """(group, member) of an actor name, or None."""
        if not actor:
            return None
        return _match_cached(self, actor)

    def members(self, group: str) -> list[str]:
        return list(dict.fromkeys(m for _, g, m in self.keys if g == group))


@lru_cache(maxsize=65536)
def _match_cached(groups: ActorGroups, actor: str) -> tuple[str, str] | None:
    found = _match_one(groups, actor)
    if found is None and "," in actor:
        # UCDP lists coalitions in one side: "Ahrar al-Sham, HTS, Southern Front".
        for part in actor.split(","):
            found = _match_one(groups, part)
            if found is not None:
                break
    return found


def _match_one(groups: ActorGroups, actor: str) -> tuple[str, str] | None:
    key = actor_key(actor)
    if not key:
        return None
    for alias, group, member in groups.keys:
        if alias == key:
            return group, member
    for alias, group, member in groups.keys:
        if len("".join(alias)) < _LONG_SKELETON or len(alias) > len(key):
            continue
        width = len(alias)
        if any(key[i : i + width] == alias for i in range(len(key) - width + 1)):
            return group, member
    return None


def load_actor_groups(path: Path | None = None) -> ActorGroups:
    """Read the actor groups file (:mod:`risk.incidents.actor_groups`) and key every spelling."""
    groups = read_actor_groups(path)
    keys: list[tuple[tuple[str, ...], str, str]] = []
    for name, actors in groups.items():
        for actor in actors:
            for spelling in actor.spellings:
                key = actor_key(spelling)
                if key:
                    keys.append((key, name, actor.name))
    # Longest first: "Kataib Hezbollah" is found before "Hezbollah" inside a longer name.
    keys.sort(key=lambda item: -len("".join(item[0])))
    return ActorGroups(tuple(groups), tuple(dict.fromkeys(keys)))
