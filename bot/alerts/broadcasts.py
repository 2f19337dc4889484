"""Broadcasts from draft to approval: templates filled from data, four eyes, progress.

An announcement starts as a draft (a level change, a lockdown zone, or an officer's one-off);
its template is checked when it is saved, never at sending time. A second officer approves it
(``ALERT_SELF_APPROVE_URGENT`` may let the author approve an urgent one alone); approval fills
the template once into ``text`` — what every recipient reads — and the delivery worker
(``bot.alerts.delivery``) makes the rows and sends. Every change is compared-and-set on the
broadcast's ``version`` and written to the staff audit log. The caller commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot import places
from bot import settings as settings_module
from bot.alerts import audience, schemes, templates
from bot.alerts.subscriptions import AreaCode
from bot.clock import moment
from bot.content import store
from bot.content.areas import Area, from_key
from bot.helpdesk import staff as accounts
from bot.helpdesk.staff import Staff
from bot.storage.alerts import (
    APPROVED,
    CANCELLED,
    DIGEST,
    DONE,
    DRAFT,
    FAILED,
    ONE_OFF,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    UNCERTAIN,
    UNREACHABLE,
    ZONE_CHANGE,
    Broadcast,
    Delivery,
)
from bot.storage.content import ACTIVE, AreaLevel, LockdownZone
from bot.storage.staff import StaffUser
from connectors.zalo_oa.outbound import REPLY_WINDOW

log = logging.getLogger(__name__)

PLACEHOLDERS: dict[str, str] = templates.placeholders()
MAX_TITLE = 200
PAGE_SIZE = 50
RATE_WINDOW = timedelta(minutes=1)  # the sending rate is measured over the last minute
TOP_FAILURES = 5
HOTLINES_SHOWN = 3  # a text that lists every number is read by nobody
ZONES_SHOWN = 5
# Reply windows of the channels that have one: who cannot be reached now (the preview).
WINDOWS = {"zalo_oa": REPLY_WINDOW}


class BroadcastError(ValueError):
    """Every refusal: ``field`` names what is wrong, ``message_vi`` says it to the officer."""

    def __init__(self, field: str, message_vi: str) -> None:
        super().__init__(f"{field}: {message_vi}")
        self.field = field
        self.message_vi = message_vi


class Conflict(BroadcastError):
    """Someone changed it first (a stale version, a concurrent level change)."""


def refuse(field: str, key: str, /, **values: Any) -> BroadcastError:
    """A refusal with the sentence ``key`` of messages.yml."""
    return BroadcastError(field, templates.error_text(key, **values))


@dataclass(frozen=True)
class Preview:
    """What the officer sees before approving: the audience and the text as it will read."""

    counts: audience.Counts
    text: str


@dataclass(frozen=True)
class Progress:
    """Where the sending of a broadcast stands."""

    total: int
    pending: int
    sending: int
    sent: int
    failed: int
    uncertain: int
    unreachable: int
    skipped: int
    rate_per_s: float | None  # sent per second over the last minute; None before any row
    seconds_left: float | None  # at that rate; None when nothing is being sent
    failures: list[tuple[str, int]]  # reason, count: the most frequent first


# --- texts -----------------------------------------------------------------------------------


def area_codes(broadcast: Broadcast) -> list[AreaCode]:
    return audience.areas_of(broadcast)


def content_area(area: AreaCode) -> Area:
    """The content's view of an area code (``bot.content.store`` queries take it)."""
    key = f"c:{area.commune_code}" if area.commune_code is not None else f"p:{area.province_code}"
    found = from_key(key)
    if found is None:
        raise refuse("areas", "area_unknown", key=key)
    return found


def area_name(area: AreaCode) -> str:
    return content_area(area).name


def check_area(area: AreaCode) -> None:
    """A current commune of its province, or a current province; else BroadcastError."""
    try:
        if area.commune_code is None:
            places.get(area.province_code, level="province")
            return
        unit = places.get(area.commune_code)
    except KeyError:
        unit = None
    if unit is None or unit.province_code != area.province_code:
        raise refuse("areas", "area_unknown", key=area.key)


def hotline_text(session: Session, area: Area, at: datetime) -> str:
    """The area's hotlines in one line, its own first (a few: nobody reads a long list)."""
    rows = store.hotlines(session=session, area=area, at=at)
    rows = sorted(rows, key=lambda r: r.province_code is None)  # the area's own first
    items = [templates.say("hotline_item", name=r.name, number=r.number) for r in rows]
    return "; ".join(items[:HOTLINES_SHOWN]) or templates.say("no_hotline")


def zones_text(session: Session, area: Area, at: datetime) -> str:
    """The lockdown zones active in the area at ``at``, in one line."""
    found = store.zones(session=session, area=area, at=at, limit=ZONES_SHOWN)
    kinds = dict(_zone_kinds())
    names = [
        templates.say("zone_line", name=z.name, kind=kinds.get(z.kind, z.kind))
        for z in found.active
    ]
    if found.total > len(names):
        names.append(f"… (+{found.total - len(names)})")
    return "; ".join(names) or templates.say("no_zones")


def _zone_kinds() -> dict[str, str]:
    from bot import wording

    return wording.table("zone_kinds")


def _level_row(session: Session, broadcast: Broadcast, first: Area, at: datetime) -> Any:
    if broadcast.area_level_id is not None:
        return session.get(AreaLevel, broadcast.area_level_id)
    rows = store.levels(session=session, area=first, at=at)
    return rows[0].level if rows else None


def values(session: Session, broadcast: Broadcast, now: datetime) -> dict[str, str]:
    """Every placeholder's value for this broadcast: areas by name; the level, hotlines and
    zones of its first area (a one-off for several areas names them all in ``khu_vuc``)."""
    codes = area_codes(broadcast)
    if not codes:
        raise refuse("areas", "areas_empty")
    first = content_area(codes[0])
    none = templates.say("none")
    out = {name: none for name in PLACEHOLDERS}
    out["khu_vuc"] = ", ".join(area_name(code) for code in codes)
    out["duong_day_nong"] = hotline_text(session, first, now)
    out["vung_phong_toa"] = zones_text(session, first, now)
    row = _level_row(session, broadcast, first, now)
    if row is not None:
        name, meaning = schemes.describe(session=session, row=row)
        out |= {"cap_do": str(row.level), "ten_cap_do": name, "y_nghia": meaning or none}
        out |= {"quyet_dinh": row.decision, "hieu_luc": moment(row.valid_from)}
    if broadcast.kind == ZONE_CHANGE and broadcast.zone_id is not None:
        zone = session.get(LockdownZone, broadcast.zone_id)
        if zone is not None:
            out["ten_vung"] = zone.name
            out["quyet_dinh"] = zone.decision
            lifted = zone.status != ACTIVE and zone.ends_at is not None
            out["hieu_luc"] = moment(zone.ends_at if lifted and zone.ends_at else zone.starts_at)
    return out


def render(session: Session, broadcast: Broadcast, now: datetime) -> str:
    """The broadcast's text as recipients will read it; BroadcastError when it cannot be."""
    found = templates.problem(broadcast.template)
    if found is not None:
        raise refuse("template", found[0], **found[1])
    text = templates.render(broadcast.template, values(session, broadcast, now))
    if not text:
        raise refuse("template", "template_empty")
    if len(text) > templates.MAX_RENDERED:
        raise refuse(
            "template", "template_too_long", length=len(text), limit=templates.MAX_RENDERED
        )
    return text


def _check_title(title: str) -> str:
    title = title.strip()
    if not title or len(title) > MAX_TITLE:
        raise refuse("title", "title_empty")
    return title


# --- drafts ----------------------------------------------------------------------------------


def _require(officer: Staff, action: str) -> None:
    if not accounts.may(officer, action):
        raise refuse("officer", "not_allowed")


def _audit(session: Session, officer: Staff | None, action: str, row: Broadcast, now: datetime,
           **detail: Any) -> None:  # fmt: skip
    accounts.audit(
        session=session,
        staff=officer,
        action=f"broadcast_{action}",
        target_kind="broadcast",
        target_id=row.id,
        detail={"kind": row.kind, "status": row.status, **detail},
        now=now,
        actor="system" if officer is None else "",
    )


def new_draft(
    *,
    session: Session,
    officer: Staff | None,
    kind: str,
    areas: list[AreaCode],
    title: str,
    template: str,
    urgent: bool,
    now: datetime,
    **links: Any,
) -> Broadcast:
    """Check and store a draft (``links``: scheme, level, area_level_id, zone_id)."""
    if not areas:
        raise refuse("areas", "areas_empty")
    for area in areas:
        check_area(area)
    row = Broadcast(
        kind=kind,
        status=DRAFT,
        areas=[{"province_code": a.province_code, "commune_code": a.commune_code} for a in areas],
        title=_check_title(title),
        template=template.strip(),
        urgent=urgent,
        created_by=officer.id if officer is not None else None,
        created_at=now,
        updated_at=now,
        **links,
    )
    with session.no_autoflush:
        render(session, row, now)  # refused at save time, not when it is sent
    session.add(row)
    session.flush()
    _audit(session, officer, "draft", row, now, title=row.title)
    return row


def draft_one_off(
    *,
    session: Session,
    officer: Staff,
    areas: list[AreaCode],
    title: str,
    template: str,
    urgent: bool,
    now: datetime,
) -> Broadcast:
    """An officer's announcement for chosen areas, as a draft."""
    _require(officer, accounts.DRAFT_BROADCAST)
    areas = list(dict.fromkeys(areas))
    return new_draft(
        session=session,
        officer=officer,
        kind=ONE_OFF,
        areas=areas,
        title=title,
        template=template,
        urgent=urgent,
        now=now,
    )


def draft_for_zone(
    *,
    session: Session,
    officer: Staff | None,
    zone_id: int,
    now: datetime,
    cfg: settings_module.Settings | None = None,
) -> Broadcast:
    """The announcement of a lockdown zone set up (urgent: it changes what people may do at
    once) or lifted, from the scheme in force, for the zone's commune."""
    if officer is not None:
        _require(officer, accounts.DRAFT_BROADCAST)
    zone = session.get(LockdownZone, zone_id)
    if zone is None:
        raise refuse("zone", "zone_unknown", id=zone_id)
    cfg = cfg or settings_module.load()
    scheme = schemes.get(session=session, key=cfg.alert_scheme)
    if scheme is None:
        raise refuse("level", "scheme_unknown", scheme=cfg.alert_scheme)
    area = AreaCode(zone.province_code, zone.commune_code)  # type: ignore[arg-type]
    active = zone.status == ACTIVE
    name = area_name(area)
    title = templates.say(
        "title_zone" if active else "title_zone_lifted", area=name, zone=zone.name
    )
    return new_draft(
        session=session,
        officer=officer,
        kind=ZONE_CHANGE,
        areas=[area],
        title=title[:MAX_TITLE],
        template=scheme.zone_template if active else scheme.zone_lifted_template,
        urgent=active,
        now=now,
        scheme=scheme.key,
        zone_id=zone.id,
    )


def get(*, session: Session, broadcast_id: int) -> Broadcast:
    row = session.get(Broadcast, broadcast_id)
    if row is None:
        raise refuse("id", "not_found", id=broadcast_id)
    return row


def _editable(row: Broadcast, version: int, what: str) -> None:
    if row.kind == DIGEST:
        raise refuse("kind", "no_draft_kind")
    if row.status != DRAFT:
        status = templates.words()["statuses"].get(row.status, row.status)
        action = templates.words()["actions"][what]
        raise refuse("status", "not_draft", id=row.id, status=status, what=action)
    if row.version != version:
        raise Conflict("version", templates.error_text("stale", current=row.version, seen=version))


def busy(exc: OperationalError) -> bool:
    """SQLite's answer to a write racing another transaction's (WAL snapshot too old)."""
    return "locked" in str(exc.orig)


def _save(session: Session, row: Broadcast, version: int) -> None:
    """Flush the change, compared-and-set on the version another session may have moved
    (the caller rolls back after any error)."""
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(
            "version", templates.error_text("stale", current="?", seen=version)
        ) from None
    except OperationalError as exc:
        if not busy(exc):
            raise
        raise Conflict(
            "version", templates.error_text("stale", current="?", seen=version)
        ) from None


def edit(
    *,
    session: Session,
    officer: Staff,
    broadcast_id: int,
    version: int,
    title: str,
    template: str,
    now: datetime,
) -> Broadcast:
    """Change a draft's title and template (checked as when it was made)."""
    _require(officer, accounts.DRAFT_BROADCAST)
    row = get(session=session, broadcast_id=broadcast_id)
    _editable(row, version, "edit")
    title = _check_title(title)
    trial = Broadcast(  # checked aside: a refused template never touches the stored draft
        kind=row.kind,
        areas=row.areas,
        template=template.strip(),
        area_level_id=row.area_level_id,
        zone_id=row.zone_id,
    )
    render(session, trial, now)
    row.title, row.template = title, trial.template
    row.updated_at = now
    _save(session, row, version)
    _audit(session, officer, "edit", row, now, title=row.title)
    return row


def preview(*, session: Session, broadcast_id: int, now: datetime) -> Preview:
    """Who would receive it now (per channel, per commune, unreachable) and its text."""
    row = get(session=session, broadcast_id=broadcast_id)
    text = row.text or render(session, row, now)
    counts = audience.count(session=session, areas=area_codes(row), windows=WINDOWS, now=now)
    return Preview(counts=counts, text=text)


def approve(
    *,
    session: Session,
    officer: Staff,
    broadcast_id: int,
    version: int,
    now: datetime,
    cfg: settings_module.Settings | None = None,
) -> Broadcast:
    """Approve a draft (four eyes): fill its text once; the delivery worker sends it."""
    _require(officer, accounts.APPROVE_BROADCAST)
    row = get(session=session, broadcast_id=broadcast_id)
    if row.status in (APPROVED, DONE):
        by = session.get(StaffUser, row.approved_by) if row.approved_by else None
        at = moment(row.approved_at) if row.approved_at else "?"
        raise refuse(
            "status", "already_approved", id=row.id, by=by.username if by else "Loa", at=at
        )
    _editable(row, version, "approve")
    cfg = cfg or settings_module.load()
    if row.created_by == officer.id and not (cfg.alert_self_approve_urgent and row.urgent):
        raise refuse("approver", "own_draft")
    row.text = render(session, row, now)
    row.status = APPROVED
    row.approved_by = officer.id
    row.approved_at = now
    row.updated_at = now
    _save(session, row, version)
    _audit(session, officer, "approve", row, now, urgent=row.urgent)
    log.info("broadcast %s approved by staff %s", row.id, officer.id)
    return row


def cancel(
    *, session: Session, officer: Staff, broadcast_id: int, version: int, now: datetime
) -> Broadcast:
    """Withdraw a draft; nothing of it is ever sent."""
    _require(officer, accounts.DRAFT_BROADCAST)
    row = get(session=session, broadcast_id=broadcast_id)
    _editable(row, version, "cancel")
    row.status = CANCELLED
    row.updated_at = now
    _save(session, row, version)
    _audit(session, officer, "cancel", row, now)
    return row


def listing(*, session: Session, status: str | None = None, page: int = 1) -> list[Broadcast]:
    """One page of broadcasts, newest first (``status``: only those)."""
    query = select(Broadcast).order_by(Broadcast.id.desc())
    if status is not None:
        query = query.where(Broadcast.status == status)
    query = query.offset(max(0, page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    return list(session.scalars(query))


def progress(*, session: Session, broadcast_id: int, now: datetime) -> Progress:
    """Counts by delivery status, the rate of the last minute, the time left at that rate
    and the most frequent failure reasons."""
    get(session=session, broadcast_id=broadcast_id)
    mine = Delivery.broadcast_id == broadcast_id
    counts = dict(
        session.execute(  # type: ignore[arg-type]
            select(Delivery.status, func.count()).where(mine).group_by(Delivery.status)
        ).all()
    )
    recent = session.scalar(
        select(func.count()).where(
            mine, Delivery.status == SENT, Delivery.sent_at > now - RATE_WINDOW
        )
    )
    total = sum(counts.values())
    left = counts.get(PENDING, 0) + counts.get(SENDING, 0)
    rate = (recent or 0) / RATE_WINDOW.total_seconds() if total else None
    seconds_left = 0.0 if total and not left else (left / rate if rate else None)
    reasons = session.execute(
        select(Delivery.error, func.count())
        .where(mine, Delivery.status.in_((FAILED, UNREACHABLE, UNCERTAIN, SKIPPED)))
        .where(Delivery.error.is_not(None))
        .group_by(Delivery.error)
        .order_by(func.count().desc(), Delivery.error)
        .limit(TOP_FAILURES)
    )
    return Progress(
        total=total,
        pending=counts.get(PENDING, 0),
        sending=counts.get(SENDING, 0),
        sent=counts.get(SENT, 0),
        failed=counts.get(FAILED, 0),
        uncertain=counts.get(UNCERTAIN, 0),
        unreachable=counts.get(UNREACHABLE, 0),
        skipped=counts.get(SKIPPED, 0),
        rate_per_s=rate,
        seconds_left=seconds_left,
        failures=[(str(reason), int(n)) for reason, n in reasons],
    )
