"""The index of every current and old unit under its folded name, built from vietnam-provinces."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache

from vietnam_provinces import Province, Ward, legacy

# A private module of the package (hence the exact pin in pyproject.toml): the official
# old→new ward conversion table of 1 July 2025, keyed by the OLD ward code.
from vietnam_provinces._ward_conversion_2025 import OLD_TO_NEW

from bot.places.model import Place
from bot.places.tokens import WORD
from bot.places.words import aliases, label, short_district
from bot.text import fold, normalize, words

PROVINCE, DISTRICT, COMMUNE = 0, 1, 2  # level of the unit an entry names
_PREFIX = re.compile(r"^(xã|phường|thị trấn|thị xã|đặc khu|huyện|quận|thành phố|tỉnh)\s+", re.I)


@dataclass(frozen=True)
class Entry:
    """One unit under one of its names: current or old, and the current units it means."""

    current: bool
    level: int
    unit: str  # folded division type: "xa", "phuong", "thanh pho", ...
    accented: str  # lower-case name words with marks, to prefer exact spelling
    places: tuple[Place, ...]
    via: str | None
    partial: bool
    context: frozenset[tuple[str, int]]  # ("p"|"lp"|"ld", code): what a qualifier may name
    qualifier: tuple[str, int] | None  # what this unit means as a qualifier
    origin: str | None  # "ow:<code>", "od:<code>", "op:<code>": the old unit, by its old code


@dataclass(frozen=True)
class Index:
    """Entries by folded name, old units by key, and the current units by code."""

    names: dict[str, tuple[Entry, ...]]
    origins: dict[str, Entry]
    communes: dict[int, Place]
    provinces: dict[int, Place]
    by_province: dict[int, list[Place]]
    province_keys: dict[int, str]
    longest: int


def base(name: str) -> str:
    """The name without its unit word: "Xã Đồng Đăng" → "Đồng Đăng"."""
    return _PREFIX.sub("", name)


def name_key(name: str) -> str:
    """The folded words of a name, space-joined: what the index is keyed by."""
    return " ".join(words(name))


def _accented(name: str) -> str:
    return " ".join(WORD.findall(normalize(name).lower()))


@cache
def _unit(division_type: str) -> str:
    return "thanh pho" if division_type.startswith("thành phố") else fold(division_type)


@cache
def load_index() -> Index:
    """Every current and old unit under its folded name; built once, on first use."""
    provinces: dict[int, Place] = {}
    entries: list[tuple[str, Entry]] = []

    spellings: dict[str, tuple[str, str]] = {}  # many old names repeat ("Phường 1")

    def spelled(name: str) -> tuple[str, str]:
        if name not in spellings:
            spellings[name] = (name_key(base(name)), _accented(base(name)))
        return spellings[name]

    def add(
        name: str,
        level: int,
        unit: str,
        places: tuple[Place, ...],
        via: str | None,
        partial: bool,
        context: set[tuple[str, int]],
        qualifier: tuple[str, int] | None = None,
        origin: str | None = None,
    ) -> None:
        key, accented = spelled(name)
        entry = Entry(
            via is None,
            level,
            unit,
            accented,
            places,
            via,
            partial,
            frozenset(context),
            qualifier,
            origin,
        )
        entries.append((key, entry))

    for p in Province.iter_all():
        provinces[p.code.value] = Place(p.code.value, p.name, "province", p.code.value, p.name)
    communes: dict[int, Place] = {}
    commune_units: dict[int, str] = {}
    by_province: dict[int, list[Place]] = {code: [] for code in provinces}
    for w in Ward.iter_all():
        province = provinces[w.province_code.value]
        name = w.name[:1].upper() + w.name[1:]  # one unit is spelled "xã Bắc Sơn"
        place = Place(w.code.value, name, "commune", province.code, province.name)
        communes[place.code] = place
        commune_units[place.code] = _unit(w.division_type)
        by_province[province.code].append(place)

    # Old wards → new wards. Old and new codes share one number range with different meanings:
    # old codes stay inside this function.
    old_provinces = {p.code.value: p for p in legacy.Province.iter_all()}
    old_districts = {d.code.value: d for d in legacy.District.iter_all()}
    district_counts: dict[str, int] = {}
    for d in old_districts.values():
        district_counts[d.name] = district_counts.get(d.name, 0) + 1
    sources: dict[int, set[tuple[str, int]]] = {}  # new ward → ("ld"/"lp", old code)
    district_places: dict[int, dict[int, Place]] = {code: {} for code in old_districts}
    district_partial: set[int] = set()
    province_places: dict[int, set[int]] = {code: set() for code in old_provinces}
    for old_ward in legacy.Ward.iter_all():
        conversion = OLD_TO_NEW.get(old_ward.code.value)
        if conversion is None:  # 28 old wards have no row in the official table
            continue
        d = old_districts[old_ward.district_code.value]
        # The old province comes from the old district: the table's own province_code is wrong
        # for a few rows (e.g. old ward 27691 of Tân An is filed under Tiền Giang).
        origin = {("ld", d.code.value), ("lp", d.province_code.value)}
        targets = tuple(communes[new.code] for new in conversion.new_wards)
        for place in targets:
            sources.setdefault(place.code, set()).update(origin)
            district_places[d.code.value].setdefault(place.code, place)
            province_places[d.province_code.value].add(place.province_code)
        if conversion.old_ward.is_partly_merged:
            district_partial.add(d.code.value)
        district = short_district(d.name)
        if district_counts[d.name] > 1:
            old_name = base(old_provinces[d.province_code.value].name)
            district = label("district_in", district=district, province=old_name)
        partial = conversion.old_ward.is_partly_merged
        context = origin | {("p", t.province_code) for t in targets}
        add(
            old_ward.name,
            COMMUNE,
            _unit(old_ward.division_type),
            targets,
            label("old_ward", name=old_ward.name, district=district),
            partial,
            context,
            origin=f"ow:{old_ward.code.value}",
        )

    for code, d in old_districts.items():
        targets = tuple(district_places[code].values())
        old_province = old_provinces[d.province_code.value]
        via = (
            label("old_district_in", name=d.name, province=base(old_province.name))
            if district_counts[d.name] > 1
            else label("old_district", name=d.name)
        )
        context = {("ld", code), ("lp", old_province.code.value)}
        context |= {("p", t.province_code) for t in targets}
        if targets:
            add(
                d.name,
                DISTRICT,
                _unit(d.division_type),
                targets,
                via,
                len(targets) > 1 or code in district_partial,
                context,
                ("ld", code),
                f"od:{code}",
            )
    province_sources: dict[int, set[int]] = {}
    for code, old in old_provinces.items():
        targets = tuple(provinces[new] for new in sorted(province_places[code]))
        for t in targets:
            province_sources.setdefault(t.code, set()).add(code)
        context = {("lp", code)} | {("p", t.code) for t in targets}
        if targets:
            add(
                old.name,
                PROVINCE,
                _unit(old.division_type),
                targets,
                label("old_province", name=old.name),
                len(targets) > 1,
                context,
                ("lp", code),
                f"op:{code}",
            )

    for place in communes.values():
        context = {("p", place.province_code)} | sources.get(place.code, set())
        add(place.name, COMMUNE, commune_units[place.code], (place,), None, False, context)
    for p in Province.iter_all():
        code = p.code.value
        context = {("p", code)} | {("lp", old) for old in province_sources.get(code, ())}
        add(
            p.name,
            PROVINCE,
            _unit(p.division_type),
            (provinces[code],),
            None,
            False,
            context,
            ("p", code),
        )

    names: dict[str, list[Entry]] = {}
    for key, e in entries:
        names.setdefault(key, []).append(e)
    for alias, target in aliases().items():
        for e in tuple(names[name_key(target)]):
            if e.level == PROVINCE:
                names.setdefault(name_key(alias), []).append(replace(e, accented=_accented(alias)))
    return Index(
        names={key: tuple(group) for key, group in names.items()},
        origins={e.origin: e for _, e in entries if e.origin},
        communes=communes,
        provinces=provinces,
        by_province=by_province,
        province_keys={code: name_key(base(p.name)) for code, p in provinces.items()},
        longest=max(key.count(" ") + 1 for key in names),
    )
