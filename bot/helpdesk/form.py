"""Reading the answers of the help-request form: needs, people, yes/no, skip, cancel; and the
pieces its messages are made of (need labels, statuses, a phone as people read it).

The conversation (``actions/help_request.py``) asks; this module understands. Every word list
is data (``form.yml``), matched on ``bot.text.key`` (no diacritics, abbreviations expanded),
so "gạo", "GAO" and "gao a" read alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from bot import text as vi
from bot import wording
from bot.content.triage import DEFAULT_THRESHOLDS, EMERGENCY, URGENT, Thresholds, Triage, assess
from bot.helpdesk import requests
from bot.helpdesk.requests import MAX_DESCRIPTION, MAX_PEOPLE, normal_code
from bot.helpdesk.urgency import Urgency
from bot.storage.helpdesk import MEDICINE, NEEDS, OXYGEN_TRANSPORT

DATA_FILE = Path(__file__).with_name("form.yml")
# Typed commands that end the form too; Telegram's /stop arrives as /unsubscribe_alerts
# (connectors/telegram/inbound.py), and inside the form it means "stop this".
CANCEL_COMMANDS = ("/stop", "/cancel", "/huy", "/unsubscribe_alerts")
ELLIPSIS = "…"
_DIGITS = re.compile(r"\d+")
_CODE_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])HT[\s._-]*\d{2}[\s._-]*\d{1,7}(?!\d)", re.IGNORECASE)


@cache
def _data() -> dict[str, Any]:
    return wording.load(DATA_FILE)


@cache
def _keys(name: str) -> frozenset[str]:
    """A word list of form.yml, as matching keys."""
    return frozenset(vi.key(str(w)) for w in _data()[name])


@cache
def _need_words() -> tuple[tuple[tuple[str, ...], str], ...]:
    """(words of a phrase, need), longest phrase first: "xe cấp cứu" before "xe"."""
    phrases = [
        (tuple(vi.key(str(w)).split()), need)
        for need, spec in _data()["needs"].items()
        for w in spec["words"]
    ]
    return tuple(sorted(phrases, key=lambda p: -len(p[0])))


def _is(text: str, name: str) -> bool:
    said = vi.key(text)
    return bool(said) and said in _keys(name)


def is_cancel(text: str) -> bool:
    """The whole answer asks to stop: "thôi", "hủy", "dừng lại", "/stop"…"""
    command = text.strip().lower()
    return command.startswith(CANCEL_COMMANDS) or _is(text, "cancel")


def is_done(text: str) -> bool:
    """ "Xong": no more needs to add."""
    return _is(text, "done")


def yes_no(text: str) -> bool | None:
    """True for "có", "đồng ý"…; False for "không"…; None when it is neither."""
    if _is(text, "agree"):
        return True
    if _is(text, "refuse"):
        return False
    return None


def is_skip(text: str) -> bool:
    """ "bỏ qua", "không có": an optional answer left out."""
    return _is(text, "skip")


def is_no_phone(text: str) -> bool:
    return _is(text, "no_phone")


def says_alone(text: str) -> bool:
    """Whether the words say someone is alone ("ở một mình"), a fact of urgency.yml."""
    said = f" {vi.key(text)} "
    return any(f" {w} " in said for w in _keys("alone"))


def needs_in(text: str) -> tuple[str, ...]:
    """The needs the words name ("gạo và thuốc" → food, medicine), in the order of NEEDS."""
    words = vi.key(text).split()
    found: set[str] = set()
    i = 0
    while i < len(words):
        for phrase, need in _need_words():
            if tuple(words[i : i + len(phrase)]) == phrase:
                found.add(need)
                i += len(phrase)
                break
        else:
            i += 1
    return tuple(n for n in NEEDS if n in found)


def people_count(text: str) -> int | None:
    """How many people an answer says: "4", "2 người", "hai", "nhà 5 người", "một mình".
    None when it says no number, or one outside 1…MAX_PEOPLE."""
    words = vi.key(text).split()
    if says_alone(text):
        return 1
    numbers = [int(d) for d in _DIGITS.findall(" ".join(words))]
    if not numbers:
        named = {vi.key(k): int(v) for k, v in _data()["numbers"].items()}
        people = _keys("people_words")
        for n, word in enumerate(words):
            next_word = words[n + 1] if n + 1 < len(words) else ""
            # A number word alone, or before "người": "ba" alone is three, "ba tôi" is a father.
            if word in named and (len(words) == 1 or next_word in people):
                numbers.append(named[word])
                break
    if len(numbers) != 1 or not 1 <= numbers[0] <= MAX_PEOPLE:
        return None
    return numbers[0]


def trim_description(text: str) -> tuple[str, bool]:
    """The description cleaned and cut to what a request keeps; whether it was cut."""
    cleaned = vi.clean(text)
    if len(cleaned) <= MAX_DESCRIPTION:
        return cleaned, False
    return cleaned[: MAX_DESCRIPTION - len(ELLIPSIS)].rstrip() + ELLIPSIS, True


def has_words(text: str) -> bool:
    """At least a letter or a digit: an answer of emoji alone says nothing."""
    return vi.has_words(text)


def need_label(need: str) -> str:
    return str(_data()["needs"][need]["label"])


def needs_text(needs: Iterable[str]) -> str:
    return ", ".join(need_label(n) for n in needs)


def status_text(status: str) -> str:
    return str(_data()["statuses"].get(status, status))


def phone_problem(reason: str | None) -> str:
    problems: dict[str, str] = _data()["phone_problems"]
    return problems.get(reason or "", problems["not_a_number"])


def field_name(field: str) -> str:
    return str(_data()["fields"][field])


def piece(name: str, **values: Any) -> str:
    """A piece of the form's messages (form.yml ``pieces``) with ``values`` filled in."""
    return str(_data()["pieces"][name]).format(**values)


def find_code(text: str) -> str | None:
    """The first request code in a message ("mã HT-26-000123 sao rồi", "ht 26 123"), as
    stored; None when there is none."""
    match = _CODE_IN_TEXT.search(text)
    return normal_code(match.group(0)) if match else None


def phone_as_read(number: str) -> str:
    """A national number grouped as people say it: 0912 345 678, 0205 3812 345."""
    return f"{number[:4]} {number[4:7]} {number[7:]}"


# What a triage that ended the conversation before the request already says is needed.
PREFILLED = {EMERGENCY: (OXYGEN_TRANSPORT,), URGENT: (MEDICINE,)}


def prefilled_needs(triaged: str, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> tuple[str, ...]:
    """The needs a triaged message implies: a danger sign → oxygen or emergency transport;
    see a doctor today → medicine or medical care; otherwise none."""
    return PREFILLED.get(assess(triaged, thresholds).level, ())


def urgency_of(
    *,
    triaged: Iterable[str],
    description: str,
    needs: Iterable[str],
    people: int,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Urgency:
    """The request's urgency (urgency.yml) from everything the person said: the triaged
    messages before the form and the description (the worse of their triages, the risk groups
    of both), the needs, how many people, and whether someone is alone."""
    found = [assess(t, thresholds) for t in (*triaged, description) if t.strip()]
    order = (EMERGENCY, URGENT)
    worst: Triage | None = min(
        found, key=lambda t: order.index(t.level) if t.level in order else len(order), default=None
    )
    groups = {g for t in found for g in t.risk_groups}
    return requests.urgency(
        triage=worst,
        needs=needs,
        people_count=people,
        risk_groups=sorted(groups),
        alone=says_alone(description),
    )
