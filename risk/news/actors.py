"""Actors named in report text, written as ACLED spells them (the actor groups file, read by
:mod:`risk.incidents.actor_groups`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from risk.incidents.actor_groups import (
    Actor,
    actor_groups_path,
    parse_actor_groups,
    read_actor_groups,
)
from risk.news.matching import Match, PhraseIndex, Token


@dataclass(frozen=True)
class ActorGroups:
    """Every group's actors, and an index of their names and aliases."""

    groups: dict[str, tuple[Actor, ...]]
    index: PhraseIndex[Actor]

    def find(self, text: str, words: list[Token]) -> list[Match[Actor]]:
        return list(self.index.find(text, words))

    def actor(self, name: str) -> Actor | None:
        return self.index.get(name)


def actor_index(groups: dict[str, tuple[Actor, ...]]) -> ActorGroups:
    """Index every spelling of every actor for matching in running text."""
    index: PhraseIndex[Actor] = PhraseIndex()
    for actors in groups.values():
        for actor in actors:
            for spelling in actor.spellings:
                index.add(spelling, actor)
    return ActorGroups(groups, index)


def actor_groups_from_text(text: str, where: str = "actor groups") -> ActorGroups:
    """The index of a groups file's text (:class:`ActorGroupsError` says what is wrong)."""
    return actor_index(parse_actor_groups(text, where))


def load_actor_groups(path: Path | None = None) -> ActorGroups:
    """The actor groups file (``RISK_ACTOR_GROUPS`` or the shipped one), read once per process."""
    return _load(path or actor_groups_path())


@lru_cache(maxsize=2)
def _load(path: Path) -> ActorGroups:
    return actor_index(read_actor_groups(path))
