"""Short, stable keys and codes → current units: ``get``, ``units_in``, ``lookup``."""

from __future__ import annotations

from bot.places.index import load_index
from bot.places.model import Place


def get(code: int, *, level: str = "commune") -> Place:
    """The current unit with this code; ``level="province"`` for a province. KeyError if none."""
    ix = load_index()
    return (ix.provinces if level == "province" else ix.communes)[code]


def units_in(province_code: int) -> list[Place]:
    """The current communes of a province, by code. KeyError for an unknown province."""
    return list(load_index().by_province[province_code])


def lookup(key: str) -> tuple[tuple[Place, ...], str | None]:
    """The current units a key names and the old unit's label (None for a current unit).

    Keys are short and stable (a button payload, a remembered slot): ``p:<code>`` and
    ``c:<code>`` for current units (``place_key``), ``op:``/``od:``/``ow:`` + the old
    province/district/ward code for pre-2025 units. KeyError for an unknown key."""
    kind, _, code = key.partition(":")
    if kind in ("p", "c") and code.isdigit():
        return (get(int(code), level="province" if kind == "p" else "commune"),), None
    entry = load_index().origins[key]
    return entry.places, entry.via
