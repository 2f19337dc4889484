"""Which answer a message gets: a fixed intent, a bank entry, the emergency line, or an honest
"I don't know".

Rasa's classifier knows eighteen intents; people ask far more. Its answer is used only when it
is confident *and* the message is really about that intent's topic (``route.yml`` lists the
topic words); otherwise the question bank decides, and below its threshold Loa says it does not
know. A message about another everyday subject altogether (a storm's level, a telecom's hotline,
a bank's loan: ``route.yml``, ``elsewhere``) is answered by neither. Whatever anything else says,
a danger sign (triage: call 115) comes first. The thresholds
were chosen with ``make bench-answers`` on a test set written apart from the training data and
the bank; the issue note has the table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from bot import text as vi
from bot.content.bank.index import Hit, tokens
from bot.content.triage import DEFAULT_THRESHOLDS, EMERGENCY, Thresholds, assess

ROUTE_FILE = Path(__file__).with_name("route.yml")

INTENT, BANK, DANGER, FOREIGN, UNKNOWN = "intent", "bank", "danger", "foreign", "unknown"
WHICH = "which"  # two topics in one message, equally likely: ask which, with buttons
ASK = "ask"  # not sure enough to answer: "is it one of these?", with buttons and "none of them"

FALLBACK = "nlu_fallback"  # Rasa's FallbackClassifier: no intent was confident enough
OUT_OF_SCOPE = "out_of_scope"
PLACE_ALONE = "inform_place"  # a place named alone continues the question before it
SMALLTALK = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge"})
REPORT_SYMPTOMS = "report_symptoms"
# A person's own need or symptoms now: heard even when another subject is named ("nhà bị ngập,
# hết gạo rồi"); the other subject does not decide for them.
HEARD_ANYWAY = SMALLTALK | {REPORT_SYMPTOMS, "request_help"}
# Topics a button can answer without the message's words (offered when a message mixes two).
ASKABLE = frozenset(
    {
        "ask_lockdown_status",
        "ask_alert_level",
        "ask_prevention",
        "ask_symptoms",
        "ask_support_scheme",
        "ask_hotline",
        "request_help",
        "subscribe_alerts",
    }
)
# Topics offered when Loa is unsure what was asked: those a button answers, those that need
# nothing but the sender (their own requests, their own subscriptions), and those whose button
# only asks before anything is done (forgetting the person asks to confirm; a false-information
# report asks for the details). Not unsubscribing: its button would end a subscription at once.
OFFERABLE = ASKABLE | {
    "check_request_status",
    "ask_subscriptions",
    "forget_me",
    "report_false_info",
}
# Questions about a place: a place named with Rasa's confident intent is on topic ("còn phường
# Đông Kinh thì sao?" after a lockdown question).
PLACE_INTENTS = frozenset(
    {"ask_lockdown_status", "ask_alert_level", "ask_hotline", "ask_support_scheme"}
)


@dataclass(frozen=True)
class Limits:
    """The cut-offs of the decision (cosine for the bank, Rasa's confidence for intents),
    chosen on the answer test set's "tune" half (offline replay, ``bench.answers_offline``)
    for the most right answers with at most 3 % wrong ones; the "check" half tells whether
    they generalise. Rasa's DIET is very sure of what it knows: a topic intent on its topic
    was right 188 times in 230 at 0.98 or more, and 24 times in 103 below. Since the bank has
    4–5 more phrasings per entry its scores run higher, and with the question back (ASK) a
    fair match need not be answered: ``bank_low`` 0.42 → 0.55, ``bank`` 0.56 → 0.6,
    ``bank_over`` 0.56 → 0.58 took the tune half from 0.861 right / 0.040 wrong to 0.865 /
    0.008 (check half 0.844 / 0.044 → 0.844 / 0.029); the issue note has the table."""

    intent: float = 0.98  # a confident intent on its topic is answered by that intent …
    intent_low: float = 0.98  # … (a less confident one could be, when the bank has nothing)
    bank: float = 0.6  # the bank answers from here …
    bank_low: float = 0.55  # … or from here when the next entry is ``margin`` behind
    margin: float = 0.08
    bank_over: float = 0.58  # … and over a confident intent from here
    close: float = 0.06  # a second entry this close to the best is offered as a button
    smalltalk: float = 0.9
    # … or from here when its own words are there ("Chào Loa, chúc buổi sáng tốt lành": greet
    # 0.70; "Cảm ơn Loa nhé, mình chào đây": thank 0.83; ``route.yml``, ``smalltalk``)
    smalltalk_said: float = 0.6
    # … and when Rasa's best smalltalk intent is unsure and its words are not there, another
    # smalltalk intent among its first ``said_among`` whose words are answers instead ("ê Loa,
    # có ở đấy không": bot_challenge 0.84, greet second with "có ở đấy không")
    said_among: int = 3
    # Symptoms described (triage finds one, or a reading) that nothing else would answer get
    # the triage from here rather than "Loa chưa biết": care advice for what was said is right
    # for whoever says it ("Ông nhà mình 72 tuổi, sốt nhẹ 37,8, …": report_symptoms 0.78)
    symptoms: float = 0.6
    mixed: float = 0.15  # two topical intents this close in confidence: ask which …
    mixed_min: float = 0.3  # … when the second is at least this likely
    # Not sure enough to answer: rather than "Loa chưa biết", ask whether it is one of the
    # entries scoring from ``ask_bank`` (within ``ask_window`` of the best) or Rasa's best
    # intent on its topic from ``ask_intent`` (and its second from ``ask_second``); at most
    # ``ask_most`` choices, the intents first.
    ask_bank: float = 0.35
    ask_window: float = 0.1
    ask_intent: float = 0.3
    ask_second: float = 0.2  # … and Rasa's second intent on its topic from here
    ask_most: int = 3


LIMITS = Limits()


@dataclass(frozen=True)
class Route:
    kind: str  # INTENT, BANK, DANGER, FOREIGN, WHICH, ASK or UNKNOWN
    intent: str | None = None  # Rasa's intent (INTENT: the one to answer)
    hits: tuple[Hit, ...] = ()  # BANK: the entry to answer first, then close ones to offer;
    # ASK: the entries to offer
    choices: tuple[str, ...] = ()  # WHICH, ASK: the intents to offer

    @property
    def entry(self) -> str | None:
        return self.hits[0].key if self.hits else None


@dataclass(frozen=True)
class Vocabulary:
    topics: dict[str, tuple[tuple[str, ...], ...]]  # intent → its topic phrases, as words
    smalltalk: dict[str, tuple[tuple[str, ...], ...]]  # smalltalk intent → its own phrases
    english: frozenset[str]
    elsewhere: tuple[tuple[str, ...], ...]  # phrases of other everyday subjects, as words
    epidemic: tuple[tuple[str, ...], ...]  # phrases that keep a message on Loa's subject …
    not_epidemic: tuple[tuple[str, ...], ...]  # … unless part of one of these ("dich vu")


@cache
def vocabulary() -> Vocabulary:
    raw = yaml.safe_load(ROUTE_FILE.read_text(encoding="utf-8"))
    topics = {
        intent: tuple(tuple(tokens(phrase)) for phrase in phrases)
        for intent, phrases in (raw.get("topics") or {}).items()
    }
    smalltalk = {
        intent: tuple(tuple(tokens(phrase)) for phrase in phrases)
        for intent, phrases in (raw.get("smalltalk") or {}).items()
    }
    elsewhere = tuple(
        tuple(tokens(str(phrase)))
        for phrases in (raw.get("elsewhere") or {}).values()
        for phrase in phrases
    )
    epidemic = tuple(tuple(tokens(str(phrase))) for phrase in raw.get("epidemic") or ())
    not_epidemic = tuple(tuple(tokens(str(phrase))) for phrase in raw.get("not_epidemic") or ())
    english = frozenset(vi.fold(w) for w in raw.get("english") or ())
    return Vocabulary(topics, smalltalk, english, elsewhere, epidemic, not_epidemic)


def _contains(words: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return n > 0 and any(
        tuple(words[i : i + n]) == tuple(phrase) for i in range(len(words) - n + 1)
    )


def _without(words: list[str], phrases: Sequence[tuple[str, ...]]) -> list[str]:
    """``words`` with every occurrence of ``phrases`` taken out, longest phrases first."""
    words = list(words)
    for phrase in sorted(phrases, key=len, reverse=True):
        n, i = len(phrase), 0
        while n and i + n <= len(words):
            if tuple(words[i : i + n]) == phrase:
                del words[i : i + n]
            else:
                i += 1
    return words


def beyond_topic(intent: str, text: str) -> str:
    """The message's words without ``intent``'s topic words ("khu nào bị phong tỏa" → "khu
    nào bị"): what it asks beyond that intent's topic."""
    return " ".join(_without(tokens(text), vocabulary().topics.get(intent, ())))


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
    return phrases is None or _names(text, phrases)


def said(intent: str, text: str) -> bool:
    """Whether ``text`` has the words of smalltalk ``intent`` ("cảm ơn" for thank)."""
    return _names(text, vocabulary().smalltalk.get(intent, ()))


def _names(text: str, phrases: Sequence[tuple[str, ...]]) -> bool:
    """Whether one of ``phrases`` is among ``text``'s matching words."""
    words = tokens(text)
    return any(_contains(words, phrase) for phrase in phrases)


def elsewhere(text: str) -> bool:
    """About another everyday subject: ``text`` names one (a storm, a telecom, a bank, a fine…)
    and no word of the epidemic."""
    words = tokens(text)
    if not any(_contains(words, p) for p in vocabulary().elsewhere):
        return False
    return not _epidemic(words)


def _epidemic(words: list[str]) -> bool:
    """Whether the matching words name the epidemic ("dịch", "F0", "phong tỏa"…; not "dịch
    vụ")."""
    known = vocabulary()
    rest = _without(words, known.not_epidemic)
    return any(_contains(rest, p) for p in known.epidemic)


_NOT_ASCII = re.compile(r"[^\x00-\x7f]")
# Letters of scripts Vietnamese never uses: CJK, kana, Hangul, Thai, Lao, Khmer, Cyrillic.
_OTHER_SCRIPT = re.compile(
    r"[\u0400-\u04ff\u0e00-\u0eff\u1780-\u17ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]"
)


def foreign(text: str) -> bool:
    """Not Vietnamese: letters of another script; or at least two English or French words (of
    those that are not also Vietnamese without diacritics) making up a fifth of the words and
    no Vietnamese letter at all; or three such words making up more than half of the words
    whatever the letters ("Bonjour, quel est le niveau d'alerte à Lạng Sơn ?": French shares
    "à", "é", "ê" with Vietnamese)."""
    if len(_OTHER_SCRIPT.findall(text)) >= 2:
        return True
    words = vi.words(text)
    known = vocabulary().english
    other = sum(1 for w in words if w in known)
    if other >= 3 and other * 2 > len(words):
        return True
    if any(vi.fold(ch) != ch.lower() for ch in _NOT_ASCII.findall(text) if ch.isalpha()):
        return False
    return other >= 2 and other * 5 >= len(words)


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
    search: Callable[[str], Sequence[Hit]] | None = None,
    limits: Limits | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Route:
    """The answer for one message: ``ranking`` is Rasa's (intent, confidence) list, best first;
    ``hits`` the bank's best entries for the text, best first; ``place``: the message names a
    place (or place words Loa does not know); ``search``: the bank's search, to weigh what a
    message asks beyond a sure intent's topic; ``limits``: ``LIMITS`` unless given."""
    limits = limits or LIMITS
    intent, confidence = top_intent(ranking)
    if text.lstrip().startswith("/"):  # a button: the person chose, nothing to guess
        return Route(INTENT, intent)
    if assess(text, thresholds).level == EMERGENCY:
        return Route(DANGER, intent)
    if foreign(text):
        return Route(FOREIGN, intent)
    if intent not in HEARD_ANYWAY and elsewhere(text):
        return Route(UNKNOWN, intent)  # looks like a topic of Loa's, is about something else
    best = hits[0].score if hits else 0.0
    bank = Route(BANK, intent, _offered(hits, limits)) if _sure(hits, limits) else None
    if intent in (FALLBACK, OUT_OF_SCOPE):
        return bank or _unsure(text, ranking, hits, place, limits, thresholds)
    if intent == PLACE_ALONE and _epidemic(tokens(text)):
        # A place with words of the epidemic is a question about it ("xưởng gỗ ở Bắc Sơn có ai
        # bị dương tính không"), not a place named alone to continue the question before it.
        return bank or _unsure(text, ranking, hits, place, limits, thresholds)
    if intent == PLACE_ALONE and place and bank is None:  # answers the question before it
        return Route(INTENT, intent)
    if intent in SMALLTALK or intent == PLACE_ALONE:
        if bank is not None:
            return bank
        if confidence >= limits.smalltalk:
            return Route(INTENT, intent)
        if confidence >= limits.smalltalk_said and said(intent, text):
            return Route(INTENT, intent)
        other = _said_instead(text, ranking, limits)
        if other is not None:
            return Route(INTENT, other)
        return _unsure(text, ranking, hits, place, limits, thresholds)
    topical = on_topic(intent, text, place=place, thresholds=thresholds)
    mixed = _mixed(text, ranking, place=place, limits=limits, thresholds=thresholds)
    if topical and mixed and bank is None:
        return Route(WHICH, intent, choices=(intent, mixed))
    if topical and confidence >= limits.intent and best < limits.bank_over:
        return Route(INTENT, intent)
    if topical and confidence >= limits.intent and search is not None:
        # The bank wins over a sure intent only with what the message asks beyond that
        # intent's topic: "khu nào bị phong tỏa" matches an entry about food in a locked-down
        # area through "phong tỏa" alone, and is the lockdown question all the same.
        rest = search(beyond_topic(intent, text))
        if not rest or rest[0].score < limits.bank_over:
            return Route(INTENT, intent)
    if bank is not None:
        return bank
    if topical and confidence >= limits.intent_low:
        return Route(INTENT, intent)
    unsure = _unsure(text, ranking, hits, place, limits, thresholds)
    symptoms = intent == REPORT_SYMPTOMS and topical and confidence >= limits.symptoms
    return Route(INTENT, intent) if unsure.kind == UNKNOWN and symptoms else unsure


def _unsure(
    text: str,
    ranking: Sequence[tuple[str, float]],
    hits: Sequence[Hit],
    place: bool,
    limits: Limits,
    thresholds: Thresholds,
) -> Route:
    """Neither an intent nor the bank is sure: ask whether the person meant one of the
    likeliest (ASK), or say honestly that Loa does not know (UNKNOWN) when nothing is close.
    Offering a choice says nothing wrong: the person picks, or says none of them."""
    intent = top_intent(ranking)[0]
    best = hits[0].score if hits else 0.0
    entries = tuple(
        h for h in hits if h.score >= limits.ask_bank and best - h.score <= limits.ask_window
    )
    ranked = [(name, conf) for name, conf in ranking if name != FALLBACK][:2]
    topics = tuple(
        name
        for rank, (name, conf) in enumerate(ranked)
        if name in OFFERABLE
        and conf >= (limits.ask_intent if rank == 0 else limits.ask_second)
        and on_topic(name, text, place=place, thresholds=thresholds)
    )
    level = "ask_alert_level"
    if place and level not in topics and _names(text, vocabulary().topics.get(level, ())):
        # A place named with the alert level's words ("tình hình dịch ở xã Hữu Lũng thế nào"):
        # its level is offered even when Rasa ranked it low. Not lockdowns: their words ("chợ",
        # "thôn", "đi lại") are everyday ones, and offering them asked about far more messages
        # that Loa cannot answer (a market's opening hours, a lorry queue at a border gate).
        topics = (*topics, level)[: limits.ask_most]
    entries = entries[: max(limits.ask_most - len(topics), 0)]
    if not entries and not topics:
        return Route(UNKNOWN, intent)
    return Route(ASK, intent, entries, topics)


def _said_instead(text: str, ranking: Sequence[tuple[str, float]], limits: Limits) -> str | None:
    """Another smalltalk intent whose own words the message has, when Rasa's best one is
    smalltalk without its words ("ê Loa, có ở đấy không": bot_challenge 0.84, greet 0.08 with
    "có ở đấy không"): the likeliest such one of Rasa's first ``said_among``. A greeting or a
    thank-you answered says nothing wrong."""
    ranked = [name for name, _ in ranking if name != FALLBACK][: limits.said_among]
    return next((name for name in ranked[1:] if name in SMALLTALK and said(name, text)), None)


def _mixed(
    text: str,
    ranking: Sequence[tuple[str, float]],
    *,
    place: bool,
    limits: Limits,
    thresholds: Thresholds,
) -> str | None:
    """The second topic of a message that asks about two ("số tổng đài hay đăng ký nhận tin"):
    Rasa is nearly as sure of it as of the first, and its words are there too."""
    ranked = [(name, conf) for name, conf in ranking if name != FALLBACK]
    if len(ranked) < 2:
        return None
    (first, conf1), (second, conf2) = ranked[0], ranked[1]
    if first not in ASKABLE or second not in ASKABLE:
        return None
    if conf2 < limits.mixed_min or conf1 - conf2 > limits.mixed:
        return None
    return second if on_topic(second, text, place=place, thresholds=thresholds) else None


def _sure(hits: Sequence[Hit], limits: Limits) -> bool:
    """The bank knows the answer: its best entry matches well, or fairly well and clearly
    better than the next one."""
    if not hits:
        return False
    best = hits[0].score
    second = hits[1].score if len(hits) > 1 else 0.0
    return best >= limits.bank or (best >= limits.bank_low and best - second >= limits.margin)


def _offered(hits: Sequence[Hit], limits: Limits) -> tuple[Hit, ...]:
    """The best entry, and the next ones when they are as good (asked about with buttons)."""
    best = hits[0]
    close = [
        h for h in hits[1:] if h.score >= limits.bank_low and best.score - h.score <= limits.close
    ]
    return (best, *close)
