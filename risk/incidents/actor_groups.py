"""The actor groups file (``data/actor_groups.toml``, or ``RISK_ACTOR_GROUPS``): who is who in the
region's conflicts, under the names ACLED and UCDP use.

One reader for the two uses: the news extractor finds actors in report text
(:mod:`risk.news.actors`), the synchrony view matches incidents' actors to groups
(:mod:`risk.region.actors`). Each matches names its own way; the file and its checks are here.
The schema is documented in the file's header.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from risk.config import DATA_DIR

DEFAULT_ACTOR_GROUPS_PATH = DATA_DIR / "actor_groups.toml"
KINDS = ("state", "non_state", "civilian")


class ActorGroupsError(ValueError):
    """The actor groups file is unusable; the message names the file and the entry."""


@dataclass(frozen=True)
class Actor:
    """One member of a group, as the file describes it."""

    name: str  # as ACLED spells it
    group: str
    kind: str = "non_state"
    country: str = ""
    ucdp: str = ""  # as UCDP spells it
    part_of: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def spellings(self) -> list[str]:
        """Every name the actor goes by: ACLED's, UCDP's, then the aliases."""
        return [s for s in (self.name, self.ucdp, *self.aliases) if s]


def actor_groups_path() -> Path:
    return Path(os.environ.get("RISK_ACTOR_GROUPS") or DEFAULT_ACTOR_GROUPS_PATH)


def parse_actor_groups(text: str, where: str = "actor groups") -> dict[str, tuple[Actor, ...]]:
    """Groups in file order, each with its members; :class:`ActorGroupsError` says what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ActorGroupsError(f"{where}: not a valid TOML file: {error}") from None
    entries = data.get("group")
    if not isinstance(entries, list) or not entries:
        raise ActorGroupsError(f"{where}: no [[group]] tables; see data/actor_groups.toml")
    groups: dict[str, tuple[Actor, ...]] = {}
    for number, entry in enumerate(entries, start=1):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise ActorGroupsError(f"{where}: group {number} has no name")
        if name in groups:
            raise ActorGroupsError(f"{where}: the group name {name!r} is used twice")
        members = entry.get("members", [])
        if not isinstance(members, list):
            raise ActorGroupsError(f"{where}: group {name!r}: members must be [[group.members]]")
        actors = []
        for member in members:
            actor_name = member.get("name") if isinstance(member, dict) else None
            if not isinstance(actor_name, str) or not actor_name.strip():
                raise ActorGroupsError(f"{where}: a member of group {name!r} has no name")
            aliases = member.get("aliases", [])
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                raise ActorGroupsError(
                    f"{where}: group {name!r}, member {actor_name!r}: aliases must be a list "
                    "of strings"
                )
            kind = member.get("kind", "non_state")
            if kind not in KINDS:
                raise ActorGroupsError(
                    f"{where}: group {name!r}, member {actor_name!r}: kind {kind!r} is not one "
                    f"of {', '.join(KINDS)}"
                )
            actors.append(
                Actor(
                    name=actor_name,
                    group=name,
                    kind=kind,
                    country=str(member.get("country", "")),
                    ucdp=str(member.get("ucdp", "")),
                    part_of=str(member.get("part_of", "")),
                    aliases=tuple(aliases),
                )
            )
        groups[name] = tuple(actors)
    return groups


def read_actor_groups(path: Path | None = None) -> dict[str, tuple[Actor, ...]]:
    """Read the actor groups file (default: ``RISK_ACTOR_GROUPS`` or the shipped one)."""
    path = path or actor_groups_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ActorGroupsError(
            f"{path}: no such actor groups file; create it (see data/actor_groups.toml) or "
            "point RISK_ACTOR_GROUPS at one"
        ) from None
    except UnicodeDecodeError as error:
        raise ActorGroupsError(f"{path}: not a UTF-8 text file: {error}") from None
    return parse_actor_groups(text, str(path))
