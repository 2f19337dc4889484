"""Setting an area's level: the history row, the row it ends, and the announcement's draft.

The level must be one of the scheme in force; the area a current commune or province; the
decision number given; the effective time at most a day back (a decision entered late the
morning after) and at most 90 days ahead (further is a plan, not a decision). The row in force
for that exact area ends when the new one starts, so ``bot.content.store.levels`` — what the
bot answers — moves to the new level at its effective time. Two officers changing one area at
once: a compare-and-set on the area's ``LevelHead`` lets one win; the other gets ``Conflict``
and nothing of theirs is written. The caller commits, and rolls back after an error.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bot import places
from bot import settings as settings_module
from bot.alerts import schemes, templates
from bot.alerts.broadcasts import (
    BroadcastError,
    Conflict,
    area_name,
    busy,
    check_area,
    new_draft,
    refuse,
)
from bot.alerts.subscriptions import AreaCode
from bot.clock import VIETNAM, moment
from bot.helpdesk import staff as accounts
from bot.helpdesk.staff import Staff
from bot.storage.alerts import LEVEL_CHANGE, Broadcast
from bot.storage.content import AreaLevel, Source
from bot.storage.schemes import LevelHead

MAX_DECISION = 80  # the column's size; a decision number is "125/QĐ-UBND"
MAX_BACK = timedelta(hours=24)  # a decision entered the morning after it took effect
MAX_AHEAD = timedelta(days=90)  # further ahead is a plan, not a decision to announce


def _exact(area: AreaCode) -> object:
    commune = (
        AreaLevel.commune_code.is_(None)
        if area.commune_code is None
        else AreaLevel.commune_code == area.commune_code
    )
    return and_(AreaLevel.province_code == area.province_code, commune)


def history(*, session: Session, area: AreaCode) -> list[AreaLevel]:
    """The levels set for exactly this area, newest first (inherited ones are not listed)."""
    return list(
        session.scalars(
            select(AreaLevel)
            .where(_exact(area))  # type: ignore[arg-type]
            .order_by(AreaLevel.valid_from.desc(), AreaLevel.id.desc())
        )
    )


def _check(
    *, session: Session, area: AreaCode, scheme: str, level: int, decision: str,
    effective_at: datetime, now: datetime,
) -> tuple[schemes.Level, str]:  # fmt: skip
    check_area(area)
    found = schemes.levels(session=session, scheme=scheme)
    if not found:
        raise refuse("level", "scheme_unknown", scheme=scheme)
    if level not in found:
        allowed = ", ".join(str(n) for n in found)
        raise refuse("level", "level_unknown", level=level, scheme=scheme, allowed=allowed)
    decision = " ".join(decision.split())
    if not decision:
        raise refuse("decision", "decision_empty")
    if len(decision) > MAX_DECISION:
        raise refuse("decision", "decision_too_long")
    if effective_at.tzinfo is None:
        raise ValueError("effective_at must be timezone-aware")
    if effective_at < now - MAX_BACK:
        raise refuse("effective_at", "effective_past", at=moment(effective_at))
    if effective_at > now + MAX_AHEAD:
        raise refuse("effective_at", "effective_future", at=moment(effective_at))
    return found[level], decision


def _source(session: Session, area: AreaCode, decision: str, effective_at: datetime) -> Source:
    """The decision as a content source (one per number), as the bot cites it."""
    key = "qd-" + hashlib.sha256(decision.encode()).hexdigest()[:20]
    row = session.scalar(select(Source).where(Source.key == key))
    if row is None:
        province = places.get(area.province_code, level="province").name
        row = Source(
            key=key,
            title=templates.say("decision_title", decision=decision),
            number=decision,
            issuer=templates.say("decision_issuer", province=province),
            issued_on=effective_at.astimezone(VIETNAM).date(),
        )
        session.add(row)
        session.flush()
    return row


def _take_head(session: Session, area: AreaCode, now: datetime) -> LevelHead:
    """Compare-and-set the area's head: the second of two concurrent changes fails here."""
    head = session.get(LevelHead, area.key)
    try:
        if head is None:
            head = LevelHead(area_key=area.key, version=1, updated_at=now)
            session.add(head)
            session.flush()
            return head
        seen = head.version
        moved = session.execute(
            update(LevelHead)
            .where(LevelHead.area_key == area.key, LevelHead.version == seen)
            .values(version=seen + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    except IntegrityError:
        raise Conflict("version", templates.error_text("level_conflict")) from None
    except OperationalError as exc:
        if not busy(exc):
            raise
        raise Conflict("version", templates.error_text("level_conflict")) from None
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("version", templates.error_text("level_conflict"))
    session.expire(head)
    return head


def set_level(
    *,
    session: Session,
    officer: Staff,
    area: AreaCode,
    level: int,
    decision: str,
    effective_at: datetime,
    now: datetime,
    note: str | None = None,
    cfg: settings_module.Settings | None = None,
) -> tuple[AreaLevel, Broadcast]:
    """Record the area's new level and make its announcement's draft; (history row, draft)."""
    if not accounts.may(officer, accounts.SET_LEVEL):
        raise refuse("officer", "not_allowed")
    cfg = cfg or settings_module.load()
    chosen, decision = _check(
        session=session,
        area=area,
        scheme=cfg.alert_scheme,
        level=level,
        decision=decision,
        effective_at=effective_at,
        now=now,
    )
    head = _take_head(session, area, now)
    later = session.scalar(
        select(AreaLevel)
        .where(_exact(area), AreaLevel.valid_from >= effective_at)  # type: ignore[arg-type]
        .order_by(AreaLevel.valid_from.desc())
        .limit(1)
    )
    if later is not None:  # the history stays one line: no change slips in before another
        raise refuse(
            "effective_at", "effective_later_exists", decision=later.decision,
            at=moment(later.valid_from),
        )  # fmt: skip
    in_force = session.scalars(
        select(AreaLevel).where(
            _exact(area),  # type: ignore[arg-type]
            or_(AreaLevel.valid_until.is_(None), AreaLevel.valid_until > effective_at),
        )
    )
    for row in in_force:
        row.valid_until = effective_at
    source = _source(session, area, decision, effective_at)
    stamp = effective_at.astimezone(VIETNAM).strftime("%Y%m%d%H%M")
    row = AreaLevel(
        key=f"{area.key}-{stamp}-{secrets.token_hex(3)}",
        province_code=area.province_code,
        commune_code=area.commune_code,
        source_id=source.id,
        valid_from=effective_at,
        valid_until=None,
        scheme=chosen.scheme,
        level=chosen.level,
        decision=decision,
        note=(note or "").strip() or None,
    )
    session.add(row)
    session.flush()
    head.area_level_id = row.id
    accounts.audit(
        session=session,
        staff=officer,
        action="level_set",
        target_kind="area_level",
        target_id=row.id,
        detail={"area": area.key, "scheme": chosen.scheme, "level": level, "decision": decision},
        now=now,
    )
    title = templates.say("title_level", area=area_name(area), level=level, name=chosen.name)
    draft = new_draft(
        session=session,
        officer=officer,
        kind=LEVEL_CHANGE,
        areas=[area],
        title=title[:200],
        template=chosen.template,
        urgent=chosen.urgent,
        now=now,
        scheme=chosen.scheme,
        level=chosen.level,
        area_level_id=row.id,
    )
    return row, draft


__all__ = ["BroadcastError", "Conflict", "history", "set_level"]
