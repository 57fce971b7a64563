"""Actors named in report text, written as ACLED spells them (``data/actor_groups.toml``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from risk.config import DATA_DIR
from risk.news.matching import Match, PhraseIndex, Token

ACTOR_GROUPS_PATH = DATA_DIR / "actor_groups.toml"


class ActorFileError(ValueError):
    """The actor groups file is unusable; the message says where."""


@dataclass(frozen=True)
class Actor:
    """One actor of the groups file."""

    name: str
    group: str
    kind: str  # state, non_state or civilian
    country: str = ""
    ucdp: str = ""
    part_of: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActorGroups:
    """Every group's actors, and an index of their names and aliases."""

    groups: dict[str, tuple[Actor, ...]]
    index: PhraseIndex[Actor]

    def find(self, text: str, words: list[Token]) -> list[Match[Actor]]:
        return list(self.index.find(text, words))

    def actor(self, name: str) -> Actor | None:
        return self.index.get(name)


def parse_actor_groups(text: str, where: str = "actor groups") -> ActorGroups:
    """Read the groups file's text; :class:`ActorFileError` names the group or member at fault."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ActorFileError(f"{where}: not a valid TOML file: {error}") from None
    groups: dict[str, tuple[Actor, ...]] = {}
    index: PhraseIndex[Actor] = PhraseIndex()
    for number, group in enumerate(data.get("group", []), start=1):
        name = group.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ActorFileError(f"{where}: group {number} has no name")
        if name in groups:
            raise ActorFileError(f"{where}: the group name {name!r} is used twice")
        members = []
        for member in group.get("members", []):
            actor_name = member.get("name")
            if not isinstance(actor_name, str) or not actor_name.strip():
                raise ActorFileError(f"{where}: a member of group {name!r} has no name")
            aliases = member.get("aliases", [])
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                raise ActorFileError(f"{where}: {actor_name!r}: aliases must be a list of strings")
            actor = Actor(
                name=actor_name,
                group=name,
                kind=member.get("kind", "non_state"),
                country=member.get("country", ""),
                ucdp=member.get("ucdp", ""),
                part_of=member.get("part_of", ""),
                aliases=tuple(aliases),
            )
            members.append(actor)
            for alias in [actor_name, actor.ucdp, *aliases]:
                index.add(alias, actor)
        groups[name] = tuple(members)
    return ActorGroups(groups, index)


@lru_cache(maxsize=2)
def load_actor_groups(path: Path = ACTOR_GROUPS_PATH) -> ActorGroups:
    """The shipped actor groups file (read once per process)."""
    return parse_actor_groups(path.read_text(encoding="utf-8"), str(path))
