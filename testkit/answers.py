"""Scoring the answer test set (issue 13): which answer each message gets, against its label.

Shared by ``make bench-answers`` (the table and bench/results/answers.json) and the test that
guards the measured share in ``make test``. A message is parsed by a running Rasa
(``/model/parse``), matched against the bank in a database holding the demo content, and
routed exactly as the action server routes it (``bot.content.bank.route.decide``); its label
is ``intent:<name>``, ``bank:<key>``, ``emergency``, ``foreign`` or ``none``. A question back
(which of two topics, or "is it one of these?") is right when the expected answer is among its
choices, and is counted apart ("asked") when it is not, or when the message had no answer:
it is neither a right answer nor a wrong one, and a "none" message asked about was not declined.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from bot import text as vi
from bot.clock import utcnow
from bot.content.areas import understand
from bot.content.bank import store as bank
from bot.content.bank.index import Hit
from bot.content.bank.route import ASK, BANK, DANGER, FOREIGN, INTENT, WHICH, Route, decide

ROOT = Path(__file__).resolve().parent.parent
CASE_FILES = sorted((ROOT / "testkit" / "data").glob("answers-*.yml"))
NONE = "none"
VARIANTS = ("written", "stripped")
# Two halves of the set, fixed by a hash of each message: change the matching by looking at
# the "tune" half's mistakes only; the "check" half shows whether the change generalises.
HALVES = ("tune", "check")

Parse = Callable[[str], dict[str, Any]]  # text → Rasa's /model/parse JSON


@dataclass(frozen=True)
class Case:
    text: str
    expect: tuple[str, ...]

    @property
    def declines(self) -> bool:
        return self.expect == (NONE,)


def half(case: Case) -> str:
    """The case's half: from its text alone, so every run and every machine splits alike."""
    return HALVES[hashlib.sha256(case.text.encode()).digest()[0] % 2]


def load_cases(paths: list[Path] | None = None) -> list[Case]:
    cases: list[Case] = []
    for path in paths or CASE_FILES:
        for raw in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            expect = raw["expect"] if isinstance(raw["expect"], list) else [raw["expect"]]
            cases.append(Case(str(raw["text"]), tuple(str(e) for e in expect)))
    return cases


def label(route: Route) -> str:
    if route.kind == INTENT:
        return f"intent:{route.intent}"
    if route.kind == BANK:
        return f"bank:{route.entry}"
    if route.kind == DANGER:
        return "emergency"
    if route.kind == FOREIGN:
        return "foreign"
    if route.kind in (WHICH, ASK):
        offered = [f"bank:{hit.key}" for hit in route.hits] if route.kind == ASK else []
        offered += [f"intent:{choice}" for choice in route.choices]
        return f"{route.kind}:" + "|".join(offered)
    return NONE


def route_message(
    text: str, parsed: dict[str, Any], session: Session, *, province: str
) -> tuple[Route, float]:
    """The route the action server would take, and the bank search's time in ms."""
    ranking = [(str(i["name"]), float(i["confidence"])) for i in parsed.get("intent_ranking") or []]
    if not ranking and parsed.get("intent"):
        ranking = [(str(parsed["intent"]["name"]), float(parsed["intent"]["confidence"]))]
    typed = [str(e["value"]) for e in parsed.get("entities") or [] if e["entity"] == "location"]
    asked = understand(text, province=province, typed=typed)
    now = utcnow()

    def search(words: str) -> list[Hit]:
        return bank.search(session, words, at=now, province=province)

    started = time.perf_counter()
    hits = search(text)
    spent = (time.perf_counter() - started) * 1000
    named = asked.said_now or asked.unknown
    return decide(text, ranking, hits, place=named, search=search), spent


@dataclass
class Score:
    """Shares over one variant of the set (as written, or with diacritics stripped)."""

    total: int = 0
    right: int = 0  # answered right, or the right answer among the choices of a question back
    right_asked: int = 0  # … of which by a question back
    wrong: int = 0  # answered, but not with what the label says (the harm)
    declined: int = 0  # "none" said to a message that had an answer
    asked: int = 0  # a question back without the right answer among its choices
    none_cases: int = 0
    none_right: int = 0
    search_ms: list[float] = field(default_factory=list)
    by_label: Counter[str] = field(default_factory=Counter)  # right answers per expected kind
    label_total: Counter[str] = field(default_factory=Counter)
    mistakes: list[dict[str, Any]] = field(default_factory=list)

    def add(self, case: Case, got: str, spent: float) -> None:
        self.total += 1
        self.search_ms.append(spent)
        kind = case.expect[0].split(":")[0]
        self.label_total[kind] += 1
        if case.declines:
            self.none_cases += 1
        kind_of_reply, _, offered = got.partition(":")
        if kind_of_reply in (WHICH, ASK):
            if case.declines or not any(o in case.expect for o in offered.split("|")):
                self.asked += 1
                self.mistakes.append({"text": case.text, "expect": list(case.expect), "got": got})
                return
            self.right_asked += 1
            got = case.expect[0]
        if got in case.expect:
            self.right += 1
            self.by_label[kind] += 1
            self.none_right += case.declines
            return
        if got == NONE:
            self.declined += 1
        else:
            self.wrong += 1
        self.mistakes.append({"text": case.text, "expect": list(case.expect), "got": got})

    def shares(self) -> dict[str, float]:
        n = max(self.total, 1)
        return {
            "right": round(self.right / n, 4),
            "right_by_asking": round(self.right_asked / n, 4),
            "wrongly_answered": round(self.wrong / n, 4),
            "declined_instead": round(self.declined / n, 4),
            "asked_without_the_answer": round(self.asked / n, 4),
            "none_correctly_declined": round(self.none_right / max(self.none_cases, 1), 4),
            **{
                f"right_{kind}": round(self.by_label[kind] / total, 4)
                for kind, total in sorted(self.label_total.items())
            },
        }


def score(cases: list[Case], parse: Parse, session: Session, *, province: str) -> dict[str, Score]:
    """Each variant's score: the message as written and with its diacritics stripped.

    Each distinct text is parsed once: a message written without diacritics is the same text
    in both variants (about a third of the set), and Rasa reads the same text the same way.
    """
    scores = {variant: Score() for variant in VARIANTS}
    readings: dict[str, dict[str, Any]] = {}
    for case in cases:
        for variant in VARIANTS:
            text = case.text if variant == "written" else vi.strip_diacritics(case.text)
            if text not in readings:
                readings[text] = parse(text)
            route, spent = route_message(text, readings[text], session, province=province)
            scores[variant].add(case, label(route), spent)
    return scores
