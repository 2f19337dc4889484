"""Emergency alerts to staff on Telegram: commune officials live on their phones, not in a
browser tab. Each new emergency request goes to the on-shift staff of its commune and the
on-shift supervisors who linked a Telegram chat. The alert names the request, the place and
the needs — no phone, no address: those stay in the desk, behind its audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot import places, wording
from bot.clock import VIETNAM
from bot.storage.helpdesk import EMERGENCY, HelpRequest
from bot.storage.staff import OPERATOR, SUPERVISOR, StaffArea, StaffUser
from connectors.base import Channel, OutgoingMessage

logger = logging.getLogger(__name__)


def staff_to_alert(session: Session, request: HelpRequest) -> list[StaffUser]:
    """Active, on-shift staff with a Telegram chat: the commune's operators and every
    supervisor (the province is theirs). Nobody for a request that is not an emergency."""
    if request.urgency != EMERGENCY:
        return []
    of_commune = select(StaffArea.staff_id).where(StaffArea.commune_code == request.commune_code)
    query = (
        select(StaffUser)
        .where(
            StaffUser.active,
            StaffUser.on_shift,
            StaffUser.telegram_chat_id.is_not(None),
            or_(
                StaffUser.role == SUPERVISOR,
                (StaffUser.role == OPERATOR) & StaffUser.id.in_(of_commune),
            ),
        )
        .order_by(StaffUser.id)
    )
    return list(session.scalars(query))


def alert_text(request: HelpRequest, desk_url: str) -> str:
    """The alert, in Vietnamese, with a link to the request's page in the desk."""
    try:
        place = places.get(request.commune_code)
        where = f"{place.name}, {place.province_name}"
    except KeyError:  # a unit renamed since: the code still finds it in the desk
        where = str(request.commune_code)
    labels = wording.table("help_needs")
    return wording.system("desk_emergency_alert").format(
        code=request.code,
        place=where,
        needs=", ".join(labels.get(n, n) for n in request.needs),
        people=request.people_count,
        at=request.created_at.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y"),
        link=f"{desk_url.rstrip('/')}/desk/requests/{request.code}",
    )


@dataclass(frozen=True)
class Alerted:
    sent: list[str]  # usernames
    failed: list[str]


async def send_emergency_alerts(
    session: Session, request: HelpRequest, telegram: Channel, desk_url: str
) -> Alerted:
    """Send the alert to each of ``staff_to_alert`` through the Telegram connector.

    Not yet called by anything: the app must call it after a new emergency request is
    committed (the help-request form's action runs in the action server, which holds no
    Telegram bot), e.g. from a worker that watches for new emergency requests.
    """
    text = alert_text(request, desk_url)
    sent: list[str] = []
    failed: list[str] = []
    for staff in staff_to_alert(session, request):
        assert staff.telegram_chat_id is not None  # selected so
        result = await telegram.send(staff.telegram_chat_id, OutgoingMessage(text=text))
        (sent if result.ok else failed).append(staff.username)
        if not result.ok:
            logger.warning("emergency alert to %s failed: %s", staff.username, result.error)
    return Alerted(sent, failed)
