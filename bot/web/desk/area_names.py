"""Areas typed by name in the desk's forms: one name → one unit of the province, or the
choices to ask about (an ambiguous name; an old, pre-2025 name, which today is another unit or
several).

The desk serves one province: names are read in it first, and units elsewhere are offered only
when the name means nothing inside it. A choice comes back as the unit's key (``unit`` in the
form: ``p:20``, ``c:6187``), which then wins over the typed name.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import places
from bot.alerts.subscriptions import AreaCode
from bot.content import areas
from bot.places import Place

MAX_NAME = 120  # characters of a typed area name that are read
MAX_CHOICES = 12  # an old district covers up to ~30 units: show the first ones


@dataclass(frozen=True)
class Choice:
    """One unit to offer: its key (``p:20``, ``c:6187``) and how the desk names it (with the
    old name it came by)."""

    key: str
    label: str


@dataclass(frozen=True)
class Named:
    """What a typed name means: ``unit`` when it is clear, else ``choices`` (maybe none)."""

    typed: str
    unit: Place | None
    choices: tuple[Choice, ...]


def label(place: Place) -> str:
    """A unit as officers read it: "Phường Kỳ Lừa, Tỉnh Lạng Sơn", "Tỉnh Lạng Sơn"."""
    return place.name if place.level == "province" else f"{place.name}, {place.province_name}"


def area_code(place: Place) -> AreaCode:
    """The alerts' code of a unit."""
    if place.level == "province":
        return AreaCode(place.code)
    return AreaCode(place.province_code, place.code)


def unit_of(key: str) -> Place | None:
    """The current unit a choice sent back (its key), or None for a key that names none."""
    kind, _, code = key.partition(":")
    if kind not in ("p", "c") or not code.isdigit() or len(code) > 9:
        return None
    try:
        return places.get(int(code), level="province" if kind == "p" else "commune")
    except KeyError:
        return None


def name_of(area: AreaCode) -> str:
    """An area's name for a page; its code when the unit no longer exists."""
    try:
        if area.commune_code is None:
            return label(places.get(area.province_code, level="province"))
        return label(places.get(area.commune_code))
    except KeyError:  # a unit that no longer exists: its code
        return str(area.commune_code or area.province_code)


def read(typed: str, *, province: str) -> Named:
    """The unit ``typed`` names in the province (or, failing that, anywhere)."""
    typed = " ".join(typed.split())[:MAX_NAME]
    if not typed:
        return Named("", None, ())
    candidates = areas.read(typed, prefer_province=province)
    home = areas.province_area(province)
    home_code = home.units[0].code if home else None
    at_home = [a for a in candidates if home_code in a.province_codes]
    chosen = at_home or candidates
    units = list(dict.fromkeys(u for a in chosen for u in a.units))
    if len(chosen) == 1 and len(units) == 1 and not chosen[0].old_name:
        return Named(typed, units[0], ())  # an old name is confirmed: it is another unit now
    offered: dict[str, Choice] = {}
    for area in chosen:
        for unit in area.units:
            via = f" (trước đây: {area.old_name})" if area.old_name else ""
            key = places.place_key(unit)
            offered.setdefault(key, Choice(key, label(unit) + via))
    return Named(typed, None, tuple(offered.values())[:MAX_CHOICES])
