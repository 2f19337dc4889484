"""Split long replies at a channel's limit, on paragraph, line, sentence or word boundaries."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of ``text`` no longer than ``limit`` characters, cut where a reader expects."""
    if len(text) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = _last_boundary(window, limit)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return [p for p in pieces if p]


def _last_boundary(window: str, limit: int) -> int:
    """Where to cut a window of ``limit + 1`` characters; never before a quarter of it."""
    floor = limit // 4
    for finder in (
        lambda w: w.rfind("\n\n"),
        lambda w: w.rfind("\n"),
        lambda w: max((m.end() for m in _SENTENCE_END.finditer(w)), default=-1),
        lambda w: w.rfind(" "),
    ):
        at = finder(window)
        if floor < at <= limit:
            return at
    return limit  # one very long word: cut it
