"""The desk's watcher: emergency alerts for new emergency requests, and escalation of overdue
ones to the supervisors — each raised once per request and clock, across restarts.

A ``RequestAlert`` row is inserted (``ON CONFLICT DO NOTHING``) and committed *before* the
Telegram messages go out: whoever inserts it raises the alert, a second watcher or the same
one after a restart finds it and stays quiet. The price is that a crash between the commit
and the send loses that alert; staff still see the request at the top of the queue and the
overdue list, while a doubled alert at 3 a.m. teaches people to ignore them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot import places, wording
from bot.helpdesk import emergency, sla
from bot.helpdesk.sla import DEFAULT, Targets
from bot.storage.helpdesk import (
    ALERT_EMERGENCY,
    EMERGENCY,
    OPEN_STATUSES,
    HelpRequest,
    RequestAlert,
)
from bot.storage.staff import SUPERVISOR, StaffUser
from connectors.base import Channel, OutgoingMessage

logger = logging.getLogger(__name__)

BATCH = 100  # requests looked at per pass; the rest wait for the next one
SHOWN = 10  # overdue requests named in one Telegram message to a supervisor


def _raise_once(
    session: Session, request_id: int, kind: str, clock_start: datetime, now: datetime
) -> int | None:
    """Insert the alert's row; its id if this call inserted it, None if it was there."""
    insert = (sqlite if session.get_bind().dialect.name == "sqlite" else postgresql).insert
    return session.scalar(
        insert(RequestAlert)
        .values(
            request_id=request_id,
            kind=kind,
            clock_start=clock_start,
            at=now,
            sent_to=[],
            failed=[],
        )
        .on_conflict_do_nothing(index_elements=["request_id", "kind", "clock_start"])
        .returning(RequestAlert.id)
    )


def _record(session: Session, alert_id: int, sent: list[str], failed: list[str]) -> None:
    row = session.get(RequestAlert, alert_id)
    if row is not None:
        row.sent_to, row.failed = sent, failed
    session.commit()


# -- emergency alerts -------------------------------------------------------------------------


def unalerted_emergencies(session: Session, limit: int = BATCH) -> list[HelpRequest]:
    """Open emergency requests no alert was raised for (also those a repeat made urgent)."""
    alerted = select(RequestAlert.request_id).where(RequestAlert.kind == ALERT_EMERGENCY)
    query = (
        select(HelpRequest)
        .where(
            HelpRequest.status.in_(OPEN_STATUSES),
            HelpRequest.urgency == EMERGENCY,
            HelpRequest.id.not_in(alerted),
        )
        .order_by(HelpRequest.created_at, HelpRequest.id)
        .limit(limit)
    )
    return list(session.scalars(query))


async def alert_emergencies(
    session: Session, telegram: Channel | None, desk_url: str, now: datetime
) -> list[str]:
    """Raise the alert of every new emergency request; the codes alerted. With the Telegram
    channel off the alert is recorded and logged, nobody is messaged."""
    done: list[str] = []
    for request in unalerted_emergencies(session):
        code = request.code
        alert_id = _raise_once(session, request.id, ALERT_EMERGENCY, request.created_at, now)
        session.commit()
        if alert_id is None:
            continue  # another watcher raised it meanwhile
        done.append(code)
        if telegram is None:
            logger.info("emergency %s: Telegram is off, no staff alert sent", code)
            continue
        fresh = session.get(HelpRequest, request.id)
        assert fresh is not None  # requests are never deleted
        alerted = await emergency.send_emergency_alerts(session, fresh, telegram, desk_url)
        _record(session, alert_id, alerted.sent, alerted.failed)
        logger.info("emergency %s: alerted %d staff", code, len(alerted.sent))
    return done


# -- escalation of overdue requests -------------------------------------------------------------


def escalate(session: Session, now: datetime, targets: Targets = DEFAULT) -> list[sla.Overdue]:
    """Record every open request that newly passed a target; the ones recorded now (a request
    already escalated for this clock is not again; a reopened one can be, on its new clock)."""
    newly: list[sla.Overdue] = []
    for late in sla.overdue(session, now, targets):
        if _raise_once(session, late.request_id, late.clock, late.clock_start, now) is not None:
            newly.append(late)
    session.commit()
    if newly:
        logger.info("escalated %d overdue request(s)", len(newly))
    return newly


def supervisors_on_telegram(session: Session) -> list[StaffUser]:
    query = (
        select(StaffUser)
        .where(
            StaffUser.active,
            StaffUser.on_shift,
            StaffUser.role == SUPERVISOR,
            StaffUser.telegram_chat_id.is_not(None),
        )
        .order_by(StaffUser.id)
    )
    return list(session.scalars(query))


def escalation_text(late: list[sla.Overdue], desk_url: str) -> str:
    """One message for a pass's escalations: the first ``SHOWN`` named, the desk linked."""
    urgency = wording.table("help_urgency")
    lines = [
        wording.system(f"desk_overdue_{item.clock}").format(
            code=item.code, place=_place(item.commune_code), urgency=urgency[item.urgency]
        )
        for item in late[:SHOWN]
    ]
    if len(late) > SHOWN:
        lines.append(wording.system("desk_overdue_more").format(count=len(late) - SHOWN))
    return wording.system("desk_overdue_alert").format(
        count=len(late), items="\n".join(lines), link=f"{desk_url.rstrip('/')}/desk"
    )


async def tell_supervisors(
    session: Session, telegram: Channel | None, late: list[sla.Overdue], desk_url: str
) -> list[str]:
    """Send a pass's escalations to the on-shift supervisors with a Telegram chat; who got it."""
    if not late or telegram is None:
        return []
    text = escalation_text(late, desk_url)
    told = []
    for boss in supervisors_on_telegram(session):
        assert boss.telegram_chat_id is not None  # selected so
        result = await telegram.send(boss.telegram_chat_id, OutgoingMessage(text=text))
        if result.ok:
            told.append(boss.username)
        else:
            logger.warning("escalation to %s failed: %s", boss.username, result.error)
    session.rollback()  # end the read
    return told


# -- what the supervisors' home page shows --------------------------------------------------------


@dataclass(frozen=True)
class Late:
    """An overdue request on the supervisors' home page."""

    overdue: sla.Overdue
    place: str
    escalated_at: datetime | None  # None: the watcher has not passed since it became late


def overdue_list(
    session: Session, now: datetime, targets: Targets = DEFAULT, limit: int = 50
) -> tuple[list[Late], int]:
    """The open requests past a target (most urgent, longest late first) and how many."""
    found = sla.overdue(session, now, targets)
    shown = found[:limit]
    raised: dict[tuple[int, str, datetime], datetime] = {}
    if shown:
        rows = session.execute(
            select(
                RequestAlert.request_id,
                RequestAlert.kind,
                RequestAlert.clock_start,
                RequestAlert.at,
            ).where(RequestAlert.request_id.in_([o.request_id for o in shown]))
        )
        raised = {(r, k, c): at for r, k, c, at in rows}
    late = [
        Late(o, _place(o.commune_code), raised.get((o.request_id, o.clock, o.clock_start)))
        for o in shown
    ]
    return late, len(found)


def _place(commune_code: int) -> str:
    try:
        return places.get(commune_code).name
    except KeyError:  # a unit renamed since: its code still finds it
        return str(commune_code)
