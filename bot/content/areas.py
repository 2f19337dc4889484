"""The area a person means: free text or a remembered key → current units, or choices."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from bot import places
from bot.places import Place

MAX_CHOICES = 5  # buttons offered for an ambiguous name (Zalo OA shows at most 5)
_LIMIT = 80  # matches read per name: an old district covers up to ~30 current communes


@dataclass(frozen=True)
class Area:
    """Current units a person's words name; ``old_name`` is set when they used a pre-2025 name."""

    key: str  # what to remember and what a button sends back: see ``bot.places.lookup``
    units: tuple[Place, ...]
    old_name: str | None = None

    @property
    def is_province(self) -> bool:
        return len(self.units) == 1 and self.units[0].level == "province"

    @property
    def province_codes(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(u.province_code for u in self.units))

    @property
    def commune_codes(self) -> tuple[int, ...]:
        return tuple(u.code for u in self.units if u.level == "commune")

    @property
    def name(self) -> str:
        """The name as people read it: the old name if they used one, else the unit's."""
        if self.old_name:
            return self.old_name
        unit = self.units[0]
        return unit.name if unit.level == "province" else f"{unit.name}, {unit.province_name}"


def from_key(key: str | None) -> Area | None:
    """The area a remembered key or a button names; None for a missing or unknown key."""
    if not key:
        return None
    try:
        units, old_name = places.lookup(key)
    except (KeyError, ValueError):
        return None
    return Area(key, units, old_name) if units else None


def read(text: str, *, prefer_province: str) -> list[Area]:
    """What the first place name in ``text`` may mean, best first; [] when it names none.

    One name may mean several places (ambiguous: ask with buttons), and one old name may cover
    several current units (one area)."""
    for found in places.find_places(text, prefer_province=prefer_province, max_places=1):
        resolution = places.resolve(found.text, prefer_province=prefer_province, limit=_LIMIT)
        matches = resolution.matches or found.matches
        groups: dict[str, list[Place]] = {}
        old_names: dict[str, str | None] = {}
        for match in matches:
            groups.setdefault(match.key, []).append(match.place)
            old_names[match.key] = match.via
        return [Area(key, tuple(units), old_names[key]) for key, units in groups.items()]
    return []


@cache
def province_area(name: str) -> Area | None:
    """The deployment's province as an area (the fallback for province-wide answers)."""
    for area in read(name, prefer_province=name):
        if area.is_province:
            return area
    return None


@dataclass(frozen=True)
class Reading:
    """What to do with a name: answer for ``area``, and/or offer ``choices`` as buttons."""

    area: Area | None
    choices: tuple[Area, ...]


def pick(candidates: list[Area], *, home_province: int | None) -> Reading:
    """One reading of a name when it is clear enough, else the choices to ask about.

    A name with one meaning is that. A name with exactly one meaning inside the province Loa
    serves is taken to mean it (people ask about where they live), and the others are offered
    too; several meanings at home, or none at home and several elsewhere, are asked about,
    home ones first."""
    if len(candidates) == 1:
        return Reading(candidates[0], ())
    home = [a for a in candidates if home_province in a.province_codes]
    if len(home) == 1:
        others = tuple(a for a in candidates if a is not home[0])
        return Reading(home[0], others[: MAX_CHOICES - 1])
    ordered = home + [a for a in candidates if a not in home]
    return Reading(None, tuple(ordered[:MAX_CHOICES]))
