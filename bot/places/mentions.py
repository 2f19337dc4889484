"""The place name at one token of a text: its unit word, the longest name, its qualifiers."""

from __future__ import annotations

import re

from bot.places.index import PROVINCE, Entry, Index
from bot.places.tokens import Token
from bot.places.words import everyday_names, fillers, unit_words

_NUMBERED = re.compile(r"\d+|[ivx]+")  # "Phường 5", "Phường VII": only with a unit word


def _unit_at(tokens: list[Token], i: int) -> tuple[str | None, int]:
    for size in (2, 1):
        unit = unit_words().get(tuple(t.folded for t in tokens[i : i + size]))
        if unit and i + size <= len(tokens):
            return unit, i + size
    return None, i


def _lookup(
    ix: Index, tokens: list[Token], i: int, unit: str | None, *, bare: bool, qualifier: bool
) -> tuple[int, list[Entry], bool] | None:
    """The longest name at ``tokens[i:]``: its end, its entries narrowed by spelling, and
    whether it holds only as the whole text (a one-word or everyday-word name, no unit word)."""
    last = i + 1  # a name ends at a comma or other punctuation ("Chi Lăng, Bắc Ninh")
    while last < min(len(tokens), i + ix.longest) and tokens[last].joined:
        last += 1
    for end in range(last, i, -1):
        key = " ".join(t.folded for t in tokens[i:end])
        found = ix.names.get(key)
        if not found:
            continue
        entries = [e for e in found if not qualifier or e.qualifier]
        weak = False
        if _NUMBERED.fullmatch(key):  # "5" alone names nothing; "quận 13" is not "phường 13"
            entries = [e for e in entries if e.unit == unit]
        elif unit is None and not qualifier and (end - i == 1 or key in everyday_names()):
            if not bare:
                entries = [e for e in entries if e.level == PROVINCE]
            weak = not any(e.level == PROVINCE for e in entries)
        accented = " ".join(t.accented for t in tokens[i:end])
        if accented != key:
            # Typed with marks: keep the names spelled so ("Tân Thanh" is not "Tân Thành"), else
            # those that agree on each marked word ("Lang Sơn"); "là gì" is not "La Gi". A
            # whole text of two words or more may have one wrong mark ("Lạng Sớn").
            typed = [t.accented if t.accented != t.folded else None for t in tokens[i:end]]
            exact = [e for e in entries if e.accented == accented]
            agree = [e for e in entries if _wrong_marks(typed, e.accented) == 0]
            near = [
                e for e in entries if bare and end - i > 1 and _wrong_marks(typed, e.accented) < 2
            ]
            entries = exact or agree or near
        else:
            entries.sort(key=lambda e: e.accented != accented)  # unmarked names first
        if entries:
            return end, entries, weak
    return None


def _wrong_marks(typed: list[str | None], spelled: str) -> int:
    names = spelled.split()
    return sum(word is not None and word != name for word, name in zip(typed, names, strict=True))


def of_unit(entries: list[Entry], unit: str | None) -> list[Entry]:
    """The entries of the unit word's type; all of them if none fits."""
    # "xã" and "phường" are used loosely: a unit word that fits nothing is ignored.
    return [e for e in entries if e.unit == unit] or entries


def _name_at(
    ix: Index, tokens: list[Token], i: int, *, bare: bool, qualifier: bool
) -> tuple[int, list[Entry], str | None, bool] | None:
    """A name at ``tokens[i:]``, after a unit word if there is one that fits."""
    unit, j = _unit_at(tokens, i)
    if unit and (found := _lookup(ix, tokens, j, unit, bare=bare, qualifier=qualifier)):
        end, entries, weak = found
        if end - j > 1 or any(e.unit == unit for e in entries):
            return end, entries, unit, weak
        # A one-word name of no unit of that kind is a word, not a place: "thanh pho dang bi…"
        # (thành phố đang bị…) is not the old commune of Dang in Đà Nẵng.
        return None
    if found := _lookup(ix, tokens, i, None, bare=bare, qualifier=qualifier):
        return found[0], found[1], None, found[2]
    return None


def _qualifier_at(ix: Index, tokens: list[Token], i: int) -> tuple[int, set[tuple[str, int]]]:
    while i < len(tokens) and tokens[i].folded in fillers():
        i += 1
    found = _name_at(ix, tokens, i, bare=False, qualifier=True)
    if not found:
        return i, set()
    end, entries, unit, _ = found
    return end, {e.qualifier for e in of_unit(entries, unit) if e.qualifier}


def mention_at(
    ix: Index, tokens: list[Token], i: int, *, bare: bool
) -> tuple[int, list[Entry], str | None] | None:
    """A place name starting at ``tokens[i]``, with its unit word and trailing qualifiers.

    ``bare``: the text may be only this name (after "ở", "tại"): a one-word or everyday-word
    name counts when nothing follows it, and a name of two words or more may have one wrong
    mark."""
    found = _name_at(ix, tokens, i, bare=bare, qualifier=False)
    if not found:
        return None
    end, entries, unit, weak = found
    # "Chi Lăng, Lạng Sơn", "p5 q3 tphcm", "xã X, huyện Y, tỉnh Z": each must keep something.
    for _ in range(3):
        if end == len(tokens):
            break
        after, keys = _qualifier_at(ix, tokens, end)
        narrowed = [e for e in entries if e.context & keys]
        if not narrowed:
            break
        end, entries = after, narrowed
    if weak and end < len(tokens):
        return None
    return end, of_unit(entries, unit), unit
