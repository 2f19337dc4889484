"""People, their channel accounts, and the message log of every inbound and outbound message."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    BindParameter,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    Select,
    String,
    Text,
    UniqueConstraint,
    Update,
    and_,
    bindparam,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, aliased, joinedload, mapped_column, relationship
from sqlalchemy.sql.dml import ReturningUpdate

from bot.clock import utcnow
from bot.storage import leases
from bot.storage.base import Base, UTCDateTime

# Message directions.
INBOUND = "in"  # from a person to Loa
OUTBOUND = "out"  # from Loa to a person

# Inbound statuses.
RECEIVED = "received"  # stored, not yet answered
ANSWERED = "answered"  # Rasa answered and the replies are stored
PENDING = "pending"  # Rasa or the action server failed: the worker retries it
IGNORED = "ignored"  # nothing to understand, or an event: answered without Rasa
# (FAILED, below, also marks an inbound message the assistant kept failing on: given up,
# the person told so; ``unanswered()`` lists them for staff.)
# Outbound statuses.
QUEUED = "queued"  # to be sent by the outbox (again after ``next_attempt_at`` if set)
SENDING = "sending"  # handed to the channel; the outcome is not recorded yet
SENT = "sent"  # the channel accepted it (the web chat counts it sent when stored)
UNCERTAIN = "uncertain"  # the channel may have delivered it (timeout, crash): never resent
FAILED = "failed"  # the channel refused it for good, or the person cannot be reached
WAITING = (RECEIVED, PENDING)  # inbound messages still to answer

MESSAGE_STATUSES = (RECEIVED, ANSWERED, PENDING, IGNORED, QUEUED, SENDING, SENT, UNCERTAIN, FAILED)


class Person(Base):
    """Someone who talks to Loa, on one or several channels."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "Xóa dữ liệu của tôi": asked (their data is erased then), and when their Rasa
    # conversations were erased too (by the app's worker, once no turn is in flight).
    forget_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    forgotten_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accounts: Mapped[list[ChannelAccount]] = relationship(back_populates="person")


class ChannelAccount(Base):
    """A person's identity on one channel; ``sender_id`` is ``<channel>:<external_id>``."""

    __tablename__ = "channel_accounts"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed: a broadcast's claims and audiences look up each person's other accounts.
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(128))
    # False once the channel says we cannot reach them (blocked, unfollowed, window closed).
    reachable: Mapped[bool] = mapped_column(default=True)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    person: Mapped[Person] = relationship(back_populates="accounts")

    @property
    def sender_id(self) -> str:
        return f"{self.channel}:{self.external_id}"


class Message(Base):
    """One message in or out, kept for the desk; inbound ones are unique per sender and id."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("account_id", "direction", "channel_message_id"),
        CheckConstraint(f"direction IN ('{INBOUND}', '{OUTBOUND}')", name="direction"),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in MESSAGE_STATUSES) + ")", name="status"
        ),
        Index("ix_messages_account_id_id", "account_id", "id"),
        Index("ix_messages_direction_status_id", "direction", "status", "id"),
        Index("ix_messages_created_at", "created_at"),  # the retention pass
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("channel_accounts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(3))
    # The channel's own id (Telegram update_id, Zalo msg_id, web chat client uuid).
    channel_message_id: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text, default="")
    # Button payloads, buttons to show, or a parsed attachment.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10))
    # Outbound: sends tried. Inbound: failures while the assistant answered other people.
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(300))
    # For an outbound message, the inbound message it answers.
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    # The lease (bot.storage.leases) of the process sending it (outbound, ``sending``) or
    # answering it (inbound, waiting): a live owner's claim is left alone by every other.
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    account: Mapped[ChannelAccount] = relationship()


# The queries every message runs are built once, with parameters (as ``_claim_turn`` and
# ``_claim_send`` below): SQLAlchemy then reuses the statement's cache key and compiled form
# instead of building both again per call, which was most of the gateway's and the outbox's
# own CPU per message (issue 12's note). The UPDATEs among them run on the session's
# connection, as plain SQL: through the session they took the ORM's bulk-update path, twice
# the cost, for rows no session object needs to follow (``synchronize_session=False``).


def find_account(*, session: Session, channel: str, external_id: str) -> ChannelAccount | None:
    """The channel account, if this person has written before."""
    return session.scalar(_find_account(), {"channel": channel, "external_id": external_id})


@cache
def _find_account() -> Select[ChannelAccount]:
    return select(ChannelAccount).where(
        ChannelAccount.channel == bindparam("channel"),
        ChannelAccount.external_id == bindparam("external_id"),
    )


def account_for(*, session: Session, channel: str, external_id: str) -> ChannelAccount:
    """The channel account (and its person), created on first contact."""
    account = find_account(session=session, channel=channel, external_id=external_id)
    if account is not None:
        return account
    try:
        with session.begin_nested():  # another process may create it at the same moment
            account = ChannelAccount(channel=channel, external_id=external_id, person=Person())
            session.add(account)
    except IntegrityError:
        account = find_account(session=session, channel=channel, external_id=external_id)
        assert account is not None
    return account


def find_inbound(*, session: Session, account_id: int, channel_message_id: str) -> Message | None:
    """The inbound message this account already sent under this channel id (a redelivery).

    Scoped to the account, so nobody can fetch another person's replies by reusing an id.
    """
    values = {"for_account": account_id, "channel_message_id": channel_message_id}
    return session.scalar(_find_inbound(), values)


@cache
def _find_inbound() -> Select[Message]:
    return select(Message).where(
        Message.account_id == bindparam("for_account"),
        Message.direction == INBOUND,
        Message.channel_message_id == bindparam("channel_message_id"),
    )


def with_account(*, session: Session, message_id: int) -> Message | None:
    """One message with its account, in one query (the gateway reads the sender of each
    message it answers)."""
    return session.scalar(_with_account(), {"message_id": message_id})


@cache
def _with_account() -> Select[Message]:
    return (
        select(Message)
        .options(joinedload(Message.account))
        .where(Message.id == bindparam("message_id"))
    )


def replies_to(*, session: Session, message_id: int) -> list[Message]:
    """The outbound messages that answer one inbound message, in order."""
    return list(
        session.scalars(
            select(Message).where(Message.reply_to_id == message_id).order_by(Message.id)
        )
    )


def outbound_after(*, session: Session, account_id: int, after_id: int) -> list[Message]:
    """Outbound messages to one account with an id above ``after_id``, oldest first."""
    return list(
        session.scalars(
            select(Message)
            .where(
                Message.account_id == account_id,
                Message.direction == OUTBOUND,
                Message.id > after_id,
            )
            .order_by(Message.id)
        )
    )


def last_outbound(*, session: Session, account_id: int) -> Message | None:
    """The newest outbound message to one account."""
    return session.scalar(
        select(Message)
        .where(Message.account_id == account_id, Message.direction == OUTBOUND)
        .order_by(Message.id.desc())
        .limit(1)
    )


def told_since_last_taken(*, session: Session, account_id: int, system: str) -> bool:
    """Whether the system notice ``system`` went to the account after its newest inbound
    message that was taken (not ignored: throttled messages and channel events are)."""
    taken = session.scalar(
        select(func.max(Message.id)).where(
            Message.account_id == account_id,
            Message.direction == INBOUND,
            Message.status != IGNORED,
        )
    )
    notices = session.scalars(
        select(Message.data).where(
            Message.account_id == account_id,
            Message.direction == OUTBOUND,
            Message.id > (taken or 0),
        )
    )
    return any((data or {}).get("system") == system for data in notices)


def last_inbound(*, session: Session, account_id: int) -> Message | None:
    """The newest inbound message from one account."""
    return session.scalar(
        select(Message)
        .where(Message.account_id == account_id, Message.direction == INBOUND)
        .order_by(Message.id.desc())
        .limit(1)
    )


def waiting_inbound(*, session: Session, account_id: int) -> list[Message]:
    """One account's inbound messages not answered yet (received or pending), oldest first."""
    query = select(Message).where(
        Message.account_id == account_id,
        Message.direction == INBOUND,
        Message.status.in_(WAITING),
    )
    return list(session.scalars(query.order_by(Message.id)))


def unanswered(*, session: Session, limit: int = 100) -> list[Message]:
    """Inbound messages the assistant gave up on (``failed``), oldest first: for staff to read
    and answer by hand."""
    query = select(Message).where(Message.direction == INBOUND, Message.status == FAILED)
    return list(session.scalars(query.order_by(Message.id).limit(limit)))


def accounts_waiting(
    *,
    session: Session,
    received_before: datetime,
    owner: str | None = None,
    now: datetime | None = None,
    limit: int = 100,
) -> list[int]:
    """Accounts with a pending message, or one received before ``received_before`` and never
    answered (the process died after storing it), oldest first; messages another live
    process is answering (not ``owner``'s) are left to it."""
    query = (
        select(Message.account_id)
        .where(
            Message.direction == INBOUND,
            (Message.status == PENDING)
            | ((Message.status == RECEIVED) & (Message.created_at < received_before)),
            _claimable(owner, leases.dead(now or utcnow())),
        )
        .group_by(Message.account_id)
        .order_by(func.min(Message.id))
        .limit(limit)
    )
    return list(session.scalars(query))


def head_of_line(*, session: Session, account_id: int) -> Message | None:
    """The oldest outbound message to one account still queued or being sent: the only one
    that may be sent now, so a person receives replies in order. Its account comes with it."""
    return session.scalar(_head_of_line(), {"for_account": account_id})


@cache
def _head_of_line() -> Select[Message]:
    return (
        select(Message)
        .options(joinedload(Message.account))
        .where(
            Message.account_id == bindparam("for_account"),
            Message.direction == OUTBOUND,
            Message.status.in_((QUEUED, SENDING)),
        )
        .order_by(Message.id)
        .limit(1)
    )


def accounts_due(
    *, session: Session, channels: list[str], now: datetime, limit: int = 500
) -> list[int]:
    """Accounts on these channels with a queued message due now, oldest message first."""
    return list(session.scalars(_accounts_due(limit), {"channels": channels, "now": now}))


@cache
def _accounts_due(limit: int) -> Select[int]:
    return (
        select(Message.account_id)
        .where(
            Message.direction == OUTBOUND,
            Message.status == QUEUED,
            Message.channel.in_(bindparam("channels", expanding=True)),
            (Message.next_attempt_at.is_(None)) | (Message.next_attempt_at <= bindparam("now")),
        )
        .group_by(Message.account_id)
        .order_by(func.min(Message.id))
        .limit(limit)
    )


def mark_sent(
    *,
    session: Session,
    message_id: int,
    channel_message_id: str | None,
    error: str | None,
    now: datetime,
) -> bool:
    """Record that the channel took the message; False if the message is gone. The caller
    commits."""
    values = {
        "message_id": message_id,
        "channel_message_id": channel_message_id,
        "error": error,
        "now": now,
    }
    return session.connection().execute(_mark_sent(), values).rowcount == 1


@cache
def _mark_sent() -> Update:
    return (
        update(Message)
        .where(Message.id == bindparam("message_id"))
        .values(
            status=SENT,
            sent_at=bindparam("now"),
            channel_message_id=bindparam("channel_message_id"),
            error=bindparam("error"),
        )
        .execution_options(synchronize_session=False)
    )


def claim_send(*, session: Session, message: Message, owner: str) -> bool:
    """Take a queued message for sending (``sending``, one more attempt), in one conditional
    UPDATE: only if it is still queued and no earlier message to the person is queued or
    being sent. False: another process took it (or an earlier one), so this one sends nothing.
    The caller commits; the row lock (PostgreSQL) or the single writer (SQLite) makes the
    check and the write one step, so of two outboxes on one database exactly one wins."""
    values = {"message_id": message.id, "for_account": message.account_id, "owner": owner}
    return session.connection().execute(_claim_send(), values).rowcount == 1


@cache
def _claim_send() -> Update:
    """``claim_send``'s statement, built once with parameters: building it per call (the
    aliased table above all) took about a quarter of the outbox's time under load."""
    earlier = aliased(Message, name="earlier")
    return (
        update(Message)
        .where(
            Message.id == bindparam("message_id"),
            Message.status == QUEUED,
            ~exists().where(
                earlier.account_id == bindparam("for_account"),
                earlier.direction == OUTBOUND,
                earlier.status.in_((QUEUED, SENDING)),
                earlier.id < bindparam("message_id"),
            ),
        )
        .values(status=SENDING, attempts=Message.attempts + 1, claimed_by=bindparam("owner"))
        .execution_options(synchronize_session=False)
    )


def fail_queued(*, session: Session, message_id: int, error: str) -> bool:
    """Give up a queued message (the person cannot be reached), unless another process took
    it meanwhile; the caller commits."""
    failed = session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == QUEUED)
        .values(status=FAILED, error=error[:300])
        .execution_options(synchronize_session=False)
    )
    return bool(failed.rowcount == 1)  # type: ignore[attr-defined]


def claim_turn(*, session: Session, account_id: int, owner: str, now: datetime) -> int | None:
    """Take the person's oldest waiting inbound message for answering: its id, or None when
    none is waiting or another live process is answering it (that process then goes on to
    the next one). The caller commits.

    One conditional UPDATE, so of two processes exactly one wins: the oldest waiting message,
    unclaimed, claimed by ``owner`` (this process retries its own), or claimed by a process
    whose lease lapsed (it died mid-turn: the message is answered again, as an orphan is)."""
    values = {"for_account": account_id, "owner": owner, "dead_before": leases.dead_before(now)}
    claimed: int | None = session.connection().execute(_claim_turn(), values).scalar()
    return claimed


@cache
def _claim_turn() -> ReturningUpdate[int]:
    """``claim_turn``'s statement, built once with parameters (as ``_claim_send``'s): it runs
    twice per message, and building it took about 15 % of the app's time under load."""
    earlier = aliased(Message, name="earlier")
    head = (
        select(func.min(earlier.id))
        .where(
            earlier.account_id == bindparam("for_account"),
            earlier.direction == INBOUND,
            earlier.status.in_(WAITING),
        )
        .scalar_subquery()
    )
    claimable = _claimable(bindparam("owner"), leases.lapsed(bindparam("dead_before")))
    return (
        update(Message)
        .where(Message.id == head, Message.status.in_(WAITING), claimable)
        .values(claimed_by=bindparam("owner"))
        .returning(Message.id)
        .execution_options(synchronize_session=False)
    )


def _claimable(owner: str | BindParameter[str] | None, dead: Select[str]) -> ColumnElement[bool]:
    """Unclaimed, claimed by ``owner``, or claimed by a process known to be dead (``dead``:
    their leases' ids)."""
    return (
        Message.claimed_by.is_(None) | (Message.claimed_by == owner) | Message.claimed_by.in_(dead)
    )


def mark_interrupted_sends(*, session: Session, now: datetime) -> int:
    """Sends whose outcome will never be recorded become uncertain (not resent): those of a
    process whose lease lapsed (it crashed mid-send) or made before sends had an owner.
    Another live process's sends in flight are left alone, so every process may run this."""
    interrupted = session.execute(
        update(Message)
        .where(
            and_(Message.direction == OUTBOUND, Message.status == SENDING),
            Message.claimed_by.is_(None) | Message.claimed_by.in_(leases.dead(now)),
        )
        .values(
            status=UNCERTAIN, error="interrupted: the process stopped before the channel answered"
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(interrupted.rowcount)  # type: ignore[attr-defined]
