"""Help requests: file one (idempotent, repeats linked), derive its urgency, tell its owner its
status, change its status without losing anyone's update.

``create`` reads first and writes once: the replay and the open request it would link to are
looked up, then the request is inserted. Two confirmations racing past those reads meet the
database's rules (one code per request, one request per client key, one open request per
person and need, see ``bot.storage.helpdesk``): the loser's transaction is rolled back and it
goes round again, now finding the winner — to return it, or to link to it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot import places
from bot.clock import VIETNAM, utcnow
from bot.content.triage import Triage
from bot.helpdesk import phones
from bot.helpdesk import urgency as rules
from bot.helpdesk.urgency import Urgency
from bot.storage import helpdesk as store
from bot.storage.conversations import ChannelAccount
from bot.storage.helpdesk import (
    CLOSING_STATUSES,
    DUPLICATE,
    IN_PROGRESS,
    NEEDS,
    NEW,
    OPEN_STATUSES,
    STATUSES,
    HelpRequest,
    RequestEvent,
    RequestNeed,
)

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 2000  # a few paragraphs; the form asks for a shorter one beyond this
MAX_ADDRESS = 300
MAX_PEOPLE = 1000
MAX_CLIENT_KEY = 64
ATTEMPTS = 5  # rounds of ``create`` when racing confirmations meet the database's rules

# What ``create`` did.
FILED = "filed"  # a new request
LINKED = "linked"  # a repeat, linked to the person's open request for the same need
REPLAYED = "replayed"  # the same confirmation again: nothing new stored

# Who may follow a status: new → in_progress → closing; a closed request may be reopened.
TRANSITIONS = {
    NEW: (IN_PROGRESS, *CLOSING_STATUSES),
    IN_PROGRESS: CLOSING_STATUSES,
    **{closed: (IN_PROGRESS,) for closed in CLOSING_STATUSES},
}

_CODE = re.compile(r"^\s*HT[\s._-]*(\d{2})[\s._-]*(\d{1,7})\s*$", re.IGNORECASE)


class InvalidRequest(ValueError):
    """A field the caller must ask again for; ``field`` names it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class _Race(Exception):
    """What ``create`` read changed before it could write: roll back and read again."""


class Conflict(Exception):
    """Someone changed the request since the caller read it; ``current`` is how it is now."""

    def __init__(self, current: HelpRequest, problem: str) -> None:
        super().__init__(f"{current.code}: {problem}")
        self.current = current


@dataclass(frozen=True)
class Filed:
    """What ``create`` did, and the request to tell the person about (the open one when the
    new request was linked to it; ``repeat`` is then the row stored for the new one)."""

    outcome: str  # FILED | LINKED | REPLAYED
    request: HelpRequest
    repeat: HelpRequest | None = None


@dataclass(frozen=True)
class Draft:
    """A checked request, ready to store."""

    needs: tuple[str, ...]
    description: str
    province_code: int
    commune_code: int
    address_detail: str | None
    people_count: int
    phone: str | None
    consent: bool


@dataclass(frozen=True)
class RequestStatus:
    """What the person may learn about their request."""

    code: str
    status: str
    needs: tuple[str, ...]
    created_at: datetime
    status_changed_at: datetime
    last_message: str | None  # the last thing staff wrote to the person
    last_message_at: datetime | None


def urgency(
    *,
    triage: Triage | None,
    needs: Iterable[str],
    people_count: int = 1,
    risk_groups: Iterable[str] = (),
    alone: bool = False,
) -> Urgency:
    """The urgency the rules of urgency.yml give a request (see ``bot.helpdesk.urgency``)."""
    known = rules.facts(triage=triage, needs=needs, risk_groups=risk_groups, alone=alone)
    return rules.derive(known, people_count=people_count)


def draft(
    *,
    needs: Iterable[str],
    description: str,
    commune_code: int,
    address_detail: str | None,
    people_count: int,
    phone: str | None,
    consent: bool,
) -> Draft:
    """Check every field; InvalidRequest names the first one to ask again."""
    chosen = tuple(dict.fromkeys(needs))
    if not chosen or any(n not in NEEDS for n in chosen):
        raise InvalidRequest("needs", f"one or more of {', '.join(NEEDS)}")
    text = description.strip()
    if len(text) > MAX_DESCRIPTION:
        raise InvalidRequest("description", f"longer than {MAX_DESCRIPTION} characters")
    try:
        place = places.get(commune_code)
    except KeyError:
        raise InvalidRequest("commune_code", "not a current commune-level unit") from None
    address = (address_detail or "").strip() or None
    if address is not None and len(address) > MAX_ADDRESS:
        raise InvalidRequest("address_detail", f"longer than {MAX_ADDRESS} characters")
    if not 1 <= people_count <= MAX_PEOPLE:
        raise InvalidRequest("people_count", f"between 1 and {MAX_PEOPLE}")
    number = None
    if phone is not None:
        parsed = phones.parse(phone)
        if parsed.number is None:
            raise InvalidRequest("phone", parsed.reason or "invalid")
        if not consent:  # Decree 13/2023: no phone kept without consent to be contacted
            raise InvalidRequest("consent", "a phone number is kept only with consent")
        number = parsed.number
    return Draft(
        needs=tuple(n for n in NEEDS if n in chosen),
        description=text,
        province_code=place.province_code,
        commune_code=place.code,
        address_detail=address,
        people_count=people_count,
        phone=number,
        consent=consent,
    )


def create(
    *,
    session: Session,
    account_id: int,
    client_key: str,
    request: Draft,
    level: Urgency,
    at: datetime | None = None,
) -> Filed:
    """Store a confirmed request and commit before returning.

    ``client_key`` names one confirmed form (the form makes it when it starts): the same key
    again returns what was filed the first time. A request for a need the person already has
    in an open request is stored as a repeat linked to that request, which gains the new needs
    and, if more urgent, the new urgency — the queue never holds two open tickets for it.
    The session must have nothing else pending: a race is settled by rolling it back.
    """
    if not client_key or len(client_key) > MAX_CLIENT_KEY:
        raise InvalidRequest("client_key", f"1 to {MAX_CLIENT_KEY} characters")
    account = session.get(ChannelAccount, account_id)
    if account is None:
        raise InvalidRequest("account_id", "no such channel account")
    person_id, now = account.person_id, at or utcnow()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            filed = _file(session, person_id, account_id, client_key, request, level, now)
            session.commit()
            return filed
        except (IntegrityError, StaleDataError, _Race) as error:
            session.rollback()
            log.info("help request race, attempt %d: %s", attempt, type(error).__name__)
    raise RuntimeError(f"help request not stored after {ATTEMPTS} attempts")


def _file(
    session: Session,
    person_id: int,
    account_id: int,
    client_key: str,
    request: Draft,
    level: Urgency,
    now: datetime,
) -> Filed:
    replay = store.by_client_key(session=session, person_id=person_id, client_key=client_key)
    if replay is not None:
        return Filed(REPLAYED, _shown(session, replay))
    open_ones = store.open_with_needs(session=session, person_id=person_id, needs=request.needs)
    code = store.next_code(session=session, year=now.astimezone(VIETNAM).year)
    row = HelpRequest(
        code=code,
        person_id=person_id,
        account_id=account_id,
        client_key=client_key,
        description=request.description,
        province_code=request.province_code,
        commune_code=request.commune_code,
        address_detail=request.address_detail,
        people_count=request.people_count,
        phone=request.phone,
        consent=request.consent,
        urgency=level.level,
        urgency_reasons=list(level.reasons),
        status=NEW,
        created_at=now,
        updated_at=now,
        status_changed_at=now,
    )
    if not open_ones:
        row.need_rows = [RequestNeed(need=n, person_id=person_id) for n in request.needs]
        session.add(row)
        session.flush()  # the open-need rule is checked here
        add_event(session, row, store.CREATED, now)
        return Filed(FILED, row)
    target = open_ones[0]
    row.status, row.linked_to_id = DUPLICATE, target.id
    row.need_rows = [RequestNeed(need=n, person_id=person_id, is_open=False) for n in request.needs]
    session.add(row)
    session.flush()
    add_event(session, row, store.CREATED, now, data={"linked_to": target.code})
    _link(session, target, row, level, now)
    return Filed(LINKED, target, repeat=row)


def _link(
    session: Session, target: HelpRequest, repeat: HelpRequest, level: Urgency, now: datetime
) -> None:
    """The open request learns of the repeat: new needs, a higher urgency, an event."""
    session.refresh(target)  # as committed now: we hold the code counter's lock since next_code
    if not target.is_open:
        raise _Race(f"{target.code} was closed while a repeat was being linked to it")
    held = store.open_needs(session=session, person_id=target.person_id)
    added = [n for n in repeat.needs if n not in held]
    target.need_rows.extend(RequestNeed(need=n, person_id=target.person_id) for n in added)
    raised = rules.more_urgent(level.level, target.urgency)
    if raised:
        add_event(
            session,
            target,
            store.URGENCY_RAISED,
            now,
            data={"from": target.urgency, "to": level.level, "by": repeat.code},
        )
        target.urgency = level.level
    target.urgency_reasons = list(dict.fromkeys([*target.urgency_reasons, *level.reasons]))
    target.updated_at = now
    add_event(session, target, store.LINKED, now, text=repeat.code, data={"added_needs": added})
    session.flush()


def change_status(
    *,
    session: Session,
    code: str,
    to: str,
    version: int,
    reason: str | None = None,
    actor: str | None = None,
    at: datetime | None = None,
) -> HelpRequest:
    """Move a request to status ``to`` as seen at ``version``, and commit.

    A closing status needs a reason; closing stops the SLA's clocks (``closed_at``) and
    reopening starts them again. If the request changed since ``version`` (another
    operator closed it, a repeat was linked), or reopening it would make a second open
    request for one of its needs, nothing is stored and Conflict tells how it is now.
    LookupError for an unknown code, InvalidRequest for a status that may not follow.
    """
    row = store.by_code(session=session, code=code)
    if row is None:
        raise LookupError(code)
    # A stale version first: "someone closed it meanwhile" says more than "resolved cannot
    # become not_eligible" to the operator who read it while it was open.
    if row.version != version:
        raise Conflict(row, f"changed since version {version} (now {row.version}, {row.status})")
    if to not in STATUSES or to not in TRANSITIONS[row.status]:
        raise InvalidRequest("status", f"{row.status} cannot become {to}")
    why = (reason or "").strip() or None
    if to in CLOSING_STATUSES and why is None:
        raise InvalidRequest("reason", "closing a request needs a reason")
    now = at or utcnow()
    add_event(session, row, store.STATUS, now, text=why, actor=actor, change=(row.status, to))
    reopened = not row.is_open and to in OPEN_STATUSES
    row.status, row.status_reason = to, why
    row.status_changed_at = row.updated_at = now
    # The SLA's clocks stop at closing; a reopened request is a new wait for the person, so
    # both clocks start again (a first answer is owed again too).
    if to in CLOSING_STATUSES:
        row.closed_at = now
    elif reopened:
        row.closed_at, row.first_response_at, row.clock_started_at = None, None, now
    for need in row.need_rows:
        need.is_open = to in OPEN_STATUSES
    try:
        session.commit()
    except (StaleDataError, IntegrityError) as error:
        session.rollback()
        current = store.by_code(session=session, code=code)
        assert current is not None
        problem = (
            "another open request holds one of its needs"
            if isinstance(error, IntegrityError)
            else "changed by someone else meanwhile"
        )
        raise Conflict(current, problem) from None
    return row


def record_message(
    *, session: Session, code: str, text: str, actor: str | None, at: datetime | None = None
) -> RequestEvent:
    """Keep a message staff wrote to the person (the desk sends it); commit."""
    row = store.by_code(session=session, code=code)
    if row is None:
        raise LookupError(code)
    event = add_event(session, row, store.MESSAGE, at or utcnow(), text=text.strip(), actor=actor)
    session.commit()
    return event


def status_for(*, session: Session, person_id: int, code: str | None) -> RequestStatus | None:
    """The person's request by code, or their latest; None alike for an unknown code and for
    someone else's (so a code cannot be probed). A repeat answers for the request it joined."""
    if code is None:
        row = store.latest_of(session=session, person_id=person_id)
    else:
        canonical = normal_code(code)
        row = store.by_code(session=session, code=canonical) if canonical else None
    if row is None or row.person_id != person_id:
        return None
    row = _shown(session, row)
    message = store.last_event(session=session, request_id=row.id, kind=store.MESSAGE)
    return RequestStatus(
        code=row.code,
        status=row.status,
        needs=row.needs,
        created_at=row.created_at,
        status_changed_at=row.status_changed_at,
        last_message=message.text if message else None,
        last_message_at=message.at if message else None,
    )


def normal_code(text: str) -> str | None:
    """``HT-26-000123`` from the ways people type it (``ht 26 123``, ``HT26000123``)."""
    match = _CODE.match(text)
    if match is None:
        return None
    return f"{store.CODE_PREFIX}-{match[1]}-{int(match[2]):06d}"


def _shown(session: Session, row: HelpRequest) -> HelpRequest:
    """The request a person is told about: for a linked repeat, the one it joined."""
    if row.linked_to_id is None:
        return row
    target = session.get(HelpRequest, row.linked_to_id)
    return target if target is not None else row


def add_event(
    session: Session,
    row: HelpRequest,
    kind: str,
    at: datetime,
    *,
    text: str | None = None,
    actor: str | None = None,
    change: tuple[str, str] | None = None,
    data: dict[str, object] | None = None,
) -> RequestEvent:
    event = RequestEvent(
        request_id=row.id,
        at=at,
        kind=kind,
        from_status=change[0] if change else None,
        to_status=change[1] if change else None,
        text=text,
        actor=actor,
        data=data or {},
    )
    session.add(event)
    return event
