"""Danger-sign triage of a free-text message: signs, risk groups and readings → call 115 or not."""

# Rules (Bộ Y tế guidance 2020–2022; QĐ 4038/QĐ-BYT of 21/8/2021 allowed home care only for
# mild cases with breathing ≤ 20/min and SpO2 ≥ 96 %):
#
# - EMERGENCY (call 115 now): any danger sign (difficulty breathing, chest pain or tightness,
#   confusion or drowsiness, bluish lips, convulsions, fast heart rate, low blood pressure; in a
#   child also abnormal breathing or not feeding); or SpO2 < 96 %; or more than 25 breaths/min;
#   or, for a pregnant woman, an elderly person, someone with a chronic illness or a child,
#   SpO2 < 97 % or more than 20 breaths/min (a lower threshold for risk groups).
# - URGENT (contact the health station / seek care today): a risk group with any symptom or a
#   fever; or a temperature ≥ 39.5 °C; or more than 20 breaths/min.
# - HOME_CARE otherwise. Paracetamol advice from 38.5 °C.
#
# Every Vietnamese word (patterns, negations, labels) is in triage.yml next to this module. The
# matching runs on the folded text (bot.text.fold) with chat abbreviations expanded
# (bot.text.expand), word by word, inside one clause. Numbers are read from the same folded,
# expanded text with punctuation kept ("SpO2: 92%", "39,5 độ").

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.text import expand, fold, key, normalize

EMERGENCY = "emergency"
URGENT = "urgent"
HOME_CARE = "home_care"

DATA_FILE = Path(__file__).with_name("triage.yml")

# Plausible values; anything outside is a typo or another number and is ignored.
SPO2_RANGE = (50, 100)
TEMPERATURE_RANGE = (34.0, 43.0)
BREATHS_RANGE = (5, 100)
AGE_LIMIT = 120

NUMBER = "#"  # in a pattern: any number token
NEGATION_WINDOW = 2  # words before a sign that can negate it (fillers not counted)
GAP = 15  # characters allowed between a keyword ("spo2", "sốt") and its number

# Risk group codes with a meaning in the rules.
CHILD = "child"
ELDERLY = "elderly"


@dataclass(frozen=True)
class Thresholds:
    """Where readings cross into emergency or urgent; defaults from QĐ 4038/QĐ-BYT."""

    spo2_below: int = 96  # SpO2 below this → call 115 (home care only with SpO2 ≥ 96 %)
    spo2_below_at_risk: int = 97  # lower threshold to seek care for risk groups
    breaths_above: int = 25  # adult breaths/min above this → 115
    breaths_above_at_risk: int = 20  # QĐ 4038: home care only with ≤ 20/min
    fever_medicine_from: float = 38.5  # paracetamol advice from this temperature
    fever_from: float = 37.5  # a fever (Bộ Y tế: over 37.5 °C)
    high_fever_from: float = 39.5  # high fever: seek care today
    elderly_from_age: int = 60
    child_up_to_age: int = 12


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Triage:
    """What a message says about the person's condition, and how urgent it is."""

    level: str  # EMERGENCY | URGENT | HOME_CARE
    signs: tuple[str, ...]  # codes of danger signs found, in rule order
    risk_groups: tuple[str, ...]  # codes found, in rule order
    spo2: int | None
    temperature: float | None
    breaths_per_minute: int | None
    fever_medicine: bool  # temperature >= fever_medicine_from
    symptoms: tuple[str, ...] = ()  # codes of common symptoms found, in rule order
    thresholds: Thresholds = field(default_factory=Thresholds)

    @property
    def at_risk(self) -> bool:
        return bool(self.risk_groups)

    def reasons(self) -> list[str]:
        """Vietnamese labels of what made it emergency or urgent: signs, then readings."""
        rules = _rules()
        limits = self.thresholds
        found = [rules.labels[code] for code in self.signs]
        if self.spo2 is not None and (
            self.spo2 < limits.spo2_below
            or (self.at_risk and self.spo2 < limits.spo2_below_at_risk)
        ):
            found.append(rules.readings["spo2"].format(value=self.spo2))
        if (
            self.breaths_per_minute is not None
            and self.breaths_per_minute > limits.breaths_above_at_risk
        ):
            found.append(rules.readings["breaths"].format(value=self.breaths_per_minute))
        if self.temperature is not None and (
            self.temperature >= limits.high_fever_from
            or (self.at_risk and self.temperature >= limits.fever_from)
        ):
            value = f"{self.temperature:g}".replace(".", ",")  # Vietnamese decimal comma
            found.append(rules.readings["temperature"].format(value=value))
        return found

    def risk_labels(self) -> list[str]:
        """Vietnamese labels of the risk groups found."""
        labels = _rules().labels
        return [labels[code] for code in self.risk_groups]


# --- Rules loaded from triage.yml ---------------------------------------------------------

Phrase = tuple[str, ...]

SIGN = "sign"
SYMPTOM = "symptom"
RISK = "risk"


@dataclass(frozen=True)
class _Entry:
    kind: str  # SIGN | SYMPTOM | RISK
    code: str
    child_only: bool
    patterns: tuple[Phrase, ...]
    exclude: tuple[Phrase, ...]


@dataclass(frozen=True)
class _Readers:
    spo2: re.Pattern[str]
    temperature_after_keyword: re.Pattern[str]
    temperature_with_unit: re.Pattern[str]
    breaths_after_keyword: re.Pattern[str]
    breaths_per_minute: re.Pattern[str]
    pulse: re.Pattern[str]
    stop: re.Pattern[str]  # another reading's keyword inside a keyword-number gap
    age: re.Pattern[str]


@dataclass(frozen=True)
class _Rules:
    entries: tuple[_Entry, ...]
    labels: dict[str, str]  # sign and risk group code → label
    negations: tuple[Phrase, ...]
    fillers: frozenset[str]
    breakers: tuple[Phrase, ...]
    carriers: tuple[Phrase, ...]
    relief: tuple[Phrase, ...]
    relief_fillers: frozenset[str]
    spellings: dict[Phrase, tuple[frozenset[str], ...]]  # per word: accepted raw spellings
    readings: dict[str, str]
    readers: _Readers


def _strings(data: Mapping[str, Any], name: str) -> list[str]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"triage.yml: {name} must be a list of strings")
    return value


def _phrase(text: str) -> Phrase:
    """A pattern as folded, abbreviation-expanded words ("#" kept for numbers)."""
    return tuple(
        word
        for part in fold(text).split()
        for word in (part if part == NUMBER else key(part)).split()
    )


def _phrases(data: Mapping[str, Any], name: str) -> tuple[Phrase, ...]:
    return tuple(phrase for phrase in map(_phrase, _strings(data, name)) if phrase)


def _entries(data: Mapping[str, Any], section: str, kind: str) -> tuple[_Entry, ...]:
    items = data.get(section)
    if not isinstance(items, list):
        raise ValueError(f"triage.yml: {section} must be a list")
    entries = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            raise ValueError(f"triage.yml: every item of {section} needs a code")
        entries.append(
            _Entry(
                kind=kind,
                code=item["code"],
                child_only=bool(item.get("child_only", False)),
                patterns=_phrases(item, "patterns"),
                exclude=_phrases(item, "exclude"),
            )
        )
    return tuple(entries)


def _regex_words(phrases: Iterable[str]) -> str:
    """An alternation of phrases, longest first; a space means optional spaces."""
    ordered = sorted(set(phrases), key=len, reverse=True)
    return "|".join(r"\s*".join(re.escape(part) for part in p.split()) for p in ordered)


def _keyword(phrases: Iterable[str]) -> str:
    return rf"(?<![a-z0-9])(?:{_regex_words(phrases)})(?![a-z])"


def _readers(words: Mapping[str, Any]) -> _Readers:
    def alt(name: str) -> str:
        return _regex_words(_strings(words, name))

    # Between a keyword and its number: nothing, or up to GAP characters without digits or a
    # sentence end, not ending in a letter ("sốt, SpO2 97": the "2" of "spo2" is not a
    # temperature).
    gap = rf"(?P<gap>[^\d\n.;!?]{{0,{GAP}}}[^a-z\d\n.;!?])?"
    not_after = rf"(?!\s*(?:{alt('not_a_reading')})(?![a-z]))(?!\s*/\s*\d)"
    not_count = rf"(?!\s*(?:{alt('counts')})(?![a-z]))"
    units = alt("temperature_units")
    # "39 độ 5" = 39.5, "39 độ rưỡi" = 39.5; the digit after the unit is a tenth unless a
    # duration or another unit follows it ("39 độ 5 ngày").
    tenth = rf"(?P<tenth>\d)(?![\d%])(?![.,]\d){not_after}(?!\s*(?:{units}))"
    half = rf"(?P<half>{alt('half')})(?![a-z])"
    temperature = r"(?P<value>\d{2}(?:[.,]\d{1,2})?)(?!\d)"
    with_unit = rf"\s*(?:{units})(?![a-z])"
    pulse_words = _strings(words, "pulse")
    stop_words = (
        _strings(words, "spo2")
        + _strings(words, "temperature")
        + _strings(words, "breaths")
        + pulse_words
    )
    flags = re.ASCII
    return _Readers(
        spo2=re.compile(
            _keyword(_strings(words, "spo2"))
            + gap
            + r"(?P<value>\d{1,3}(?:[.,]\d{1,2})?)(?!\d)"
            + not_after
            + not_count,
            flags,
        ),
        temperature_after_keyword=re.compile(
            _keyword(_strings(words, "temperature"))
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
            _keyword(_strings(words, "breaths"))
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


@functools.cache
def _rules() -> _Rules:
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or str(data.get("version")) != "1":
        raise ValueError('triage.yml: expected a mapping with version "1"')
    signs = _entries(data, "signs", SIGN)
    symptoms = _entries(data, "symptoms", SYMPTOM)
    risks = _entries(data, "risk_groups", RISK)
    labels: dict[str, str] = {}
    for section in ("signs", "risk_groups"):
        for item in data[section]:
            labels[item["code"]] = unicodedata.normalize("NFC", str(item["label"]))
    spellings: dict[Phrase, tuple[frozenset[str], ...]] = {}
    for pattern, allowed in (data.get("spellings") or {}).items():
        phrase = _phrase(str(pattern))
        forms = [normalize(str(form)).lower().split() for form in allowed]
        if any(len(form) != len(phrase) for form in forms):
            raise ValueError(f"triage.yml: spellings of {pattern!r} must have as many words")
        spellings[phrase] = tuple(frozenset(form[i] for form in forms) for i in range(len(phrase)))
    readings = data.get("readings")
    words = data.get("reading_words")
    if not isinstance(readings, dict) or not isinstance(words, dict):
        raise ValueError("triage.yml: readings and reading_words must be mappings")
    return _Rules(
        entries=signs + symptoms + risks,
        labels=labels,
        negations=_phrases(data, "negations"),
        fillers=frozenset(w for p in _phrases(data, "negation_fillers") for w in p),
        breakers=_phrases(data, "negation_breakers"),
        carriers=_phrases(data, "negation_carriers"),
        relief=_phrases(data, "relief_after"),
        relief_fillers=frozenset(w for p in _phrases(data, "relief_fillers") for w in p),
        spellings=spellings,
        readings={
            name: unicodedata.normalize("NFC", str(label)) for name, label in readings.items()
        },
        readers=_readers(words),
    )


# --- Words ---------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")
# Clause ends: a sign and the negation before it must be in the same clause.
_CLAUSE_END = re.compile(r"[.,;:!?…\n()\[\]{}\"“”–—]+|\s-\s")


@dataclass(frozen=True)
class _Token:
    word: str  # folded, abbreviation expanded
    raw: str | None  # as typed (lower case, NFC); None for words of an expanded abbreviation


@dataclass(frozen=True)
class _Hit:
    entry: _Entry
    start: int
    end: int


def _clauses(text: str) -> list[list[_Token]]:
    clauses = []
    for part in _CLAUSE_END.split(normalize(text).lower()):
        tokens: list[_Token] = []
        for raw in _WORD.findall(part):
            folded = fold(raw)
            expanded = expand(folded)
            if expanded == folded:
                tokens.append(_Token(folded, raw))
            else:
                tokens.extend(_Token(word, None) for word in expanded.split())
        if tokens:
            clauses.append(tokens)
    return clauses


def _matches_at(tokens: list[_Token], start: int, phrase: Phrase, rules: _Rules) -> bool:
    if start < 0 or start + len(phrase) > len(tokens):
        return False
    allowed = rules.spellings.get(phrase)
    for offset, word in enumerate(phrase):
        token = tokens[start + offset]
        if word == NUMBER:
            if not token.word.isdigit():
                return False
            continue
        if token.word != word:
            return False
        if allowed is not None and token.raw is not None and token.raw not in allowed[offset]:
            return False
    return True


def _ends_at(tokens: list[_Token], end: int, phrases: Iterable[Phrase], rules: _Rules) -> bool:
    """Whether one of the phrases ends just before index `end`."""
    return any(_matches_at(tokens, end - len(p), p, rules) for p in phrases)


def _find(tokens: list[_Token], rules: _Rules) -> list[_Hit]:
    starts: dict[str, list[int]] = {}
    for index, token in enumerate(tokens):
        starts.setdefault(NUMBER if token.word.isdigit() else token.word, []).append(index)

    def spans(phrases: Iterable[Phrase]) -> list[tuple[int, int]]:
        return [
            (start, start + len(phrase))
            for phrase in phrases
            for start in starts.get(phrase[0], ())
            if _matches_at(tokens, start, phrase, rules)
        ]

    hits = []
    for entry in rules.entries:
        found = spans(entry.patterns)
        if not found:
            continue
        excluded = spans(entry.exclude)
        found = [(s, e) for s, e in found if not any(a <= s and e <= b for a, b in excluded)]
        # Keep the longest: "đau tức ngực" once, not also "tức ngực".
        reach = -1
        for s, e in sorted(set(found), key=lambda span: (span[0], -span[1])):
            if e > reach:
                hits.append(_Hit(entry, s, e))
                reach = e
    hits.sort(key=lambda hit: (hit.start, -hit.end, hit.entry.code))
    return hits


def _negated_before(tokens: list[_Token], hit: _Hit, boundary: int, rules: _Rules) -> bool:
    """A negation within the 2 words before the hit, not reaching past an earlier hit."""
    counted = 0
    position = hit.start
    while position > boundary and counted < NEGATION_WINDOW:
        if _ends_at(tokens, position, rules.breakers, rules):
            return False
        for phrase in rules.negations:
            begin = position - len(phrase)
            # "39 độ": a unit after a number is not "đỡ".
            after_number = begin > 0 and tokens[begin - 1].word.isdigit()
            if begin >= boundary and not after_number and _matches_at(tokens, begin, phrase, rules):
                return True
        word = tokens[position - 1].word
        position -= 1
        if word not in rules.fillers:
            counted += 1
    return False


def _relieved_after(tokens: list[_Token], hit: _Hit, rules: _Rules) -> bool:
    """ "khó thở đỡ hơn rồi", "khó thở đã đỡ nhiều": the sign has passed."""
    position = hit.end
    while position < len(tokens) and tokens[position].word in rules.relief_fillers:
        position += 1
    return any(_matches_at(tokens, position, phrase, rules) for phrase in rules.relief)


def _present(tokens: list[_Token], rules: _Rules) -> list[_Hit]:
    """Hits that are not negated or past."""
    hits = _find(tokens, rules)
    ending: dict[int, list[_Hit]] = {}
    for hit in hits:
        ending.setdefault(hit.end, []).append(hit)
    # boundary[p]: where the last hit ending at or before token p ends (0 if none).
    boundary_at = [0] * (len(tokens) + 1)
    for position in range(1, len(tokens) + 1):
        boundary_at[position] = position if position in ending else boundary_at[position - 1]
    negated: dict[_Hit, bool] = {}
    for hit in hits:
        boundary = boundary_at[hit.start]
        earlier = ending.get(boundary, []) if boundary else []
        between = boundary < hit.start
        carried = any(
            negated[previous]
            and (
                # "không sốt hay khó thở": carried over "hay".
                any(
                    boundary + len(carrier) == hit.start
                    and _matches_at(tokens, boundary, carrier, rules)
                    for carrier in rules.carriers
                )
                # "không ho sốt": carried between symptoms and risk groups, never onto or
                # from a danger sign without a carrier word.
                or (not between and SIGN not in (previous.entry.kind, hit.entry.kind))
            )
            for previous in earlier
        )
        negated[hit] = (
            carried
            or _negated_before(tokens, hit, boundary, rules)
            or _relieved_after(tokens, hit, rules)
        )
    return [hit for hit in hits if not negated[hit]]


# --- Numbers -------------------------------------------------------------------------------


def _number_text(text: str) -> str:
    """Folded text with abbreviations expanded and punctuation kept: "SpO2: 92%"."""
    return _WORD.sub(lambda match: expand(match.group()), fold(text))


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


@dataclass(frozen=True)
class _Readings:
    spo2: int | None
    temperature: float | None
    breaths: int | None
    ages: tuple[int, ...]


def _read_numbers(text: str, readers: _Readers) -> _Readings:
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
    return _Readings(
        spo2=min(spo2, default=None),
        temperature=max(temperatures, default=None),
        breaths=max(breaths, default=None),
        ages=tuple(age for age in ages if age <= AGE_LIMIT),
    )


# --- Assessment ----------------------------------------------------------------------------


def assess(text: str, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Triage:
    """Triage one message (Vietnamese, with or without diacritics, chat abbreviations)."""
    rules = _rules()
    found: set[tuple[str, str]] = set()
    for tokens in _clauses(text):
        found.update((hit.entry.kind, hit.entry.code) for hit in _present(tokens, rules))
    readings = _read_numbers(text, rules.readers)
    for age in readings.ages:
        if age >= thresholds.elderly_from_age:
            found.add((RISK, ELDERLY))
        elif age <= thresholds.child_up_to_age:
            found.add((RISK, CHILD))

    def codes(kind: str) -> tuple[str, ...]:
        ordered = (e.code for e in rules.entries if e.kind == kind and (kind, e.code) in found)
        return tuple(dict.fromkeys(ordered))

    risk_groups = codes(RISK)
    child = CHILD in risk_groups
    signs = tuple(
        code
        for code in codes(SIGN)
        if child or not any(e.child_only for e in rules.entries if e.code == code)
    )
    symptoms = codes(SYMPTOM)
    temperature = readings.temperature
    fever = temperature is not None and temperature >= thresholds.fever_from
    level = _level(
        thresholds,
        signs=bool(signs),
        at_risk=bool(risk_groups),
        unwell=bool(symptoms) or fever,
        spo2=readings.spo2,
        temperature=temperature,
        breaths=readings.breaths,
    )
    return Triage(
        level=level,
        signs=signs,
        risk_groups=risk_groups,
        spo2=readings.spo2,
        temperature=temperature,
        breaths_per_minute=readings.breaths,
        fever_medicine=temperature is not None and temperature >= thresholds.fever_medicine_from,
        symptoms=symptoms,
        thresholds=thresholds,
    )


def _level(
    limits: Thresholds,
    *,
    signs: bool,
    at_risk: bool,
    unwell: bool,
    spo2: int | None,
    temperature: float | None,
    breaths: int | None,
) -> str:
    low_spo2 = spo2 is not None and spo2 < limits.spo2_below
    low_spo2_at_risk = spo2 is not None and spo2 < limits.spo2_below_at_risk
    fast = breaths is not None and breaths > limits.breaths_above
    fast_at_risk = breaths is not None and breaths > limits.breaths_above_at_risk
    if signs or low_spo2 or fast or (at_risk and (low_spo2_at_risk or fast_at_risk)):
        return EMERGENCY
    high_fever = temperature is not None and temperature >= limits.high_fever_from
    if (at_risk and unwell) or high_fever or fast_at_risk:
        return URGENT
    return HOME_CARE
