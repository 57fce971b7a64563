"""The actor groups file: one reader for the news extractor and the synchrony view."""

from pathlib import Path

import pytest

from risk.incidents.actor_groups import ActorGroupsError, parse_actor_groups, read_actor_groups
from risk.news.actors import load_actor_groups as news_groups
from risk.region.actors import load_actor_groups as region_groups

ONE_GROUP = """
[[group]]
name = "Axis"
  [[group.members]]
  name = "Hezbollah"
  ucdp = "Hizbollah"
  aliases = ["Islamic Resistance in Lebanon"]
  kind = "non_state"
"""


def test_every_spelling_is_read_in_order() -> None:
    groups = parse_actor_groups(ONE_GROUP)
    (actor,) = groups["Axis"]
    assert actor.spellings == ["Hezbollah", "Hizbollah", "Islamic Resistance in Lebanon"]


def test_a_wrong_kind_is_named_with_its_member() -> None:
    with pytest.raises(ActorGroupsError, match=r"member 'Hezbollah': kind 'militia' is not one"):
        parse_actor_groups(ONE_GROUP.replace('"non_state"', '"militia"'))


def test_a_file_without_groups_says_so(tmp_path: Path) -> None:
    path = tmp_path / "groups.toml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(ActorGroupsError, match=r"groups.toml: no \[\[group\]\] tables"):
        read_actor_groups(path)


def test_both_users_read_the_file_the_environment_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "groups.toml"
    path.write_text(ONE_GROUP, encoding="utf-8")
    monkeypatch.setenv("RISK_ACTOR_GROUPS", str(path))
    assert news_groups().actor("Islamic Resistance in Lebanon").name == "Hezbollah"
    assert region_groups().match("Hizballah (Lebanon)") == ("Axis", "Hezbollah")
