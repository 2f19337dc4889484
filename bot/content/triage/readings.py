"""Numbers in a message: SpO2, temperature ("39 độ 5"), breaths per minute and ages."""

# Numbers are read from the folded text (bot.text.fold) with chat abbreviations expanded
# (bot.text.expand) and punctuation kept ("SpO2: 92%", "39,5 độ"); the keywords and units are
# the reading_words of triage.yml.

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.content.triage.words import WORD, strings
from bot.text import expand, fold

# Plausible values; anything outside is a typo or another number and is ignored.
SPO2_RANGE = (50, 100)
TEMPERATURE_RANGE = (34.0, 43.0)
BREATHS_RANGE = (5, 100)
AGE_LIMIT = 120

GAP = 15  # characters allowed between a keyword ("spo2", "sốt") and its number
# SpO2 is the one reading people introduce with a whole phrase ("chỉ số SpO2 của con trai tôi
# là 94": 20 characters); the gap holds no digit, so a longer one cannot skip a number, and
# another reading's keyword or a sentence end still stops it.
SPO2_GAP = 30


@dataclass(frozen=True)
class Readers:
    """The compiled patterns that find each reading."""

    spo2: re.Pattern[str]
    temperature_after_keyword: re.Pattern[str]
    temperature_with_unit: re.Pattern[str]
    breaths_after_keyword: re.Pattern[str]
    breaths_per_minute: re.Pattern[str]
    pulse: re.Pattern[str]
    stop: re.Pattern[str]  # another reading's keyword inside a keyword-number gap
    age: re.Pattern[str]


@dataclass(frozen=True)
class Readings:
    """The worst of each reading in a message, and every age given."""

    spo2: int | None
    temperature: float | None
    breaths: int | None
    ages: tuple[int, ...]


def _regex_words(phrases: Iterable[str]) -> str:
    """An alternation of phrases, longest first; a space means optional spaces."""
    ordered = sorted(set(phrases), key=len, reverse=True)
    return "|".join(r"\s*".join(re.escape(part) for part in p.split()) for p in ordered)


def _keyword(phrases: Iterable[str]) -> str:
    return rf"(?<![a-z0-9])(?:{_regex_words(phrases)})(?![a-z])"


def compile_readers(words: Mapping[str, Any]) -> Readers:
    """The patterns for the reading_words section of triage.yml."""

    def alt(name: str) -> str:
        return _regex_words(strings(words, name))

    # Between a keyword and its number: nothing, or up to GAP characters without digits or a
    # sentence end, not ending in a letter ("sốt, SpO2 97": the "2" of "spo2" is not a
    # temperature).
    def gap_of(chars: int) -> str:
        return rf"(?P<gap>[^\d\n.;!?]{{0,{chars}}}[^a-z\d\n.;!?])?"

    gap, spo2_gap = gap_of(GAP), gap_of(SPO2_GAP)
    not_after = rf"(?!\s*(?:{alt('not_a_reading')})(?![a-z]))(?!\s*/\s*\d)"
    not_count = rf"(?!\s*(?:{alt('counts')})(?![a-z]))"
    units = alt("temperature_units")
    # "39 độ 5" = 39.5, "39 độ rưỡi" = 39.5; the digit after the unit is a tenth unless a
    # duration or another unit follows it ("39 độ 5 ngày").
    tenth = rf"(?P<tenth>\d)(?![\d%])(?![.,]\d){not_after}(?!\s*(?:{units}))"
    half = rf"(?P<half>{alt('half')})(?![a-z])"
    temperature = r"(?P<value>\d{2}(?:[.,]\d{1,2})?)(?!\d)"
    with_unit = rf"\s*(?:{units})(?![a-z])"
    pulse_words = strings(words, "pulse")
    stop_words = (
        strings(words, "spo2")
        + strings(words, "temperature")
        + strings(words, "breaths")
        + pulse_words
    )
    flags = re.ASCII
    return Readers(
        spo2=re.compile(
            _keyword(strings(words, "spo2"))
            + spo2_gap
            + r"(?P<value>\d{1,3}(?:[.,]\d{1,2})?)(?!\d)"
            + not_after
            + not_count,
            flags,
        ),
        temperature_after_keyword=re.compile(
            _keyword(strings(words, "temperature"))
            + gap
            + temperature
            + rf"(?:{with_unit}\s*{tenth}|(?:{with_unit})?\s*{half})?"
            + not_after
            + not_count,
            flags,
        ),
        temperature_with_unit=re.compile(
            r"(?<![\w/.,])"
            + temperature
            + with_unit
            + rf"(?:\s*{tenth}|\s*{half})?"
            + not_after
            + not_count,
            flags,
        ),
        breaths_after_keyword=re.compile(
            _keyword(strings(words, "breaths"))
            + gap
            + r"(?P<value>\d{1,3})(?!\d)(?![.,]\d)"
            + not_after,
            flags,
        ),
        breaths_per_minute=re.compile(
            r"(?<![\w/.,])(?P<value>\d{1,3})(?![.,]\d)\s*" + rf"(?:{alt('per_minute')})(?![a-z])",
            flags,
        ),
        pulse=re.compile(_keyword(pulse_words), flags),
        stop=re.compile(_keyword(stop_words), flags),
        age=re.compile(rf"(?<![\w/.,])(?P<value>\d{{1,3}})\s*(?:{alt('age')})(?![a-z])", flags),
    )


def _number_text(text: str) -> str:
    """Folded text with abbreviations expanded and punctuation kept: "SpO2: 92%"."""
    return WORD.sub(lambda match: expand(match.group()), fold(text))


def _scan(pattern: re.Pattern[str], text: str, stop: re.Pattern[str]) -> list[re.Match[str]]:
    """All matches, overlapping, skipping those whose keyword gap holds another keyword."""
    found = []
    position = 0
    while (match := pattern.search(text, position)) is not None:
        gap = match.groupdict().get("gap")
        if not (gap and stop.search(gap)):
            found.append(match)
        position = match.start() + 1
    return found


def _decimal(value: str) -> float:
    return float(value.replace(",", "."))


def _temperature(match: re.Match[str]) -> float:
    value = _decimal(match.group("value"))
    tenth = match.group("tenth")
    if tenth is not None and value.is_integer():
        value += int(tenth) / 10
    elif match.group("half") is not None and value.is_integer():
        value += 0.5
    return round(value, 2)


def read_numbers(text: str, readers: Readers) -> Readings:
    """The worst of each reading: lowest SpO2, highest temperature, fastest breathing."""
    numbers = _number_text(text)
    spo2 = [int(_decimal(m.group("value"))) for m in _scan(readers.spo2, numbers, readers.stop)]
    temperatures = [
        _temperature(m)
        for reader in (readers.temperature_after_keyword, readers.temperature_with_unit)
        for m in _scan(reader, numbers, readers.stop)
    ]
    breaths = [
        int(m.group("value")) for m in _scan(readers.breaths_after_keyword, numbers, readers.stop)
    ]
    for match in _scan(readers.breaths_per_minute, numbers, readers.stop):
        # Context since the previous number: "mạch 110 lần/phút" is a pulse.
        context = re.split(r"\d", numbers[max(0, match.start() - 30) : match.start()])[-1]
        if not readers.pulse.search(context):
            breaths.append(int(match.group("value")))
    ages = tuple(int(m.group("value")) for m in readers.age.finditer(numbers))
    spo2 = [v for v in spo2 if SPO2_RANGE[0] <= v <= SPO2_RANGE[1]]
    temperatures = [v for v in temperatures if TEMPERATURE_RANGE[0] <= v <= TEMPERATURE_RANGE[1]]
    breaths = [v for v in breaths if BREATHS_RANGE[0] <= v <= BREATHS_RANGE[1]]
    return Readings(
        spo2=min(spo2, default=None),
        temperature=max(temperatures, default=None),
        breaths=max(breaths, default=None),
        ages=tuple(age for age in ages if age <= AGE_LIMIT),
    )
