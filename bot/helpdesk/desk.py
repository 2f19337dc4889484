"""The hotline desk's work on requests: who may see which, the queue, a request and its
transcript, claiming and assigning, notes, replies and status changes told to the person.

Every function takes the acting ``StaffUser`` row (read in the caller's session, so an account
deactivated a moment ago is refused) and refuses, with ``NotAllowed`` (the web's 403), what
``in_scope`` does not grant — and ``in_scope`` asks ``staff.may``, the desk's one permission
table. Who holds a request changes only by conditional updates
(``… WHERE assignee_id IS NULL``), so two operators claiming at once cannot both win. What the
person is told goes into the message log as the gateway's replies do — queued for the outbox
on the channel account they filed from (the web chat's stored as sent: its page fetches them)
— in the same transaction as the change it tells of. The caller wakes the outbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, select, union_all, update
from sqlalchemy.orm import Session

from bot import text as vi
from bot import wording
from bot.clock import utcnow
from bot.helpdesk import requests
from bot.helpdesk.requests import InvalidRequest
from bot.helpdesk.sla import DEFAULT, Sla, Targets, sla
from bot.helpdesk.staff import ALL, ASSIGN, PERMISSIONS, VIEW_REQUEST, WORK_REQUEST, Staff, may
from bot.storage import conversations as log
from bot.storage import helpdesk as store
from bot.storage.helpdesk import (
    IN_PROGRESS,
    NEEDS,
    NEW,
    OPEN_STATUSES,
    STATUSES,
    URGENCIES,
    HelpRequest,
    RequestEvent,
    RequestNeed,
)
from bot.storage.staff import OPERATOR, SUPERVISOR, AuditEntry, StaffArea, StaffUser
from connectors.zalo_oa.outbound import ZaloOAChannel

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_NOTE = 4000
# Staff's words go out under a line naming the request; with it they fit the smallest
# channel limit (Zalo OA and Zalo Bot: 2000 characters), so a reply is never split.
MAX_REPLY = 1800
TRANSCRIPT_BEFORE = timedelta(days=1)  # the conversation that led to the request
TRANSCRIPT_MAX = 200
WEBCHAT = "webchat"
# Channels that refuse a normal message some time after the person last wrote (channels.md).
REPLY_WINDOWS = {ZaloOAChannel.name: ZaloOAChannel.reply_window}

# Assignee filters besides a staff id.
ME = "me"
NOBODY = "nobody"
SOMEONE = "someone"  # held by anyone

# Why a person cannot be written to now.
UNREACHABLE = "unreachable"  # blocked the bot, unfollowed the OA, deactivated
WINDOW_CLOSED = "window_closed"  # Zalo OA: no message from them in the last 7 days

# Audit actions.
VIEW_PERSONAL = "view_personal"
AUDITED_FIELDS = ("phone", "address_detail", "description", "transcript")


class NotAllowed(Exception):
    """The user may not do this to this request (the web answers 403)."""


class AlreadyClaimed(Exception):
    """Someone else holds the request; ``by`` is their display name."""

    def __init__(self, code: str, by: str) -> None:
        super().__init__(f"{code} is held by {by}")
        self.by = by


class CannotReach(Exception):
    """The person's channel cannot take a message now; the desk shows ``phone`` instead."""

    def __init__(self, code: str, reason: str, phone: str | None) -> None:
        super().__init__(f"{code}: {reason}")
        self.reason = reason  # UNREACHABLE | WINDOW_CLOSED
        self.phone = phone


def in_scope(user: StaffUser, commune_code: int, action: str = VIEW_REQUEST) -> bool:
    """Whether ``user`` may do ``action`` to the requests of this commune: ``staff.may`` on an
    active account (an operator their communes, a supervisor the province, an inspector or an
    admin none — an admin holds the accounts' keys, not citizens' data)."""
    return user.active and may(Staff.of(user), action, commune_code)


def _may_anywhere(user: StaffUser, action: str) -> bool:
    return user.active and may(Staff.of(user), action)


def _province_wide(user: StaffUser) -> bool:
    """Whether the user sees every commune's requests (not only those of their own)."""
    return PERMISSIONS.get(user.role, {}).get(VIEW_REQUEST) == ALL


# -- the queue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows; the web builds it from the filter bar."""

    statuses: tuple[str, ...] = OPEN_STATUSES
    commune: int | None = None
    need: str | None = None
    urgency: str | None = None
    older_than_hours: float | None = None
    assignee: str | int | None = None  # ME, NOBODY or a staff id


@dataclass(frozen=True)
class QueueRow:
    """One line of the queue: nothing personal (no phone, address or description)."""

    code: str
    urgency: str
    needs: tuple[str, ...]
    commune_code: int
    created_at: datetime
    status: str
    assignee: str | None  # display name
    sla: Sla
    answered: bool = False  # the person had a first answer (the first-response clock stopped)


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    page: int
    pages: int
    total: int  # requests matching the filter
    counts: dict[str, int]  # per status, with the other filters: for the filter bar


@dataclass(frozen=True)
class _Clocks:
    urgency: str
    clock_start: datetime
    first_response_at: datetime | None
    closed_at: datetime | None


def queue(
    session: Session,
    user: StaffUser,
    filters: QueueFilter = QueueFilter(),  # frozen: one default, shared safely
    page: int = 1,
    now: datetime | None = None,
    targets: Targets = DEFAULT,
) -> QueuePage:
    """The requests ``user`` may work, most urgent then oldest first, ``PAGE_SIZE`` a page.

    The urgency names sort in urgency order, so the open queue is read in the order of its
    partial index (``ix_help_requests_open_queue``, or the per-commune one for operators).
    """
    now = now or utcnow()
    _check(filters)
    if not _may_anywhere(user, VIEW_REQUEST):
        raise NotAllowed(f"{user.username} ({user.role}) has no request queue")
    if filters.commune is not None and not in_scope(user, filters.commune):
        raise NotAllowed(f"{user.username} does not work commune {filters.commune}")
    per_status = _scoped(select(HelpRequest.status, func.count()), user, filters, now)
    counts: dict[str, int] = {
        status: n for status, n in session.execute(per_status.group_by(HelpRequest.status))
    }
    total = sum(n for status, n in counts.items() if status in filters.statuses)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    columns = select(
        HelpRequest.id,
        HelpRequest.code,
        HelpRequest.urgency,
        HelpRequest.commune_code,
        HelpRequest.created_at,
        HelpRequest.status,
        HelpRequest.first_response_at,
        HelpRequest.closed_at,
        func.coalesce(HelpRequest.clock_started_at, HelpRequest.created_at).label("clock_start"),
        StaffUser.display_name,
    ).outerjoin(StaffUser, StaffUser.id == HelpRequest.assignee_id)
    listed_query = _scoped(columns, user, filters, now).where(_status_in(filters.statuses))
    communes = _communes_to_merge(user, filters)
    if communes:
        heads = _commune_heads(communes, filters, now, user, page * PAGE_SIZE)
        listed_query = listed_query.where(HelpRequest.id.in_(heads))
    listed = session.execute(
        listed_query.order_by(*QUEUE_ORDER).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    needs = _needs(session, [row[0] for row in listed])
    rows = [
        QueueRow(
            code=r.code,
            urgency=r.urgency,
            needs=needs.get(r.id, ()),
            commune_code=r.commune_code,
            created_at=r.created_at,
            status=r.status,
            assignee=r.display_name,
            sla=sla(
                _Clocks(r.urgency, r.clock_start, r.first_response_at, r.closed_at), now, targets
            ),
            answered=r.first_response_at is not None,
        )
        for r in listed
    ]
    return QueuePage(rows, page, pages, total, {s: counts.get(s, 0) for s in STATUSES})


def newer(
    session: Session,
    user: StaffUser,
    filters: QueueFilter,
    since: datetime,
    now: datetime | None = None,
) -> int:
    """How many requests the queue with ``filters`` would list that were filed after
    ``since``: what the queue page's script polls for ("N new requests")."""
    now = now or utcnow()
    _check(filters)
    if not _may_anywhere(user, VIEW_REQUEST):
        raise NotAllowed(f"{user.username} ({user.role}) has no request queue")
    if filters.commune is not None and not in_scope(user, filters.commune):
        raise NotAllowed(f"{user.username} does not work commune {filters.commune}")
    query = _scoped(select(func.count()).select_from(HelpRequest), user, filters, now)
    query = query.where(_status_in(filters.statuses), HelpRequest.created_at > since)
    return int(session.scalar(query) or 0)


def assignable(session: Session, commune_code: int) -> list[StaffUser]:
    """Who a supervisor may give a request of this commune to: active operators of the
    commune and supervisors, by display name."""
    of_commune = select(StaffArea.staff_id).where(StaffArea.commune_code == commune_code)
    query = (
        select(StaffUser)
        .where(
            StaffUser.active,
            (StaffUser.role == SUPERVISOR)
            | ((StaffUser.role == OPERATOR) & StaffUser.id.in_(of_commune)),
        )
        .order_by(StaffUser.display_name, StaffUser.id)
    )
    return [u for u in session.scalars(query) if in_scope(u, commune_code, WORK_REQUEST)]


QUEUE_ORDER = (HelpRequest.urgency, HelpRequest.created_at, HelpRequest.id)


def _communes_to_merge(user: StaffUser, filters: QueueFilter) -> list[int]:
    """The communes whose queues are read apart and merged: an operator's, when they have
    several and the filter does not pick one. Read together (``commune_code IN (…)``), their
    open requests would all be fetched and sorted — tens of thousands in a busy district —
    where each commune's own index gives its first rows in queue order at once."""
    if user.role != OPERATOR or filters.commune is not None or len(user.communes) < 2:
        return []
    return sorted(user.communes)


def _commune_heads(
    communes: list[int], filters: QueueFilter, now: datetime, user: StaffUser, limit: int
) -> Any:
    """The ids of the first ``limit`` requests of each commune's queue, in one query: the
    page's rows are among them (each commune's part of the merged queue is its own head)."""
    arms = [
        _filtered(select(HelpRequest.id), user, filters, now)
        .where(HelpRequest.commune_code == commune, _status_in(filters.statuses))
        .order_by(*QUEUE_ORDER)
        .limit(limit)
        .subquery()
        for commune in communes
    ]
    return union_all(*(select(arm.c.id) for arm in arms))


def _status_in(statuses: tuple[str, ...]) -> Any:
    """``status IN ('new', 'in_progress')`` with the values written into the SQL, as the
    partial indexes' condition is: both databases then see that those indexes apply."""
    values: Any = bindparam(
        "statuses", list(statuses), expanding=True, literal_execute=True, unique=True
    )
    return HelpRequest.status.in_(values)


def _check(filters: QueueFilter) -> None:
    """Refuse a filter the bar cannot make (a hand-edited URL): the web answers 400."""
    if not filters.statuses or any(s not in STATUSES for s in filters.statuses):
        raise InvalidRequest("status", f"one or more of {', '.join(STATUSES)}")
    if filters.need is not None and filters.need not in NEEDS:
        raise InvalidRequest("need", f"one of {', '.join(NEEDS)}")
    if filters.urgency is not None and filters.urgency not in URGENCIES:
        raise InvalidRequest("urgency", f"one of {', '.join(URGENCIES)}")
    if filters.older_than_hours is not None and not 0 <= filters.older_than_hours <= 24 * 3650:
        raise InvalidRequest("age", "a number of hours, 0 or more")
    if isinstance(filters.assignee, str) and filters.assignee not in (ME, NOBODY, SOMEONE):
        raise InvalidRequest("assignee", f"{ME}, {NOBODY}, {SOMEONE} or a staff id")


def _scoped[*Ts](
    query: Select[*Ts], user: StaffUser, filters: QueueFilter, now: datetime
) -> Select[*Ts]:
    """``query`` narrowed to the user's communes and every filter but the status."""
    if not _province_wide(user):
        query = query.where(HelpRequest.commune_code.in_(sorted(user.communes)))
    return _filtered(query, user, filters, now)


def _filtered[*Ts](
    query: Select[*Ts], user: StaffUser, filters: QueueFilter, now: datetime
) -> Select[*Ts]:
    """``query`` narrowed by every filter but the status (not by the user's communes)."""
    if filters.commune is not None:
        query = query.where(HelpRequest.commune_code == filters.commune)
    if filters.urgency is not None:
        query = query.where(HelpRequest.urgency == filters.urgency)
    if filters.need is not None:
        # EXISTS, probed per row by the needs' primary key: the page stops after its rows,
        # where ``id IN (all requests for food)`` first lists nearly half the table.
        holding = select(RequestNeed.request_id).where(
            RequestNeed.request_id == HelpRequest.id, RequestNeed.need == filters.need
        )
        query = query.where(holding.exists())
    if filters.older_than_hours is not None:
        cutoff = now - timedelta(hours=filters.older_than_hours)
        query = query.where(HelpRequest.created_at < cutoff)
    if filters.assignee == NOBODY:
        query = query.where(HelpRequest.assignee_id.is_(None))
    elif filters.assignee == SOMEONE:
        query = query.where(HelpRequest.assignee_id.is_not(None))
    elif filters.assignee is not None:
        staff_id = user.id if filters.assignee == ME else filters.assignee
        query = query.where(HelpRequest.assignee_id == staff_id)
    return query


def _needs(session: Session, ids: list[int]) -> dict[int, tuple[str, ...]]:
    held: dict[int, set[str]] = {}
    if ids:
        query = select(RequestNeed.request_id, RequestNeed.need).where(
            RequestNeed.request_id.in_(ids)
        )
        for request_id, need in session.execute(query):
            held.setdefault(request_id, set()).add(need)
    return {i: tuple(n for n in NEEDS if n in found) for i, found in held.items()}


# -- one request -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Detail:
    """A request as its page shows it, with personal fields (so each read is audited)."""

    request: HelpRequest
    assignee: str | None
    events: list[RequestEvent]
    transcript: list[log.Message]  # the person's messages in and out, oldest first
    channel: str  # where replies go
    cannot_reach: str | None  # UNREACHABLE or WINDOW_CLOSED: show the phone instead
    sla: Sla


def detail(
    session: Session,
    user: StaffUser,
    code: str,
    now: datetime | None = None,
    targets: Targets = DEFAULT,
) -> Detail:
    """The request with its events and the conversation around it; writes a
    ``view_personal`` audit entry (and commits) every time."""
    now = now or utcnow()
    row = _request(session, user, code)
    events = list(
        session.scalars(
            select(RequestEvent).where(RequestEvent.request_id == row.id).order_by(RequestEvent.id)
        )
    )
    account = session.get(log.ChannelAccount, row.account_id)
    assert account is not None  # a foreign key
    assignee = session.get(StaffUser, row.assignee_id) if row.assignee_id else None
    transcript = _transcript(session, row)
    _audit(session, user, VIEW_PERSONAL, row, now, fields=list(AUDITED_FIELDS))
    session.commit()
    return Detail(
        request=row,
        assignee=assignee.display_name if assignee else None,
        events=events,
        transcript=transcript,
        channel=account.channel,
        cannot_reach=reach_problem(account, now),
        sla=sla(row, now, targets),
    )


def _transcript(session: Session, row: HelpRequest) -> list[log.Message]:
    """The person's messages on all their channels, from a day before filing, newest
    ``TRANSCRIPT_MAX`` — oldest first."""
    accounts = select(log.ChannelAccount.id).where(log.ChannelAccount.person_id == row.person_id)
    query = (
        select(log.Message)
        .where(
            log.Message.account_id.in_(accounts),
            log.Message.created_at >= row.created_at - TRANSCRIPT_BEFORE,
        )
        .order_by(log.Message.id.desc())
        .limit(TRANSCRIPT_MAX)
    )
    return list(reversed(session.scalars(query).all()))


def reach_problem(account: log.ChannelAccount, now: datetime) -> str | None:
    """Why a message to this account would not arrive now, or None: they blocked the bot
    (the channel said so), or the channel's window since their last message has closed."""
    if not account.reachable:
        return UNREACHABLE
    window = REPLY_WINDOWS.get(account.channel)
    if window and (account.last_inbound_at is None or now - account.last_inbound_at > window):
        return WINDOW_CLOSED
    return None


# -- who holds it --------------------------------------------------------------------------


def claim(session: Session, user: StaffUser, code: str, now: datetime | None = None) -> HelpRequest:
    """Take the request; a NEW one moves to in_progress (and the person is told).

    Two conditional updates, each atomic: only one of two operators claiming at once
    matches ``assignee_id IS NULL``; the other gets AlreadyClaimed with the winner's name.
    Claiming again what one holds changes nothing. A closed request: Conflict.
    """
    now = now or utcnow()
    row = _request(session, user, code, WORK_REQUEST)
    unheld = HelpRequest.assignee_id.is_(None)
    started = _conditional(
        session,
        row.id,
        (HelpRequest.status == NEW) & (unheld | (HelpRequest.assignee_id == user.id)),
        assignee_id=user.id,
        status=IN_PROGRESS,
        status_changed_at=now,
        updated_at=now,
    )
    taken = started or _conditional(
        session,
        row.id,
        (HelpRequest.status == IN_PROGRESS) & unheld,
        assignee_id=user.id,
        updated_at=now,
    )
    if not taken:
        session.rollback()
        current = _fresh(session, code)
        if current.assignee_id == user.id:
            return current
        if not current.is_open:
            raise requests.Conflict(current, f"closed ({current.status})")
        holder = session.get(StaffUser, current.assignee_id) if current.assignee_id else None
        raise AlreadyClaimed(code, holder.display_name if holder else "?")
    if started:
        _event(session, row, store.STATUS, now, actor=user, change=(NEW, IN_PROGRESS))
        _tell(session, row, _status_words(IN_PROGRESS, reopened=False), now)
    _audit(session, user, "claim", row, now)
    session.commit()
    return _fresh(session, code)


def assign(
    session: Session, supervisor: StaffUser, code: str, staff_id: int, now: datetime | None = None
) -> HelpRequest:
    """A supervisor gives the request to ``staff_id``, who must work its commune. The status
    stays: work starts when the assignee takes it up."""
    now = now or utcnow()
    row = _request(session, supervisor, code, ASSIGN)
    target = session.get(StaffUser, staff_id)
    if target is None or not in_scope(target, row.commune_code, WORK_REQUEST):
        raise InvalidRequest("staff_id", f"nobody who works commune {row.commune_code}")
    if not _conditional(
        session,
        row.id,
        HelpRequest.status.in_(OPEN_STATUSES),
        assignee_id=staff_id,
        updated_at=now,
    ):
        session.rollback()
        current = _fresh(session, code)
        raise requests.Conflict(current, f"closed ({current.status})")
    _audit(session, supervisor, "assign", row, now, to=target.username)
    session.commit()
    return _fresh(session, code)


def release(session: Session, user: StaffUser, code: str, now: datetime | None = None) -> None:
    """Give the request back to the queue: its holder, or a supervisor for anyone."""
    now = now or utcnow()
    row = _request(session, user, code, WORK_REQUEST)
    condition: Any = HelpRequest.assignee_id.is_not(None)
    if not in_scope(user, row.commune_code, ASSIGN):
        condition = HelpRequest.assignee_id == user.id
    if not _conditional(session, row.id, condition, assignee_id=None, updated_at=now):
        session.rollback()
        if _fresh(session, code).assignee_id is None:
            return  # nobody holds it: nothing to give back
        raise NotAllowed(f"{code} is held by someone else")
    _audit(session, user, "release", row, now)
    session.commit()


def _conditional(session: Session, request_id: int, condition: object, **values: object) -> bool:
    """``UPDATE … WHERE id = :id AND <condition>``, bumping the version like the ORM does;
    whether it matched."""
    result = session.execute(
        update(HelpRequest)
        .where(HelpRequest.id == request_id, condition)  # type: ignore[arg-type]
        .values(version=HelpRequest.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# -- notes, replies, statuses ---------------------------------------------------------------


def add_note(
    session: Session, user: StaffUser, code: str, text: str, now: datetime | None = None
) -> RequestEvent:
    """An internal note: kept with the request, never shown to the person."""
    now = now or utcnow()
    row = _request(session, user, code, WORK_REQUEST)
    words = _text(text, MAX_NOTE)
    event = _event(session, row, store.NOTE, now, actor=user, text=words)
    _audit(session, user, "note", row, now)
    session.commit()
    return event


def reply(
    session: Session, user: StaffUser, code: str, text: str, now: datetime | None = None
) -> log.Message:
    """Write to the person on the channel they filed from, through the outbox.

    Kept in the message log and as a MESSAGE event (``check_request_status`` shows it), and
    the first answer stops the first-response clock. CannotReach when the channel cannot
    take it now: nothing is stored, and the desk shows the phone instead.
    """
    now = now or utcnow()
    row = _request(session, user, code, WORK_REQUEST)
    words = _text(text, MAX_REPLY)
    account = session.get(log.ChannelAccount, row.account_id)
    assert account is not None  # a foreign key
    problem = reach_problem(account, now)
    if problem is not None:
        logger.info("desk reply to %s not queued: %s", code, problem)
        raise CannotReach(code, problem, row.phone)
    message = queue_message(
        session, account, wording.system("desk_reply").format(code=code, text=words)
    )
    message.created_at = now
    message.data = {**message.data, "desk": {"request": code, "staff": user.username}}
    _event(session, row, store.MESSAGE, now, actor=user, text=words)
    session.execute(
        update(HelpRequest)
        .where(HelpRequest.id == row.id, HelpRequest.first_response_at.is_(None))
        .values(first_response_at=now)
        .execution_options(synchronize_session=False)
    )  # not a change anyone could lose: the version stays, an open status form stays valid
    _audit(session, user, "reply", row, now)
    session.commit()
    return message


@dataclass(frozen=True)
class StatusChanged:
    request: HelpRequest
    told: bool  # False: the person could not be told (unreachable, window closed)


def set_status(
    session: Session,
    user: StaffUser,
    code: str,
    to: str,
    version: int,
    reason: str | None = None,
    now: datetime | None = None,
) -> StatusChanged:
    """Change the status as the user saw it at ``version`` (``requests.change_status``:
    closing needs a reason, a stale version raises Conflict) and tell the person, in the same
    transaction: a lost update stores neither."""
    now = now or utcnow()
    row = _request(session, user, code, WORK_REQUEST)
    if reason is not None and reason.strip():
        reason = _text(reason, MAX_NOTE)  # the empty one: change_status names it
    reopened = not row.is_open and to in OPEN_STATUSES
    account = session.get(log.ChannelAccount, row.account_id)
    assert account is not None
    told = False
    if to in requests.TRANSITIONS.get(row.status, ()) and reach_problem(account, now) is None:
        _tell(session, row, _status_words(to, reopened=reopened), now)
        told = True
    _audit(session, user, "status", row, now, to=to, seen_version=version)
    try:
        changed = requests.change_status(
            session=session,
            code=code,
            to=to,
            version=version,
            reason=reason,
            actor=user.username,
            at=now,
        )
    except requests.Conflict as lost:  # what it told and the audit entry go with it
        session.rollback()
        raise requests.Conflict(_fresh(session, code), str(lost).partition(": ")[2]) from None
    except Exception:  # nothing of this change may stay pending in the session
        session.rollback()
        raise
    return StatusChanged(changed, told)


def _status_words(to: str, *, reopened: bool) -> str:
    return wording.system("desk_status_reopened" if reopened else f"desk_status_{to}")


def _tell(session: Session, row: HelpRequest, template: str, now: datetime) -> None:
    """Queue words to the person about their request, if their channel can take them now."""
    account = session.get(log.ChannelAccount, row.account_id)
    assert account is not None
    if reach_problem(account, now) is not None:
        logger.info("%s: the person cannot be told now (%s)", row.code, reach_problem(account, now))
        return
    message = queue_message(session, account, template.format(code=row.code))
    message.created_at = now
    message.data = {**message.data, "desk": {"request": row.code}}


def queue_message(session: Session, account: log.ChannelAccount, text: str) -> log.Message:
    """An outbound message as the gateway stores replies: queued for the outbox, or, on the
    web chat, stored as sent (its page fetches it)."""
    message = log.Message(
        account_id=account.id,
        channel=account.channel,
        direction=log.OUTBOUND,
        text=text,
        data={"buttons": [], "image_url": None, "system": None},
        status=log.SENT if account.channel == WEBCHAT else log.QUEUED,
    )
    session.add(message)
    return message


def _text(text: str, limit: int) -> str:
    """Staff's words as both databases store them (a pasted NUL would make PostgreSQL refuse
    the row: a 500), stripped; InvalidRequest("text") when empty or too long."""
    words = vi.storable(text or "").strip()
    if not words:
        raise InvalidRequest("text", "empty")
    if len(words) > limit:
        raise InvalidRequest("text", f"longer than {limit} characters")
    return words


# -- shared ----------------------------------------------------------------------------------


def _request(
    session: Session, user: StaffUser, code: str, action: str = VIEW_REQUEST
) -> HelpRequest:
    """The request, if the user may do ``action`` to it: NotAllowed (before looking it up for
    someone who may do it nowhere), LookupError for an unknown code."""
    if not _may_anywhere(user, action):
        raise NotAllowed(f"{user.username} ({user.role}) may not {action}")
    row = store.by_code(session=session, code=code)
    if row is None:
        raise LookupError(code)
    if not in_scope(user, row.commune_code, action):
        raise NotAllowed(f"{user.username} may not {action} in commune {row.commune_code}")
    return row


def _fresh(session: Session, code: str) -> HelpRequest:
    row = store.by_code(session=session, code=code)
    assert row is not None  # requests are never deleted
    return row


def _event(
    session: Session,
    row: HelpRequest,
    kind: str,
    at: datetime,
    *,
    actor: StaffUser,
    text: str | None = None,
    change: tuple[str, str] | None = None,
) -> RequestEvent:
    return requests.add_event(
        session, row, kind, at, text=text, actor=actor.username, change=change
    )


def _audit(
    session: Session,
    user: StaffUser | None,
    action: str,
    row: HelpRequest,
    now: datetime,
    **detail: object,
) -> None:
    session.add(
        AuditEntry(
            at=now,
            staff_id=user.id if user else None,
            actor=user.username if user else "system",
            action=action,
            target_kind="help_request",
            target_id=row.code,
            detail=detail,
        )
    )


__all__ = [
    "AlreadyClaimed",
    "CannotReach",
    "Detail",
    "NotAllowed",
    "QueueFilter",
    "QueuePage",
    "QueueRow",
    "StatusChanged",
    "add_note",
    "assign",
    "assignable",
    "claim",
    "detail",
    "in_scope",
    "newer",
    "queue",
    "queue_message",
    "release",
    "reply",
    "set_status",
]
