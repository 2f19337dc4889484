"""Place names in chat (new, old, abbreviated, unaccented) → current 2025 units of Viet Nam.

``index`` builds the index of current and old units from ``vietnam-provinces``; ``tokens``,
``mentions`` and ``scan`` read text; ``keys`` turns keys and codes back into units; ``words``
loads the words that live in data (``words.yml``, ``labels.yml``).
"""

from __future__ import annotations

from bot.places.keys import get, lookup, units_in
from bot.places.model import Match, Place, Resolution, place_key
from bot.places.scan import find_places, resolve
from bot.places.tokens import MAX_TEXT_LENGTH
from bot.places.words import before_place, leaving, towards, unit_words

__all__ = [
    "MAX_TEXT_LENGTH",
    "Match",
    "Place",
    "Resolution",
    "before_place",
    "find_places",
    "get",
    "leaving",
    "lookup",
    "place_key",
    "resolve",
    "towards",
    "unit_words",
    "units_in",
]
