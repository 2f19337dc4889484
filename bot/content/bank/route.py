"""Which answer a message gets: a fixed intent, a bank entry, the emergency line, or an honest
"I don't know".

Rasa's classifier knows eighteen intents; people ask far more. Its answer is used only when it
is confident *and* the message is really about that intent's topic (``route.yml`` lists the
topic words); otherwise the question bank decides, and below its threshold Loa says it does not
know. Whatever anything else says, a danger sign (triage: call 115) comes first. The thresholds
were chosen with ``make bench-answers`` on a test set written apart from the training data and
the bank; the issue note has the table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from bot import text as vi
from bot.content.bank.index import Hit, tokens
from bot.content.triage import DEFAULT_THRESHOLDS, EMERGENCY, Thresholds, assess

ROUTE_FILE = Path(__file__).with_name("route.yml")

INTENT, BANK, DANGER, FOREIGN, UNKNOWN = "intent", "bank", "danger", "foreign", "unknown"

FALLBACK = "nlu_fallback"  # Rasa's FallbackClassifier: no intent was confident enough
OUT_OF_SCOPE = "out_of_scope"
PLACE_ALONE = "inform_place"  # a place named alone continues the question before it
SMALLTALK = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge"})
REPORT_SYMPTOMS = "report_symptoms"
# Questions about a place: a place named with Rasa's confident intent is on topic ("còn phường
# Đông Kinh thì sao?" after a lockdown question).
PLACE_INTENTS = frozenset(
    {"ask_lockdown_status", "ask_alert_level", "ask_hotline", "ask_support_scheme"}
)


@dataclass(frozen=True)
class Limits:
    """The cut-offs of the decision (cosine for the bank, Rasa's confidence for intents)."""

    intent: float = 0.6  # a confident intent on its topic is answered by that intent …
    intent_low: float = 0.35  # … and a less confident one when the bank has nothing
    bank: float = 0.42  # the bank answers from here
    bank_over: float = 0.75  # … and over a confident intent from here
    close: float = 0.06  # a second entry this close to the best is offered as a button
    smalltalk: float = 0.5


LIMITS = Limits()


@dataclass(frozen=True)
class Route:
    kind: str  # INTENT, BANK, DANGER, FOREIGN or UNKNOWN
    intent: str | None = None  # Rasa's intent (INTENT: the one to answer)
    hits: tuple[Hit, ...] = ()  # BANK: the entry to answer first, then close ones to offer

    @property
    def entry(self) -> str | None:
        return self.hits[0].key if self.hits else None


@dataclass(frozen=True)
class Vocabulary:
    topics: dict[str, tuple[tuple[str, ...], ...]]  # intent → its topic phrases, as words
    english: frozenset[str]


@cache
def vocabulary() -> Vocabulary:
    raw = yaml.safe_load(ROUTE_FILE.read_text(encoding="utf-8"))
    topics = {
        intent: tuple(tuple(tokens(phrase)) for phrase in phrases)
        for intent, phrases in (raw.get("topics") or {}).items()
    }
    return Vocabulary(topics, frozenset(vi.fold(w) for w in raw.get("english") or ()))


def _contains(words: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return n > 0 and any(
        tuple(words[i : i + n]) == tuple(phrase) for i in range(len(words) - n + 1)
    )


def on_topic(
    intent: str, text: str, *, place: bool = False, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> bool:
    """Whether ``text`` is really about ``intent``'s topic (intents without topic words are);
    ``place``: the message names a place."""
    if place and intent in PLACE_INTENTS:
        return True
    if intent == REPORT_SYMPTOMS:
        triage = assess(text, thresholds)
        readings = (triage.spo2, triage.temperature, triage.breaths_per_minute)
        return bool(triage.symptoms or triage.signs or any(r is not None for r in readings))
    phrases = vocabulary().topics.get(intent)
    if phrases is None:
        return True
    words = tokens(text)
    return any(_contains(words, phrase) for phrase in phrases)


_DIACRITIC = re.compile(r"[^\x00-\x7f]")


def foreign(text: str) -> bool:
    """Written in English: no Vietnamese letter and at least two English words (of those that
    are not also Vietnamese without diacritics) making up a third of the words."""
    if any(vi.fold(ch) != ch.lower() for ch in _DIACRITIC.findall(text)):
        return False
    words = vi.words(text)
    english = sum(1 for w in words if w in vocabulary().english)
    return english >= 2 and english * 3 >= len(words)


def top_intent(ranking: Sequence[tuple[str, float]]) -> tuple[str, float]:
    """The best intent other than Rasa's fallback (which only says none was confident)."""
    for name, confidence in ranking:
        if name != FALLBACK:
            return name, confidence
    return FALLBACK, 0.0


def decide(
    text: str,
    ranking: Sequence[tuple[str, float]],
    hits: Sequence[Hit],
    *,
    place: bool = False,
    limits: Limits = LIMITS,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Route:
    """The answer for one message: ``ranking`` is Rasa's (intent, confidence) list, best first;
    ``hits`` the bank's best entries for the text, best first; ``place``: the message names a
    place (or place words Loa does not know)."""
    intent, confidence = top_intent(ranking)
    if text.lstrip().startswith("/"):  # a button: the person chose, nothing to guess
        return Route(INTENT, intent)
    if assess(text, thresholds).level == EMERGENCY:
        return Route(DANGER, intent)
    if foreign(text):
        return Route(FOREIGN, intent)
    best = hits[0].score if hits else 0.0
    bank = Route(BANK, intent, _offered(hits, limits)) if best >= limits.bank else None
    if intent in (FALLBACK, OUT_OF_SCOPE):
        return bank or Route(UNKNOWN, intent)
    if intent in SMALLTALK or intent == PLACE_ALONE:
        if bank is not None:
            return bank
        return Route(INTENT, intent) if confidence >= limits.smalltalk else Route(UNKNOWN, intent)
    topical = on_topic(intent, text, place=place, thresholds=thresholds)
    if topical and confidence >= limits.intent and best < limits.bank_over:
        return Route(INTENT, intent)
    if bank is not None:
        return bank
    if topical and confidence >= limits.intent_low:
        return Route(INTENT, intent)
    return Route(UNKNOWN, intent)


def _offered(hits: Sequence[Hit], limits: Limits) -> tuple[Hit, ...]:
    """The best entry, and the next ones when they are as good (asked about with buttons)."""
    best = hits[0]
    close = [h for h in hits[1:] if h.score >= limits.bank and best.score - h.score <= limits.close]
    return (best, *close)
