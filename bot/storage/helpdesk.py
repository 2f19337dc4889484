"""Help requests: the request a person filed, the needs it holds, its events, the code counter.

The database keeps the rules no burst of messages may slip through: one code per request, one
request per (person, client key) — the same confirmation twice is one request — and at most one
*open* request per (person, need), by a partial unique index on ``help_request_needs``
(``is_open`` mirrors the request's status; ``bot.helpdesk.requests`` keeps the two in step).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

# The tables this module's foreign keys point to, registered with it wherever it is imported.
from bot.storage import conversations as _conversations  # noqa: F401
from bot.storage import staff as _staff  # noqa: F401
from bot.storage.base import Base, UTCDateTime

# What a person may need (several at once).
FOOD = "food"
MEDICINE = "medicine"  # medicine or medical care
OXYGEN_TRANSPORT = "oxygen_transport"  # oxygen, or emergency transport to hospital
TRANSPORT_HOME = "transport_home"  # transport, going back home
MONEY_WORK = "money_work"  # money or work
OTHER = "other"
NEEDS = (FOOD, MEDICINE, OXYGEN_TRANSPORT, TRANSPORT_HOME, MONEY_WORK, OTHER)

# Urgency, most urgent first.
EMERGENCY = "emergency"  # life at risk: staff act within minutes
HIGH = "high"  # a risk group or a pressing need: within the hour
NORMAL = "normal"
URGENCIES = (EMERGENCY, HIGH, NORMAL)

# Statuses: new → in_progress → one of the closing ones (a closed request may be reopened).
NEW = "new"  # filed, nobody has taken it yet
IN_PROGRESS = "in_progress"  # staff are working on it
RESOLVED = "resolved"  # the help was given
REFERRED = "referred"  # handed to another body (ward, health station, charity)
NOT_ELIGIBLE = "not_eligible"  # outside what the hotline can do
DUPLICATE = "duplicate"  # the same as another request (automatic for a linked repeat)
OPEN_STATUSES = (NEW, IN_PROGRESS)
CLOSING_STATUSES = (RESOLVED, REFERRED, NOT_ELIGIBLE, DUPLICATE)
STATUSES = OPEN_STATUSES + CLOSING_STATUSES

# Event kinds.
CREATED = "created"  # the request was filed
STATUS = "status"  # its status changed (``text`` holds the reason)
LINKED = "linked"  # a repeat from the same person was linked to it (``text``: the repeat's code)
URGENCY_RAISED = "urgency"  # a repeat raised its urgency
MESSAGE = "message"  # staff wrote to the person (shown to them)
NOTE = "note"  # an internal note (never shown to the person)
EVENT_KINDS = (CREATED, STATUS, LINKED, URGENCY_RAISED, MESSAGE, NOTE)

# What the desk's watcher raised about a request, each once per clock (``RequestAlert``).
ALERT_EMERGENCY = "emergency"  # a new emergency request: its commune's staff told on Telegram
ALERT_FIRST_RESPONSE = "first_response"  # no first answer in time: escalated to supervisors
ALERT_RESOLUTION = "resolution"  # not closed in time: escalated to supervisors
ALERT_KINDS = (ALERT_EMERGENCY, ALERT_FIRST_RESPONSE, ALERT_RESOLUTION)

CODE_PREFIX = "HT"


def _among(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class HelpRequest(Base):
    """One request for help, as confirmed by the person; a repeat is linked to the open one."""

    __tablename__ = "help_requests"
    __table_args__ = (
        UniqueConstraint("code"),
        UniqueConstraint("person_id", "client_key"),
        CheckConstraint(_among("urgency", URGENCIES), name="urgency"),
        CheckConstraint(_among("status", STATUSES), name="status"),
        CheckConstraint("people_count >= 1", name="people_count"),
        # Decree 13/2023: a phone number is kept only with consent to be contacted.
        CheckConstraint("phone IS NULL OR consent", name="phone_consent"),
        # Closing needs a reason, except for a repeat linked automatically.
        CheckConstraint(
            f"{_among('status', OPEN_STATUSES)} OR status_reason IS NOT NULL"
            " OR linked_to_id IS NOT NULL",
            name="closing_reason",
        ),
        Index("ix_help_requests_status_urgency_created", "status", "urgency", "created_at"),
        Index("ix_help_requests_person_id_id", "person_id", "id"),
        Index("ix_help_requests_commune_status", "commune_code", "status"),
        # The queue's counts per status under a commune + urgency filter read only this index.
        Index("ix_help_requests_commune_urgency_status", "commune_code", "urgency", "status"),
        # The desk's queue reads open requests most urgent, then oldest first (the urgency
        # names sort that way): these walk the open ones in that order, for the province and
        # for an operator's communes, without sorting the closed ones (most of the table).
        Index(
            "ix_help_requests_open_queue",
            "urgency",
            "created_at",
            "id",
            sqlite_where=text(_among("status", OPEN_STATUSES)),
            postgresql_where=text(_among("status", OPEN_STATUSES)),
        ),
        Index(
            "ix_help_requests_open_commune_queue",
            "commune_code",
            "urgency",
            "created_at",
            "id",
            sqlite_where=text(_among("status", OPEN_STATUSES)),
            postgresql_where=text(_among("status", OPEN_STATUSES)),
        ),
        # The supervisors' reports (bot.helpdesk.stats) read every request filed in a window
        # from this index alone, in filing order, never from the wide rows; ``version`` is
        # there for ``stats.version``.
        Index(
            "ix_help_requests_reports",
            "created_at",
            "commune_code",
            "urgency",
            "first_response_at",
            "closed_at",
            "clock_started_at",
            "version",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20))  # HT-26-000123: said on the phone
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("channel_accounts.id"))  # reply there
    client_key: Mapped[str] = mapped_column(String(64))  # one per confirmed form: idempotency
    description: Mapped[str] = mapped_column(Text, default="")
    province_code: Mapped[int] = mapped_column(index=True)
    commune_code: Mapped[int] = mapped_column(index=True)
    address_detail: Mapped[str | None] = mapped_column(String(300))
    people_count: Mapped[int] = mapped_column(default=1)
    phone: Mapped[str | None] = mapped_column(String(11))  # national form, bot.helpdesk.phones
    consent: Mapped[bool] = mapped_column(default=False)  # to be contacted about it
    urgency: Mapped[str] = mapped_column(String(10))
    urgency_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)  # urgency.yml codes
    status: Mapped[str] = mapped_column(String(12), default=NEW)
    status_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)  # optimistic concurrency: +1 per change
    linked_to_id: Mapped[int | None] = mapped_column(ForeignKey("help_requests.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The desk's work: who has it, and the SLA's two clocks (first answer, closing).
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None again when reopened
    # When its personal fields (phone, address, description, staff texts) were erased: after
    # the retention period, or because the person asked (``erased_by``: retention/forget_me).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_by: Mapped[str | None] = mapped_column(String(12))
    # When the SLA's clocks started: None = at filing; reopening starts them again.
    clock_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Every ORM update is ``… WHERE version = <the version read>``: a lost update is impossible.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it once)
    need_rows: Mapped[list[RequestNeed]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestNeed.need"
    )

    @property
    def needs(self) -> tuple[str, ...]:
        """The needs, in the order of ``NEEDS``."""
        held = {row.need for row in self.need_rows}
        return tuple(n for n in NEEDS if n in held)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def clock_start(self) -> datetime:
        """Where the SLA's clocks count from: filing, or the last reopening."""
        return self.clock_started_at or self.created_at


class RequestNeed(Base):
    """One need of a request; open while the request is, and unique among a person's open ones."""

    __tablename__ = "help_request_needs"
    __table_args__ = (
        CheckConstraint(_among("need", NEEDS), name="need"),
        Index(
            "uq_help_request_needs_open",
            "person_id",
            "need",
            unique=True,
            sqlite_where=text("is_open"),
            postgresql_where=text("is_open"),
        ),
        Index("ix_help_request_needs_need_request_id", "need", "request_id"),  # the desk's filter
    )

    request_id: Mapped[int] = mapped_column(
        ForeignKey("help_requests.id", ondelete="CASCADE"), primary_key=True
    )
    need: Mapped[str] = mapped_column(String(20), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    is_open: Mapped[bool] = mapped_column(default=True)
    request: Mapped[HelpRequest] = relationship(back_populates="need_rows")


class RequestEvent(Base):
    """Something that happened to a request: filed, status changed, linked, a message, a note."""

    __tablename__ = "help_request_events"
    __table_args__ = (
        CheckConstraint(_among("kind", EVENT_KINDS), name="kind"),
        CheckConstraint(
            f"kind != '{STATUS}' OR to_status IS NOT NULL", name="status_change_has_status"
        ),
        Index("ix_help_request_events_request_id_id", "request_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("help_requests.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(10))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str | None] = mapped_column(String(12))
    text: Mapped[str | None] = mapped_column(Text)  # the reason, the message, the note
    actor: Mapped[str | None] = mapped_column(String(80))  # staff login; None for the system
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RequestAlert(Base):
    """An alert or escalation raised for a request. The unique key makes it once per request
    and clock: a second watcher, or the same one after a restart, finds the row and stays
    quiet. ``clock_start`` is the SLA clock it belongs to (a reopened request can be late
    again); for an emergency alert, the filing time."""

    __tablename__ = "help_request_alerts"
    __table_args__ = (
        UniqueConstraint("request_id", "kind", "clock_start"),
        CheckConstraint(_among("kind", ALERT_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("help_requests.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    clock_start: Mapped[datetime] = mapped_column(UTCDateTime)
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # when it was raised
    sent_to: Mapped[list[str]] = mapped_column(JSON, default=list)  # usernames told on Telegram
    failed: Mapped[list[str]] = mapped_column(JSON, default=list)  # the sends that failed


class CounterRow(Base):
    """The last sequence number given out in one year: codes are sequential per year."""

    __abstract__ = True

    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class RequestCounter(CounterRow):
    __tablename__ = "help_request_counters"


def next_code(
    *,
    session: Session,
    year: int,
    counter: type[CounterRow] | None = None,
    prefix: str = CODE_PREFIX,
) -> str:
    """The next code of ``year`` (``HT-26-000123``), counted in the caller's transaction: the
    row stays locked until it commits, and a rollback gives the number back (no gaps).
    ``counter`` and ``prefix`` name another series (false-information reports: TG-…)."""
    table = counter or RequestCounter
    insert = (sqlite if session.get_bind().dialect.name == "sqlite" else postgresql).insert
    session.execute(
        insert(table).values(year=year, last=0).on_conflict_do_nothing(index_elements=["year"])
    )
    number = session.scalar(
        update(table).where(table.year == year).values(last=table.last + 1).returning(table.last)
    )
    assert number is not None
    return f"{prefix}-{year % 100:02d}-{number:06d}"


def by_client_key(*, session: Session, person_id: int, client_key: str) -> HelpRequest | None:
    return session.scalar(
        select(HelpRequest).where(
            HelpRequest.person_id == person_id, HelpRequest.client_key == client_key
        )
    )


def open_with_needs(
    *, session: Session, person_id: int, needs: tuple[str, ...]
) -> list[HelpRequest]:
    """The person's open requests that hold any of ``needs``, oldest first."""
    holding = select(RequestNeed.request_id).where(
        RequestNeed.person_id == person_id, RequestNeed.is_open, RequestNeed.need.in_(needs)
    )
    query = select(HelpRequest).where(HelpRequest.id.in_(holding)).order_by(HelpRequest.id)
    return list(session.scalars(query))


def open_needs(*, session: Session, person_id: int) -> set[str]:
    """Every need the person has in an open request."""
    query = select(RequestNeed.need).where(RequestNeed.person_id == person_id, RequestNeed.is_open)
    return set(session.scalars(query))


def by_code(*, session: Session, code: str) -> HelpRequest | None:
    """The request with this code, as stored now (not as an earlier read left it)."""
    query = select(HelpRequest).where(HelpRequest.code == code)
    return session.scalar(query.execution_options(populate_existing=True))


def latest_of(*, session: Session, person_id: int) -> HelpRequest | None:
    return session.scalar(
        select(HelpRequest)
        .where(HelpRequest.person_id == person_id)
        .order_by(HelpRequest.id.desc())
        .limit(1)
    )


def last_event(*, session: Session, request_id: int, kind: str) -> RequestEvent | None:
    return session.scalar(
        select(RequestEvent)
        .where(RequestEvent.request_id == request_id, RequestEvent.kind == kind)
        .order_by(RequestEvent.id.desc())
        .limit(1)
    )
