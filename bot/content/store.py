"""Queries the actions answer from: what is current for an area at a given time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from bot import text as vi
from bot.content.areas import Area
from bot.places import Place
from bot.storage.content import (
    ACTIVE,
    AreaLevel,
    Hotline,
    InfoItem,
    LockdownZone,
    SchemeGroup,
    Situation,
    SupportGroup,
    SupportScheme,
)

# The models with a validity period (``_Valid``): one type for the helpers below.
Valid = InfoItem | Hotline | SupportScheme | AreaLevel


def _current(model: type[Any], at: datetime) -> ColumnElement[bool]:
    return and_(model.valid_from <= at, or_(model.valid_until.is_(None), model.valid_until > at))


def _applies(model: type[Any], area: Area | None) -> ColumnElement[bool]:
    """Items for the whole country, for the area's province(s), or for one of its communes (a
    province-wide question does not list every commune's items)."""
    national = model.province_code.is_(None)
    if area is None:
        return national
    provinces = area.province_codes
    clauses = [national, and_(model.province_code.in_(provinces), model.commune_code.is_(None))]
    if area.commune_codes:
        clauses.append(model.commune_code.in_(area.commune_codes))
    return or_(*clauses)


def _scope(model: type[Any]) -> tuple[Any, ...]:
    """Order: national first, then province, then commune; then the file's order."""
    return (
        model.province_code.is_not(None),
        model.commune_code.is_not(None),
        model.position,
        model.id,
    )


def info(topic: str, *, session: Session, area: Area | None, at: datetime) -> list[InfoItem]:
    """Current guidance on ``topic`` for the area (national guidance included)."""
    query = (
        select(InfoItem)
        .where(InfoItem.topic == topic, _current(InfoItem, at), _applies(InfoItem, area))
        .order_by(*_scope(InfoItem))
    )
    return list(session.scalars(query))


def hotlines(*, session: Session, area: Area | None, at: datetime) -> list[Hotline]:
    """Current hotlines: national ones, then the province's, then the commune's."""
    query = (
        select(Hotline)
        .where(_current(Hotline, at), _applies(Hotline, area))
        .order_by(*_scope(Hotline))
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class Schemes:
    """Schemes for an area: the open ones, and how many have closed (shown as closed)."""

    open: list[SupportScheme]
    open_total: int
    closed: list[SupportScheme]
    closed_total: int


def schemes(
    *, session: Session, area: Area | None, at: datetime, group: str | None = None, limit: int = 6
) -> Schemes:
    """Open schemes first (deadline not passed), then the latest closed ones; ``group``
    narrows to the schemes for that kind of person."""
    base = select(SupportScheme).where(_applies(SupportScheme, area))
    if group:
        base = base.where(
            SupportScheme.id.in_(
                select(SchemeGroup.scheme_id).where(SchemeGroup.group_key == group)
            )
        )
    is_open = _current(SupportScheme, at)
    closed_now = SupportScheme.valid_until <= at

    def total(where: ColumnElement[bool]) -> int:
        return session.scalar(select(func.count()).select_from(base.where(where).subquery())) or 0

    open_items = session.scalars(base.where(is_open).order_by(*_scope(SupportScheme)).limit(limit))
    closed_items = session.scalars(
        base.where(closed_now)
        .order_by(SupportScheme.valid_until.desc(), SupportScheme.position)
        .limit(limit)
    )
    return Schemes(list(open_items), total(is_open), list(closed_items), total(closed_now))


def groups(*, session: Session) -> list[SupportGroup]:
    return list(session.scalars(select(SupportGroup).order_by(SupportGroup.position)))


def group_in(text: str, candidates: Sequence[SupportGroup]) -> SupportGroup | None:
    """The first group whose keywords (folded phrases) appear in ``text`` as whole words."""
    folded = f" {vi.key(text)} "
    for group in candidates:
        if any(f" {vi.key(word)} " in folded for word in group.keywords):
            return group
    return None


@dataclass(frozen=True)
class Zones:
    active: list[LockdownZone]
    total: int


def zones(*, session: Session, area: Area, at: datetime, limit: int = 10) -> Zones:
    """Zones closed at ``at`` in the area (a province: in all its communes), newest first."""
    if area.is_province:
        where = LockdownZone.province_code.in_(area.province_codes)
    else:
        where = LockdownZone.commune_code.in_(area.commune_codes)
    current = and_(
        where,
        LockdownZone.status == ACTIVE,
        LockdownZone.starts_at <= at,
        or_(LockdownZone.ends_at.is_(None), LockdownZone.ends_at > at),
    )
    found = session.scalars(
        select(LockdownZone)
        .where(current)
        .order_by(LockdownZone.starts_at.desc(), LockdownZone.id)
        .limit(limit)
    )
    total = session.scalar(select(func.count()).select_from(LockdownZone).where(current)) or 0
    return Zones(list(found), total)


@dataclass(frozen=True)
class UnitLevel:
    """The level in force for one unit, and where it comes from (its own, the province's)."""

    unit: Place | None  # None: the whole area (a province, or the country)
    level: AreaLevel | None
    own: bool  # set for this unit itself, not inherited from the province or the country


def levels(*, session: Session, area: Area | None, at: datetime) -> list[UnitLevel]:
    """The level in force for the area: one row for a province or a commune; one per commune
    for an old unit that now spans several (merged when they agree)."""
    rows = list(
        session.scalars(
            select(AreaLevel)
            .where(_current(AreaLevel, at), _applies(AreaLevel, area))
            .order_by(AreaLevel.valid_from.desc(), AreaLevel.id.desc())
        )
    )

    def first(match: Any) -> AreaLevel | None:
        return next((r for r in rows if match(r)), None)

    national = first(lambda r: r.province_code is None)
    if area is None:
        return [UnitLevel(None, national, national is not None)]
    if area.is_province:
        code = area.units[0].code
        own = first(lambda r: r.province_code == code and r.commune_code is None)
        return [UnitLevel(None, own or national, own is not None)]
    result: list[UnitLevel] = []
    for unit in area.units:
        own = first(lambda r, c=unit.code: r.commune_code == c)
        province = first(
            lambda r, p=unit.province_code: r.province_code == p and r.commune_code is None
        )
        result.append(UnitLevel(unit, own or province or national, own is not None))
    levels_seen = {(u.level.id if u.level else None) for u in result}
    if len(result) > 1 and len(levels_seen) == 1:
        return [UnitLevel(None, result[0].level, result[0].own)]
    return result


def situations(*, session: Session) -> list[Situation]:
    return list(session.scalars(select(Situation).order_by(Situation.level)))


def is_empty(*, session: Session) -> bool:
    """True when no content was ever loaded (``loa run`` then loads the demo)."""
    return session.scalar(select(func.count()).select_from(Situation)) == 0
