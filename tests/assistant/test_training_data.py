"""The training data keeps the conversation contract: every intent, enough varied examples."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from bot import text as vi

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = (
    "greet goodbye thank affirm deny bot_challenge ask_symptoms report_symptoms ask_prevention "
    "ask_lockdown_status ask_alert_level ask_support_scheme request_help check_request_status "
    "subscribe_alerts unsubscribe_alerts ask_subscriptions ask_hotline out_of_scope inform_place "
    "report_false_info forget_me"
).split()
SMALLTALK = {"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge"}
# Sent by buttons only, never typed (so no examples): choose or rate a question-bank answer,
# answer the help-request form; subscription consent and choices; a channel's "start" (Telegram
# /start, a Zalo OA follow).
BUTTONS_ONLY = {
    "choose_answer",
    "rate_answer",
    "help_request_choose",
    "false_info_choose",
    "forget_me_choose",
    "subscription_choose",
    "unsubscribe_choose",
    "start_chat",
}
ANNOTATION = re.compile(r"\[([^\]]+)\]\((\w+)\)")


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def examples() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted((ROOT / "nlu").glob("*.yml")):
        for block in _yaml(path)["nlu"]:
            if "intent" in block:
                lines = block["examples"].splitlines()
                found[block["intent"]] += [line[2:] for line in lines if line.startswith("- ")]
    return found


def domain_intents() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "bot" / "assistant" / "domain").glob("*.yml"):
        names |= set(_yaml(path).get("intents") or [])
    return names


def test_every_file_declares_version_3_1() -> None:
    folders = ["nlu", "stories", "bot/assistant/domain", "tests/conversations"]
    for path in (p for folder in folders for p in (ROOT / folder).glob("*.yml")):
        assert _yaml(path)["version"] == "3.1", path


def test_the_domain_and_the_data_cover_the_contract() -> None:
    assert domain_intents() == set(CONTRACT) | BUTTONS_ONLY
    assert set(examples()) == set(CONTRACT)


@pytest.mark.parametrize("intent", CONTRACT)
def test_enough_examples(intent: str) -> None:
    need = 30 if intent in SMALLTALK else 60
    assert len(examples()[intent]) >= need


def test_no_example_is_repeated_even_without_diacritics() -> None:
    seen: Counter[str] = Counter()
    for lines in examples().values():
        seen.update(vi.fold(ANNOTATION.sub(r"\1", line)) for line in lines)
    assert [text for text, count in seen.items() if count > 1] == []


def test_no_two_intents_share_what_the_model_sees() -> None:
    """After folding and expanding abbreviations ("ko" = "không"), intents stay apart."""
    owners: dict[str, set[str]] = defaultdict(set)
    for intent, lines in examples().items():
        for line in lines:
            owners[vi.key(ANNOTATION.sub(r"\1", line))].add(intent)
    assert {key: who for key, who in owners.items() if len(who) > 1} == {}


def test_examples_are_typed_both_ways() -> None:
    """Each domain intent has examples with and without diacritics, so both are learned."""
    for intent, lines in examples().items():
        if intent in SMALLTALK:
            continue
        plain = sum(1 for line in lines if vi.strip_diacritics(line) == line)
        assert 0.2 <= plain / len(lines) <= 0.6, intent


def test_only_the_location_entity_is_annotated() -> None:
    labels = Counter(
        m.group(2)
        for lines in examples().values()
        for line in lines
        for m in ANNOTATION.finditer(line)
    )
    assert set(labels) == {"location"}
    assert labels["location"] >= 150
