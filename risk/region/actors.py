"""Actor groups (``data/actor_groups.toml``): which actors, as ACLED and UCDP spell them, act
together across theatres; and a forgiving match of an incident's actor to a group.

The file's schema is documented in its header (``[[group]]`` with ``name`` and
``[[group.members]]`` with ``name``, optional ``ucdp`` and ``aliases``). Matching ignores case,
accents, apostrophes, hyphens, Arabic articles and parenthetical tags ("Hezbollah (Lebanon)",
"Military Forces of Syria (2000-2024)"), and vowels: transliterations of one name ("Hezbollah",
"Hizballah", "Hizbullah"; "Houthi", "Huthi") share a consonant skeleton. A long alias also
matches inside a longer name ("Military Forces of Iran (1989-) Islamic Revolutionary Guard
Corps"); a short one (an acronym such as "IS", a single short word) only matches whole.
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from risk.config import DATA_DIR

DEFAULT_ACTOR_GROUPS_PATH = DATA_DIR / "actor_groups.toml"
# The group the synchrony view follows by default: Iran and its allied forces.
DEFAULT_GROUP = "Iran and allies"
_ARTICLES = frozenset({"al", "el", "the", "ash", "ad", "ar", "as", "at", "az", "an"})
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_VOWELS = re.compile(r"[aeiouy]")
# A skeleton this long (consonants) is distinctive enough to match inside a longer name.
_LONG_SKELETON = 5


class ActorGroupsError(ValueError):
    """The actor groups file is unusable; the message names the file and the entry."""


def actor_groups_path() -> Path:
    return Path(os.environ.get("RISK_ACTOR_GROUPS") or DEFAULT_ACTOR_GROUPS_PATH)


def _words(name: str) -> list[str]:
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
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
    """Read the actor groups file (see its header for the schema)."""
    path = path or actor_groups_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ActorGroupsError(
            f"{path}: no such actor groups file; create it (see data/actor_groups.toml) or "
            "point RISK_ACTOR_GROUPS at one"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ActorGroupsError(f"{path}: not a valid TOML file: {error}") from None
    entries = data.get("group")
    if not isinstance(entries, list) or not entries:
        raise ActorGroupsError(f"{path}: no [[group]] tables; see data/actor_groups.toml")
    names: list[str] = []
    keys: list[tuple[tuple[str, ...], str, str]] = []
    for number, entry in enumerate(entries, start=1):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise ActorGroupsError(f"{path}: group {number} needs a non-empty 'name'")
        if name in names:
            raise ActorGroupsError(f"{path}: group {name!r} appears twice")
        names.append(name)
        members = entry.get("members", [])
        if not isinstance(members, list):
            raise ActorGroupsError(f"{path}: group {name!r}: members must be [[group.members]]")
        for member in members:
            if not isinstance(member, dict) or not isinstance(member.get("name"), str):
                raise ActorGroupsError(f"{path}: group {name!r}: every member needs a 'name'")
            aliases = member.get("aliases", [])
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                raise ActorGroupsError(
                    f"{path}: group {name!r}, member {member['name']!r}: aliases must be a "
                    "list of strings"
                )
            spellings: Iterable[str] = [member["name"], member.get("ucdp") or "", *aliases]
            for spelling in spellings:
                key = actor_key(spelling)
                if key:
                    keys.append((key, name, member["name"]))
    # Longest first: "Kataib Hezbollah" is found before "Hezbollah" inside a longer name.
    keys.sort(key=lambda item: -len("".join(item[0])))
    return ActorGroups(tuple(names), tuple(dict.fromkeys(keys)))
