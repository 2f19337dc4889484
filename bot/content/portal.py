"""What the province's public pages show, read from the same queries the bot answers from.

The level of an area is ``store.levels`` (what the chat says), described by
``schemes.describe`` (the names the chat uses); zones are ``store.zones``; hotlines
``store.hotlines``: a page and the chat never disagree. ``version`` is a cheap fingerprint of
everything the pages show, so a page cache can tell, from any process, that content changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot import places
from bot import text as vi
from bot.alerts import levels as level_history
from bot.alerts import schemes
from bot.alerts.subscriptions import AreaCode
from bot.content import store
from bot.content.areas import Area, province_area, understand
from bot.places import Place
from bot.places.index import base
from bot.storage.alerts import Broadcast
from bot.storage.content import (
    ACTIVE,
    AreaLevel,
    Hotline,
    LockdownZone,
    Situation,
    Source,
)
from bot.storage.schemes import LevelHead, SchemeLevel

ZONES_ON_HOME = 20  # the province page lists the newest; each commune's page has all of its own
ZONES_ON_COMMUNE = 100


@dataclass(frozen=True)
class LevelShown:
    """A level row as a person reads it, with the decision and source it comes from."""

    number: int
    name: str
    meaning: str
    decision: str
    since: datetime
    until: datetime | None
    source: Source
    scope: str  # "commune", "province" or "national": whose decision it is


@dataclass(frozen=True)
class CommuneRow:
    place: Place
    level: LevelShown | None
    zones: int  # lockdown zones active now


@dataclass(frozen=True)
class Province:
    place: Place
    level: LevelShown | None
    communes: list[CommuneRow]
    zones: store.Zones
    hotlines: list[Hotline]
    demo: bool  # something shown comes from illustrative (demo) data


@dataclass(frozen=True)
class Commune:
    place: Place
    level: LevelShown | None
    own: bool  # the commune has a decision of its own (else the province's applies)
    history: list[LevelShown]  # the commune's own levels and the province's, newest first
    zones: store.Zones
    hotlines: list[Hotline]
    demo: bool


class _Describer:
    """Each level row as ``schemes.describe`` words it (the chat's words), each scheme's
    levels read once per page (a page shows the same few levels many times)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.seen: dict[int, LevelShown] = {}
        self.schemes: dict[str, dict[int, schemes.Level]] = {}

    def __call__(self, row: AreaLevel | None) -> LevelShown | None:
        if row is None:
            return None
        if row.id not in self.seen:
            if row.scheme not in self.schemes:  # one query for all of a scheme's levels
                self.schemes[row.scheme] = schemes.levels(session=self.session, scheme=row.scheme)
            found = self.schemes[row.scheme].get(row.level)
            if found is not None:  # what ``describe`` says, read with its siblings
                name, meaning = found.name, found.meaning
            else:  # a level the scheme no longer has: ``describe``'s fallbacks
                name, meaning = schemes.describe(session=self.session, row=row)
            scope = (
                "national"
                if row.province_code is None
                else "province"
                if row.commune_code is None
                else "commune"
            )
            self.seen[row.id] = LevelShown(
                row.level, name, meaning, row.decision, row.valid_from, row.valid_until,
                row.source, scope,
            )  # fmt: skip
        return self.seen[row.id]


def home(province: str) -> Place | None:
    """The province this deployment serves (the ``LOA_PROVINCE`` setting), as a unit."""
    area = province_area(province)
    return area.units[0] if area else None


@dataclass(frozen=True)
class Found:
    """What a searched name means for the province's pages."""

    direct: Place | None  # one current commune of the province, named by its own name
    province: bool  # the name is the province itself
    communes: list[tuple[Place, str | None]]  # the readings in the province (old name it came by)
    elsewhere: list[str]  # the readings outside the province, by name


def find(typed: str, *, province: Place, province_name: str) -> Found:
    """The places a searched name may mean, read exactly as the chat reads a message that is
    only a place (``areas.understand``, ``alone``): old and new names, with or without marks."""
    asked = understand(typed, province=province_name, alone=True)
    readings = [asked.area, *asked.choices] if asked.area else list(asked.choices)
    communes: dict[int, tuple[Place, str | None]] = {}
    elsewhere: list[str] = []
    named_province = False
    for area in readings:
        for unit in area.units:
            if unit.province_code != province.code:
                elsewhere.append(area.name if area.old_name else area_label(unit))
            elif unit.level == "province":
                named_province = True
            else:
                communes.setdefault(unit.code, (unit, area.old_name))
    top = asked.area
    direct = None
    if top and len(top.units) == 1 and not top.old_name and top.units[0].level == "commune":
        direct = top.units[0] if top.units[0].province_code == province.code else None
    return Found(direct, named_province, list(communes.values()), list(dict.fromkeys(elsewhere)))


def area_label(unit: Place) -> str:
    """ "Phường Kỳ Lừa, Tỉnh Lạng Sơn"; a province by its name."""
    return unit.name if unit.level == "province" else f"{unit.name}, {unit.province_name}"


def code_label(area: AreaCode) -> str:
    """An announcement's area by name; its code if the unit no longer exists."""
    try:
        if area.commune_code is None:
            return places.get(area.province_code, level="province").name
        return places.get(area.commune_code).name
    except KeyError:
        return str(area.commune_code or area.province_code)


def commune_of(code: int, province: Place) -> Place | None:
    """The current commune with this code, if it lies in ``province``; else None."""
    try:
        place = places.get(code)
    except KeyError:
        return None
    return place if place.province_code == province.code else None


def _active_zone_counts(session: Session, province_code: int, at: datetime) -> dict[int, int]:
    rows = session.execute(
        select(LockdownZone.commune_code, func.count())
        .where(
            LockdownZone.province_code == province_code,
            LockdownZone.status == ACTIVE,
            LockdownZone.starts_at <= at,
            (LockdownZone.ends_at.is_(None)) | (LockdownZone.ends_at > at),
        )
        .group_by(LockdownZone.commune_code)
    )
    return {int(code or 0): int(n) for code, n in rows}  # zones always have a commune


def _demo(*sources: Source | None) -> bool:
    return any(s is not None and s.demo for s in sources)


def province(*, session: Session, province: Place, at: datetime) -> Province:
    """The province page: its level, each commune's, the newest zones, the hotlines."""
    describe = _Describer(session)
    area = Area(f"p:{province.code}", (province,))
    level = describe(store.levels(session=session, area=area, at=at)[0].level)
    units = sorted(places.units_in(province.code), key=lambda p: vi.key(base(p.name)))
    # One call for every commune: the same rule as a question about any one of them.
    each = store.levels(session=session, area=Area("", tuple(units)), at=at)
    by_code = {u.unit.code: u.level for u in each if u.unit is not None}
    agreed = each[0].level if len(each) == 1 and each[0].unit is None else None
    zone_counts = _active_zone_counts(session, province.code, at)
    communes = [
        CommuneRow(unit, describe(by_code.get(unit.code, agreed)), zone_counts.get(unit.code, 0))
        for unit in units
    ]
    zones = store.zones(session=session, area=area, at=at, limit=ZONES_ON_HOME)
    hotlines = store.hotlines(session=session, area=area, at=at)
    demo = _demo(
        *(c.level.source if c.level else None for c in communes),
        level.source if level else None,
        *(z.source for z in zones.active),
        *(h.source for h in hotlines),
    )
    return Province(province, level, communes, zones, hotlines, demo)


def commune(*, session: Session, place: Place, at: datetime) -> Commune:
    """A commune's page: its level now (its own or the province's), the history of both, its
    active zones and its hotlines."""
    describe = _Describer(session)
    area = Area(f"c:{place.code}", (place,))
    now = store.levels(session=session, area=area, at=at)[0]
    rows = [
        *level_history.history(session=session, area=AreaCode(place.province_code, place.code)),
        *level_history.history(session=session, area=AreaCode(place.province_code)),
    ]
    rows.sort(key=lambda r: (r.valid_from, r.id), reverse=True)
    history = [shown for r in rows if (shown := describe(r)) is not None]
    level = describe(now.level)
    zones = store.zones(session=session, area=area, at=at, limit=ZONES_ON_COMMUNE)
    hotlines = store.hotlines(session=session, area=area, at=at)
    demo = _demo(
        level.source if level else None,
        *(z.source for z in zones.active),
        *(h.source for h in hotlines),
    )
    return Commune(place, level, now.own, history, zones, hotlines, demo)


def version(*, session: Session) -> str:
    """A fingerprint of what the public pages show, in one query: it changes when a level is
    set (a row added, another ended), a zone is added or lifted, an announcement is approved
    or sent, a hotline, source, situation or scheme level is added or removed. An edit of a
    text in place is not seen; the cached pages' short time-to-live covers it (and time
    itself: a level that starts at noon)."""
    active = case((LockdownZone.status == ACTIVE, 1), else_=0)
    parts = (
        func.count(AreaLevel.id), func.max(AreaLevel.id), func.max(AreaLevel.valid_until),
        func.count(LockdownZone.id), func.max(LockdownZone.id), func.max(LockdownZone.ends_at),
        func.sum(active),
        func.count(Broadcast.id), func.max(Broadcast.updated_at),
        func.count(Hotline.id), func.max(Hotline.id), func.max(Hotline.valid_until),
        func.count(Source.id), func.max(Source.id),
        func.max(LevelHead.updated_at), func.sum(LevelHead.version),
        func.count(Situation.level), func.count(SchemeLevel.level),
    )  # fmt: skip
    row = session.execute(select(*(select(p).scalar_subquery() for p in parts))).one()
    return repr(tuple(row))
