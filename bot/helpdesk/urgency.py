"""How urgent a help request is: facts about it, matched against rules kept in urgency.yml.

Urgency is derived, never asked: from the triage of what the person said (danger signs,
readings, risk groups), the people concerned (children, elderly, pregnant, chronic illness,
alone, how many) and the needs. The rules are data so supervisors can read and change them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.content.triage import EMERGENCY as TRIAGE_EMERGENCY
from bot.content.triage import URGENT as TRIAGE_URGENT
from bot.content.triage import Triage
from bot.storage.helpdesk import NEEDS, URGENCIES

DATA_FILE = Path(__file__).with_name("urgency.yml")

DANGER_SIGNS, TRIAGE_URGENT_FACT, ALONE = "danger_signs", "triage_urgent", "alone"
RISK_GROUPS = ("child", "elderly", "pregnant", "chronic")  # the codes of triage.yml
FACTS = frozenset(
    {DANGER_SIGNS, TRIAGE_URGENT_FACT, ALONE, *RISK_GROUPS, *(f"need_{n}" for n in NEEDS)}
)


@dataclass(frozen=True)
class Urgency:
    """A request's urgency level and the codes of the rules that gave it."""

    level: str
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    code: str
    level: str
    when: frozenset[str]
    people_at_least: int
    label: str


@dataclass(frozen=True)
class Rules:
    default: str
    rules: tuple[Rule, ...]

    def label(self, code: str) -> str:
        """The Vietnamese label of a reason code (the code itself for a rule since removed)."""
        return next((r.label for r in self.rules if r.code == code), code)


_loaded: dict[Path, tuple[int, Rules]] = {}


def rules(path: Path = DATA_FILE) -> Rules:
    """The rules in ``path``, read again whenever the file changes."""
    stamp = path.stat().st_mtime_ns
    cached = _loaded.get(path)
    if cached is None or cached[0] != stamp:
        cached = (stamp, parse(yaml.safe_load(path.read_text(encoding="utf-8")), str(path)))
        _loaded[path] = cached
    return cached[1]


def parse(data: Any, source: str = "urgency.yml") -> Rules:
    """Check and load the rules; ValueError names the rule and field that are wrong."""
    if not isinstance(data, dict) or str(data.get("version")) != "1":
        raise ValueError(f'{source}: expected a mapping with version: "1"')
    default = data.get("default")
    if default not in URGENCIES:
        raise ValueError(f"{source}: default must be one of {', '.join(URGENCIES)}")
    items = data.get("rules")
    if not isinstance(items, list):
        raise ValueError(f"{source}: rules must be a list")
    loaded = tuple(_rule(item, f"{source}: rule {n}") for n, item in enumerate(items, 1))
    codes = [r.code for r in loaded]
    if len(set(codes)) != len(codes):
        raise ValueError(f"{source}: two rules have the same code")
    return Rules(default=default, rules=loaded)


def _rule(item: Any, where: str) -> Rule:
    if not isinstance(item, dict):
        raise ValueError(f"{where}: expected a mapping")
    code, level, label = item.get("code"), item.get("level"), item.get("label")
    when, people = item.get("when", []), item.get("people_at_least", 1)
    if not isinstance(code, str) or not code:
        raise ValueError(f"{where}: code is missing")
    if level not in URGENCIES:
        raise ValueError(f"{where} ({code}): level must be one of {', '.join(URGENCIES)}")
    if not isinstance(label, str) or not label.strip():
        raise ValueError(f"{where} ({code}): label is missing")
    if not isinstance(when, list) or not when or any(f not in FACTS for f in when):
        raise ValueError(f"{where} ({code}): when must list facts among {', '.join(sorted(FACTS))}")
    if not isinstance(people, int) or isinstance(people, bool) or people < 1:
        raise ValueError(f"{where} ({code}): people_at_least must be a whole number ≥ 1")
    return Rule(code, level, frozenset(when), people, label.strip())


def facts(
    *,
    triage: Triage | None,
    needs: Iterable[str],
    risk_groups: Iterable[str] = (),
    alone: bool = False,
) -> frozenset[str]:
    """What is known about a request, as the facts the rules name."""
    found = {f"need_{n}" for n in needs}
    found.update(g for g in risk_groups if g in RISK_GROUPS)
    if triage is not None:
        found.update(g for g in triage.risk_groups if g in RISK_GROUPS)
        if triage.level == TRIAGE_EMERGENCY:
            found.add(DANGER_SIGNS)
        elif triage.level == TRIAGE_URGENT:
            found.add(TRIAGE_URGENT_FACT)
    if alone:
        found.add(ALONE)
    return frozenset(found)


def derive(known: frozenset[str], *, people_count: int, loaded: Rules | None = None) -> Urgency:
    """The most urgent level among the rules that apply, and their codes in file order."""
    loaded = loaded or rules()
    applying = [r for r in loaded.rules if r.when <= known and people_count >= r.people_at_least]
    levels = [loaded.default, *(r.level for r in applying)]
    return Urgency(min(levels, key=URGENCIES.index), tuple(r.code for r in applying))


def more_urgent(first: str, second: str) -> bool:
    """Whether level ``first`` is more urgent than ``second``."""
    return URGENCIES.index(first) < URGENCIES.index(second)
