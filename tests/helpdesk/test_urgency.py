"""Urgency comes from the rules in urgency.yml: triage, the people concerned, the needs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.content.triage import assess
from bot.helpdesk import requests, urgency
from bot.storage.helpdesk import EMERGENCY, HIGH, NORMAL

CASES = [
    # (label, message triaged (or None), needs, people, extra risk groups, alone, level, reasons)
    ("nothing special", None, ["food"], 3, [], False, NORMAL, ()),
    ("danger sign", "tôi bị khó thở", ["medicine"], 1, [], False, EMERGENCY, ("danger_signs",)),
    (
        "child with danger sign",
        "bé 3 tuổi khó thở",
        ["medicine"],
        2,
        [],
        False,
        EMERGENCY,
        ("danger_signs", "child"),
    ),
    ("oxygen", None, ["oxygen_transport"], 1, [], False, EMERGENCY, ("oxygen_transport",)),
    (
        "elderly with fever (triage urgent)",
        "mẹ tôi 70 tuổi bị sốt ho",
        ["medicine"],
        2,
        [],
        False,
        HIGH,
        ("triage_urgent", "elderly"),
    ),
    ("pregnant, said in the form", None, ["food"], 2, ["pregnant"], False, HIGH, ("pregnant",)),
    ("alone", None, ["food"], 1, [], True, HIGH, ("alone",)),
    (
        "elderly alone needing medicine",
        None,
        ["medicine"],
        1,
        ["elderly"],
        True,
        EMERGENCY,
        ("elderly", "alone", "alone_needs_medicine"),
    ),
    ("nine without food", None, ["food"], 9, [], False, NORMAL, ()),
    ("ten without food", None, ["food"], 10, [], False, HIGH, ("many_without_food",)),
    ("unknown risk group ignored", None, ["other"], 1, ["vip"], False, NORMAL, ()),
]


@pytest.mark.parametrize(
    ("message", "needs", "people", "groups", "alone", "level", "reasons"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_urgency_from_the_shipped_rules(
    message: str | None,
    needs: list[str],
    people: int,
    groups: list[str],
    alone: bool,
    level: str,
    reasons: tuple[str, ...],
) -> None:
    triage = assess(message) if message else None
    found = requests.urgency(
        triage=triage, needs=needs, people_count=people, risk_groups=groups, alone=alone
    )
    assert found == urgency.Urgency(level, reasons)


def test_a_supervisor_edit_applies_to_the_next_request(tmp_path: Path) -> None:
    data = yaml.safe_load(urgency.DATA_FILE.read_text(encoding="utf-8"))
    path = tmp_path / "urgency.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    known = urgency.facts(triage=None, needs=["food"], alone=True)
    assert urgency.derive(known, people_count=1, loaded=urgency.rules(path)).level == HIGH

    for rule in data["rules"]:
        if rule["code"] == "alone":
            rule["level"] = EMERGENCY
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    edited = urgency.rules(path)
    assert urgency.derive(known, people_count=1, loaded=edited) == urgency.Urgency(
        EMERGENCY, ("alone",)
    )
    assert edited.label("alone") == "Ở một mình, không có người hỗ trợ"


BAD_RULES = [
    ("unknown fact", {"code": "x", "level": "high", "when": ["eldery"], "label": "x"}, "when"),
    ("unknown level", {"code": "x", "level": "urgent", "when": ["child"], "label": "x"}, "level"),
    ("no label", {"code": "x", "level": "high", "when": ["child"]}, "label"),
    ("no facts", {"code": "x", "level": "high", "when": [], "label": "x"}, "when"),
    (
        "people not a number",
        {"code": "x", "level": "high", "when": ["child"], "label": "x", "people_at_least": "10"},
        "people_at_least",
    ),
]


@pytest.mark.parametrize(
    ("rule", "field"), [case[1:] for case in BAD_RULES], ids=[case[0] for case in BAD_RULES]
)
def test_a_mistyped_rule_is_refused_with_its_field(rule: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        urgency.parse({"version": "1", "default": "normal", "rules": [rule]})


def test_the_shipped_file_loads_and_every_rule_can_apply() -> None:
    loaded = urgency.rules()
    assert loaded.default == NORMAL
    for rule in loaded.rules:
        found = urgency.derive(rule.when, people_count=rule.people_at_least, loaded=loaded)
        assert rule.code in found.reasons
