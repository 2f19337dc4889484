"""The answer test set (issue 13) stays fair: well-formed, and never part of what Loa learned from.

A test message that also sits in nlu/ or in the question bank's own phrasings measures memory,
not understanding. The comparison is made on the folded, abbreviation-expanded key
(``bot.text.key``), so "Ko đc à?" in the test set and "khong duoc a" in nlu/ count as the same
message. The set comes in two files written by different people: the intents part and the
question bank part; both are checked alike, and no message may appear in both.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from difflib import SequenceMatcher
from pathlib import Path

import pytest
import yaml

from bot import text as vi

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "testkit" / "data"
INTENTS = DATA / "answers-intents.yml"
BANK = DATA / "answers-bank.yml"
SETS = [INTENTS, BANK]
BANK_FILES = sorted((ROOT / "bot" / "content" / "demo").glob("questions-*.yml"))
ANNOTATION = re.compile(r"\[([^\]]+)\]\(\w+\)")
KINDS = {"emergency", "foreign", "none"}
# Above this similarity of keys a test message is a training example with a word changed.
NEAR = 0.85


def _cases(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]


def _all_cases() -> list[dict]:
    return [case for path in SETS for case in _cases(path)]


def _labels(case: dict) -> list[str]:
    expect = case["expect"]
    return expect if isinstance(expect, list) else [expect]


def _domain_intents() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "bot" / "assistant" / "domain").glob("*.yml"):
        names |= set(yaml.safe_load(path.read_text(encoding="utf-8")).get("intents", []))
    return names


def _spoken_intents() -> set[str]:
    """The intents people say in words (with examples in nlu/); the others are sent by
    buttons only (choose_answer, rate_answer, help_request_choose)."""
    names: set[str] = set()
    for path in (ROOT / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            if "intent" in block:
                names.add(block["intent"])
    return names & _domain_intents()


def _bank_entries() -> list[dict]:
    entries: list[dict] = []
    for path in BANK_FILES:
        entries += yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]
    return entries


def _training_keys() -> dict[str, str]:
    """Every nlu/ example by its key (annotations reduced to their words)."""
    keys: dict[str, str] = {}
    for path in sorted((ROOT / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            for line in block.get("examples", "").splitlines():
                if line.startswith("- "):
                    example = ANNOTATION.sub(r"\1", line[2:])
                    keys[vi.key(example)] = f"{path.name}: {example}"
    return keys


def _bank_phrasing_keys() -> dict[str, str]:
    """Every phrasing of the bank by its key, naming only the entry.

    The bank part of the test set was written without reading these phrasings; a failure names
    the entry, not the phrasing, so that fixing a case does not mean reading them.
    """
    return {
        vi.key(phrasing): f"bank entry {entry['key']}"
        for entry in _bank_entries()
        for phrasing in entry["questions"]
    }


def _near_copies(cases: Iterable[dict], known: dict[str, str]) -> list[tuple[str, str]]:
    """The cases whose key is at least ``NEAR`` similar to a known key (difflib's ratio)."""
    by_length: dict[int, list[tuple[str, str]]] = {}
    for key, origin in known.items():
        by_length.setdefault(len(key), []).append((key, origin))
    matcher = SequenceMatcher(autojunk=False)
    near = []
    for case in cases:
        text = vi.key(case["text"])
        matcher.set_seq2(text)
        for length, keys in by_length.items():
            # The cheap upper bounds first: lengths alone (difflib's real_quick_ratio, for a
            # whole group of keys at once), then letter counts; the full ratio only for the
            # few that could pass.
            if 2 * min(length, len(text)) < NEAR * (length + len(text)):
                continue
            for key, origin in keys:
                matcher.set_seq1(key)
                if matcher.quick_ratio() >= NEAR and matcher.ratio() >= NEAR:
                    near.append((case["text"], origin))
    return near


def test_the_bank_files_are_found() -> None:
    """Without them every bank label would look unknown and the copy checks would pass empty."""
    assert len(BANK_FILES) >= 2 and len(_bank_entries()) >= 130


@pytest.mark.parametrize("path", SETS, ids=lambda path: path.stem)
def test_every_case_has_text_and_a_known_label(path: Path) -> None:
    known = (
        KINDS
        | {f"intent:{name}" for name in _domain_intents()}
        | {f"bank:{entry['key']}" for entry in _bank_entries()}
    )
    for case in _cases(path):
        assert set(case) == {"text", "expect"}, case
        assert isinstance(case["text"], str) and case["text"].strip(), case
        labels = _labels(case)
        assert labels and len(set(labels)) == len(labels), case
        assert set(labels) <= known, case


def test_no_message_is_repeated() -> None:
    """Within each file and across the two: a message counted twice weighs twice in the score."""
    counts = Counter(vi.key(case["text"]) for case in _all_cases())
    assert [key for key, count in counts.items() if count > 1] == []


@pytest.mark.parametrize("path", SETS, ids=lambda path: path.stem)
def test_no_message_is_a_training_example(path: Path) -> None:
    training = _training_keys()
    copied = [
        (case["text"], training[vi.key(case["text"])])
        for case in _cases(path)
        if vi.key(case["text"]) in training
    ]
    assert copied == []


@pytest.mark.parametrize("path", SETS, ids=lambda path: path.stem)
def test_no_message_is_a_training_example_with_a_word_changed(path: Path) -> None:
    assert _near_copies(_cases(path), _training_keys()) == []


@pytest.mark.parametrize("path", SETS, ids=lambda path: path.stem)
def test_no_message_is_a_bank_phrasing(path: Path) -> None:
    phrasings = _bank_phrasing_keys()
    copied = [
        (case["text"], phrasings[vi.key(case["text"])])
        for case in _cases(path)
        if vi.key(case["text"]) in phrasings
    ]
    assert copied == []


@pytest.mark.parametrize("path", SETS, ids=lambda path: path.stem)
def test_no_message_is_a_bank_phrasing_with_a_word_changed(path: Path) -> None:
    assert _near_copies(_cases(path), _bank_phrasing_keys()) == []


def test_the_intents_part_is_large_enough_for_every_label() -> None:
    """At least the sizes issue 13 asks for, counting cases with a single expected answer."""
    cases = _cases(INTENTS)
    single = Counter(labels[0] for labels in map(_labels, cases) if len(labels) == 1)
    assert len(cases) >= 230
    assert single["emergency"] >= 30 and single["foreign"] >= 12 and single["none"] >= 60
    topics = "lockdown_status alert_level prevention symptoms support_scheme".split()
    for name in [f"ask_{topic}" for topic in topics] + ["report_symptoms"]:
        assert single[f"intent:{name}"] >= 10, name
    for name in _spoken_intents() - {"affirm", "deny", "out_of_scope", "inform_place"}:
        assert single[f"intent:{name}"] >= 8, name


def test_the_bank_part_covers_the_bank_and_its_gaps() -> None:
    """Enough entries to measure the bank as a whole, and enough declines to catch overconfidence.

    The most-asked topics get more than one message each, so a weak topic shows in the score.
    """
    cases = _cases(BANK)
    single = Counter(labels[0] for labels in map(_labels, cases) if len(labels) == 1)
    covered = {
        label.removeprefix("bank:")
        for case in cases
        for label in _labels(case)
        if label.startswith("bank:")
    }
    assert len(cases) >= 230
    assert sum(n for label, n in single.items() if label.startswith("bank:")) >= 180
    assert single["none"] >= 40
    assert len(covered) >= 130
    topic = {entry["key"]: entry["topic"] for entry in _bank_entries()}
    per_topic: Counter[str] = Counter()
    for label, count in single.items():
        if label.startswith("bank:"):
            per_topic[topic[label.removeprefix("bank:")]] += count
    for name in ("isolation", "testing", "vaccination", "rumour"):
        assert per_topic[name] > Counter(topic.values())[name], name
