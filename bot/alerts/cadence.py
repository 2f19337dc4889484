"""The cadence: digests so every subscriber hears at least their level's minimum, and the
plan-vs-actual report of who did.

A weekly level with ``per_week`` n spreads n messages evenly: one period every 7/n days,
counted from a fixed Monday 08:00 in Viet Nam (1/week: Mondays 08:00; 2/week: Mondays 08:00
and Thursdays 20:00 — the delivery worker holds it for the quiet hours). In a period where
nothing else reached the area (a level or zone announcement, a one-off), the scheduler makes a
digest, approved by the system: the level and what it means, the lockdowns, where to get help,
what changed since the last digest. One digest per (area, period) by a unique key, and none
within one spacing of the last, so planning twice — or in two processes — plans once.
Real-time levels are announced as they change (urgent broadcasts); recovery has no minimum.
The per-person daily cap and the quiet hours are applied when sending (``bot.alerts.delivery``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.alerts import audience, schemes, templates
from bot.alerts.broadcasts import area_name, content_area, hotline_text, zones_text
from bot.alerts.subscriptions import AreaCode
from bot.clock import VIETNAM, day, moment
from bot.storage.alerts import (
    APPROVED,
    DIGEST,
    DONE,
    SENT,
    Broadcast,
    Delivery,
    Subscription,
)
from bot.storage.content import ACTIVE, AreaLevel, LockdownZone
from bot.storage.schemes import REALTIME, DigestSlot

log = logging.getLogger(__name__)

WEEK = timedelta(days=7)
EPOCH = datetime(2024, 1, 1, 8, 0, tzinfo=VIETNAM)  # a Monday, 08:00 in Viet Nam
ANNOUNCED = (APPROVED, DONE)  # broadcasts that reached (or are reaching) their areas


@dataclass(frozen=True)
class AreaState:
    """An area with a level of its own in force, and what that level asks."""

    area: AreaCode
    row: AreaLevel
    level: schemes.Level


def in_force(*, session: Session, at: datetime) -> list[AreaState]:
    """Every area (commune or province) with its own level in force at ``at``."""
    rows = session.scalars(
        select(AreaLevel)
        .where(
            AreaLevel.province_code.is_not(None),
            AreaLevel.valid_from <= at,
            or_(AreaLevel.valid_until.is_(None), AreaLevel.valid_until > at),
        )
        .order_by(AreaLevel.valid_from.desc(), AreaLevel.id.desc())
    )
    found: dict[AreaCode, AreaState] = {}
    for row in rows:
        area = AreaCode(row.province_code, row.commune_code)  # type: ignore[arg-type]
        if area in found:
            continue
        level = schemes.level(session=session, scheme=row.scheme, number=row.level)
        if level is not None:
            found[area] = AreaState(area, row, level)
    return sorted(found.values(), key=lambda s: (s.area.province_code, s.area.commune_code or 0))


def spacing(level: schemes.Level) -> timedelta:
    """How far apart a weekly level's messages are: 7 days / per week."""
    assert level.per_week
    return WEEK / level.per_week


def period_start(at: datetime, gap: timedelta) -> datetime:
    """The start of the cadence period ``at`` falls in."""
    return EPOCH + gap * ((at - EPOCH) // gap)


def covers(broadcast_areas: list[dict[str, int | None]], area: AreaCode) -> bool:
    """Whether a broadcast for ``broadcast_areas`` reaches the subscribers of ``area``
    (a province's broadcast reaches its communes; for a province, any of its communes')."""
    for other in broadcast_areas:
        if other["province_code"] != area.province_code:
            continue
        if other.get("commune_code") is None or area.commune_code is None:
            return True
        if other.get("commune_code") == area.commune_code:
            return True
    return False


def _announced(session: Session, since: datetime, until: datetime) -> list[Broadcast]:
    return list(
        session.scalars(
            select(Broadcast).where(
                Broadcast.status.in_(ANNOUNCED),
                Broadcast.approved_at >= since,
                Broadcast.approved_at <= until,
            )
        )
    )


def _has_subscribers(session: Session, area: AreaCode) -> bool:
    chosen = audience.recipients([area]).subquery()
    return session.scalar(select(literal(1)).select_from(chosen).limit(1)) is not None


def plan_digests(*, session: Session, now: datetime) -> list[Broadcast]:
    """Make the digests due now (approved by the system); the caller commits."""
    made: list[Broadcast] = []
    for state in in_force(session=session, at=now):
        if not state.level.weekly:
            continue
        gap = spacing(state.level)
        start = period_start(now, gap)
        key = state.area.key
        last = session.scalar(
            select(func.max(DigestSlot.created_at)).where(DigestSlot.area_key == key)
        )
        if last is not None and last > now - gap:
            continue
        # An announcement that reached the area this period counts; another area's digest
        # does not (the province's digest speaks of the province's level, not the commune's).
        reached = any(
            covers(b.areas, state.area) and b.kind != DIGEST
            for b in _announced(session, start, now)
        )
        if reached or not _has_subscribers(session, state.area):
            continue
        digest = _digest(session, state, now, since=last or now - gap)
        try:
            with session.begin_nested():
                session.add(digest)
                session.flush()
                session.add(
                    DigestSlot(area_key=key, period_start=start, broadcast_id=digest.id,
                               created_at=now)
                )  # fmt: skip
        except IntegrityError:  # another planner made this period's digest first
            continue
        log.info("digest %s planned for %s (period from %s)", digest.id, key, start.isoformat())
        made.append(digest)
    return made


def _digest(session: Session, state: AreaState, now: datetime, *, since: datetime) -> Broadcast:
    area = content_area(state.area)
    name = area_name(state.area)
    level = state.level
    parts = [
        templates.say("digest_head", area=name, date=now.astimezone(VIETNAM).strftime("%d/%m/%Y")),
        templates.say("digest_level", level=level.level, name=level.name, meaning=level.meaning),
        templates.say("digest_zones", zones=zones_text(session, area, now)),
        templates.say("digest_help", hotlines=hotline_text(session, area, now)),
    ]
    changes = _changes(session, state.area, since, now)
    parts.append(
        templates.say("digest_changes", changes="; ".join(changes))
        if changes
        else templates.say("digest_no_changes")
    )
    parts.append(templates.say("digest_foot"))
    text = "\n\n".join(parts)
    if len(text) > templates.MAX_RENDERED:  # a long meaning: cut, never refuse a digest
        text = text[: templates.MAX_RENDERED - 1] + "…"
    return Broadcast(
        kind=DIGEST,
        status=APPROVED,
        areas=[
            {"province_code": state.area.province_code, "commune_code": state.area.commune_code}
        ],
        scheme=level.scheme,
        level=level.level,
        area_level_id=state.row.id,
        title=templates.say("title_digest", area=name)[:200],
        template=text.replace("{", "{{").replace("}", "}}"),  # it renders to itself
        text=text,
        urgent=False,
        created_at=now,
        updated_at=now,
        approved_at=now,
    )


def _changes(session: Session, area: AreaCode, since: datetime, now: datetime) -> list[str]:
    """What changed in the area since the last digest: levels taking effect, zones set up
    or lifted."""
    out: list[str] = []
    mine = AreaLevel.province_code == area.province_code
    if area.commune_code is not None:
        mine = and_(
            mine,
            or_(AreaLevel.commune_code.is_(None), AreaLevel.commune_code == area.commune_code),
        )
    else:
        mine = and_(mine, AreaLevel.commune_code.is_(None))
    for row in session.scalars(
        select(AreaLevel)
        .where(mine, AreaLevel.valid_from > since, AreaLevel.valid_from <= now)
        .order_by(AreaLevel.valid_from)
    ):
        at = moment(row.valid_from)
        out.append(
            templates.say("digest_change_level", level=row.level, at=at, decision=row.decision)
        )
    zone_area = (
        LockdownZone.commune_code == area.commune_code
        if area.commune_code is not None
        else LockdownZone.province_code == area.province_code
    )
    for zone in session.scalars(
        select(LockdownZone).where(zone_area).order_by(LockdownZone.starts_at)
    ):
        if since < zone.starts_at <= now:
            out.append(
                templates.say("digest_change_zone_new", name=zone.name, at=day(zone.starts_at))
            )
        if zone.status != ACTIVE and zone.ends_at is not None and since < zone.ends_at <= now:
            out.append(
                templates.say("digest_change_zone_lifted", name=zone.name, at=day(zone.ends_at))
            )
    return out


@dataclass(frozen=True)
class AreaWeek:
    """One area's week for the plan-vs-actual chart."""

    area: AreaCode
    name: str
    scheme: str
    level: int
    level_name: str
    cadence: str
    required: int | None  # messages each person had to get; None: no minimum (recovery)
    subscribers: int
    met: int  # subscribers who got at least ``required`` messages that week
    percent: float | None  # met / subscribers; None without subscribers or minimum


def plan_vs_actual(*, session: Session, week_start: datetime, now: datetime) -> list[AreaWeek]:
    """Per area with its own level: what the level required of the week starting at
    ``week_start`` (weekly: per week; real time: every announcement for the area that week)
    and how many subscribers got it, counting ``sent`` deliveries (up to ``now``)."""
    week_end = min(week_start + WEEK, now)
    if week_end <= week_start:
        return []
    at = week_end - timedelta(microseconds=1)
    announced = [
        b for b in session.scalars(
            select(Broadcast).where(
                Broadcast.status.in_(ANNOUNCED), Broadcast.approved_at < week_end,
                or_(Broadcast.finished_at.is_(None), Broadcast.finished_at >= week_start),
            )
        )
    ]  # fmt: skip
    result: list[AreaWeek] = []
    for state in in_force(session=session, at=at):
        mine = [b for b in announced if covers(b.areas, state.area)]
        if state.level.weekly:
            required: int | None = state.level.per_week
        elif state.level.cadence == REALTIME:
            required = sum(1 for b in mine if b.approved_at and b.approved_at >= week_start)
        else:
            required = None
        people = (
            select(Subscription.person_id)
            .where(
                audience.matches([state.area]),
                Subscription.created_at < week_end,
                or_(Subscription.ended_at.is_(None), Subscription.ended_at > week_start),
            )
            .distinct()
            .subquery()
        )
        subscribers = session.scalar(select(func.count()).select_from(people)) or 0
        met = subscribers if not required else _met(session, people, mine, required,
                                                    week_start, week_end)  # fmt: skip
        percent = round(100 * met / subscribers, 1) if subscribers and required else None
        result.append(
            AreaWeek(
                area=state.area, name=area_name(state.area), scheme=state.level.scheme,
                level=state.level.level, level_name=state.level.name,
                cadence=state.level.cadence, required=required, subscribers=subscribers,
                met=met, percent=percent,
            )
        )  # fmt: skip
    return result


def _met(
    session: Session, people: object, mine: list[Broadcast], required: int,
    week_start: datetime, week_end: datetime,
) -> int:  # fmt: skip
    if not mine:
        return 0
    got = (
        select(Delivery.person_id)
        .where(
            Delivery.broadcast_id.in_([b.id for b in mine]),
            Delivery.person_id.in_(select(people.c.person_id)),  # type: ignore[attr-defined]
            Delivery.status == SENT,
            Delivery.sent_at >= week_start,
            Delivery.sent_at < week_end,
        )
        .group_by(Delivery.person_id)
        .having(func.count() >= required)
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(got)) or 0
