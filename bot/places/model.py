"""What reading a place name gives: a current unit, one reading of a name, all readings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    """A current unit: a province, or a commune-level unit (xã, phường, đặc khu)."""

    code: int
    name: str
    level: str  # "province" or "commune"
    province_code: int
    province_name: str


@dataclass(frozen=True)
class Match:
    """A current place the text may mean; ``via`` names the old unit the text named, if any."""

    place: Place
    via: str | None
    partial: bool = False  # the old unit was split and this is one of its parts
    origin: str | None = None  # key of the old unit named (see ``lookup``), None if current

    @property
    def key(self) -> str:
        """What names this reading again: the old unit's key, or the current unit's."""
        return self.origin or place_key(self.place)


@dataclass(frozen=True)
class Resolution:
    """What a piece of text may name, best first; no matches means unknown."""

    text: str
    matches: tuple[Match, ...]


def place_key(place: Place) -> str:
    """``"p:<code>"`` for a province, ``"c:<code>"`` for a commune: see ``lookup``."""
    return f"{'p' if place.level == 'province' else 'c'}:{place.code}"
