"""Signs, symptoms and risk groups named in a message, without those negated or passed."""

# The matching runs on the folded text (bot.text.fold) with chat abbreviations expanded
# (bot.text.expand), word by word, inside one clause.

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.content.triage.rules import SIGN, Entry, Rules
from bot.content.triage.words import NUMBER, WORD, Phrase
from bot.text import expand, fold, normalize

NEGATION_WINDOW = 2  # words before a sign that can negate it (fillers not counted)

# Clause ends: a sign and the negation before it must be in the same clause.
_CLAUSE_END = re.compile(r"[.,;:!?…\n()\[\]{}\"“”–—]+|\s-\s")


@dataclass(frozen=True)
class Token:
    """One word of a clause."""

    word: str  # folded, abbreviation expanded
    raw: str | None  # as typed (lower case, NFC); None for words of an expanded abbreviation


@dataclass(frozen=True)
class Hit:
    """Where an entry's phrase was found in a clause: tokens start to end (exclusive)."""

    entry: Entry
    start: int
    end: int


def clauses(text: str) -> list[list[Token]]:
    """The message's clauses as tokens; empty clauses left out."""
    found = []
    for part in _CLAUSE_END.split(normalize(text).lower()):
        tokens: list[Token] = []
        for raw in WORD.findall(part):
            folded = fold(raw)
            expanded = expand(folded)
            if expanded == folded:
                tokens.append(Token(folded, raw))
            else:
                tokens.extend(Token(word, None) for word in expanded.split())
        if tokens:
            found.append(tokens)
    return found


def _matches_at(tokens: list[Token], start: int, phrase: Phrase, rules: Rules) -> bool:
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


def _ends_at(tokens: list[Token], end: int, phrases: Iterable[Phrase], rules: Rules) -> bool:
    """Whether one of the phrases ends just before index `end`."""
    return any(_matches_at(tokens, end - len(p), p, rules) for p in phrases)


def _find(tokens: list[Token], rules: Rules) -> list[Hit]:
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
                hits.append(Hit(entry, s, e))
                reach = e
    hits.sort(key=lambda hit: (hit.start, -hit.end, hit.entry.code))
    return hits


def _negated_before(tokens: list[Token], hit: Hit, boundary: int, rules: Rules) -> bool:
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


def _relieved_after(tokens: list[Token], hit: Hit, rules: Rules) -> bool:
    """ "khó thở đỡ hơn rồi", "khó thở đã đỡ nhiều": the sign has passed."""
    position = hit.end
    while position < len(tokens) and tokens[position].word in rules.relief_fillers:
        position += 1
    return any(_matches_at(tokens, position, phrase, rules) for phrase in rules.relief)


def present(tokens: list[Token], rules: Rules) -> list[Hit]:
    """Hits that are not negated or past."""
    hits = _find(tokens, rules)
    ending: dict[int, list[Hit]] = {}
    for hit in hits:
        ending.setdefault(hit.end, []).append(hit)
    # boundary[p]: where the last hit ending at or before token p ends (0 if none).
    boundary_at = [0] * (len(tokens) + 1)
    for position in range(1, len(tokens) + 1):
        boundary_at[position] = position if position in ending else boundary_at[position - 1]
    negated: dict[Hit, bool] = {}
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
