"""Words of triage.yml as the matcher sees them: folded, abbreviation-expanded phrases."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.text import fold, key

Phrase = tuple[str, ...]

NUMBER = "#"  # in a pattern: any number token
WORD = re.compile(r"[^\W_]+")  # a word as typed: letters and digits


def strings(data: Mapping[str, Any], name: str) -> list[str]:
    """The list of strings under `name` (none if absent); anything else is an error."""
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"triage.yml: {name} must be a list of strings")
    return value


def phrase(text: str) -> Phrase:
    """A pattern as folded, abbreviation-expanded words ("#" kept for numbers)."""
    return tuple(
        word
        for part in fold(text).split()
        for word in (part if part == NUMBER else key(part)).split()
    )


def phrases(data: Mapping[str, Any], name: str) -> tuple[Phrase, ...]:
    """The non-empty phrases of the list of strings under `name`."""
    return tuple(found for found in map(phrase, strings(data, name)) if found)
