"""Personal data is kept only as long as it is needed (Decree 13/2023/NĐ-CP, the 2025 Personal
Data Protection Law), and erased at once when the person asks.

Three stores hold it: help requests (phone, address, description, and what staff wrote), the
message log (every text in and out) and Rasa's tracker store (the same texts, and form slots).
The questions Loa could not answer (``bot.storage.questions``: no sender, phone numbers masked)
are deleted after their ``KEEP_DAYS`` by the same pass.
What is erased is blanked, not deleted: a request's statistics (need, commune, urgency, times)
stay for the reports, and the desk can show that — and when — its details were erased.

Rasa's conversations are erased by deleting their events, only between turns: Rasa writes a
turn's events after the actions ran, so a tracker deleted mid-turn would be written back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.storage import questions
from bot.storage.alerts import FORGOTTEN, Subscription
from bot.storage.conversations import (
    QUEUED,
    SENDING,
    WAITING,
    ChannelAccount,
    Message,
    Person,
)
from bot.storage.helpdesk import (
    CLOSING_STATUSES,
    MESSAGE,
    NOTE,
    HelpRequest,
    RequestEvent,
)
from bot.storage.reports import FalseInfoReport

RETENTION = "retention"
FORGET_ME = "forget_me"
ERASED_TEXT = ""  # what an erased text becomes; ``data["erased"]`` says why
# A turn in flight would write its tracker back: a conversation is erased only when its last
# message is at least this old.
QUIET = timedelta(seconds=30)

# Rasa's SQL tracker store (rasa.core.tracker_store.SQLTrackerStore): one row per event.
_events = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("timestamp", sa.Float),
)


@dataclass(frozen=True)
class Erased:
    """How much one pass erased."""

    requests: int = 0
    messages: int = 0
    tracker_events: int = 0
    questions: int = 0


def erase_closed_requests(*, session: Session, now: datetime, days: int) -> int:
    """Erase the personal fields of requests closed more than ``days`` ago; returns how many."""
    closed = func.coalesce(HelpRequest.closed_at, HelpRequest.status_changed_at)
    ids = list(
        session.scalars(
            select(HelpRequest.id).where(
                HelpRequest.status.in_(CLOSING_STATUSES),
                HelpRequest.erased_at.is_(None),
                closed < now - timedelta(days=days),
            )
        )
    )
    return _erase_requests(session, ids, now=now, why=RETENTION)


def expire_message_texts(*, session: Session, now: datetime, days: int) -> int:
    """Blank the texts of logged messages older than ``days``; returns how many. Messages
    still to be answered or sent keep theirs until they are."""
    held = (QUEUED, SENDING, *WAITING)
    result = session.execute(
        update(Message)
        .where(
            Message.created_at < now - timedelta(days=days),
            Message.text != ERASED_TEXT,
            Message.status.not_in(held),
        )
        .values(text=ERASED_TEXT, data={"erased": RETENTION})
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def tracker_store(path: Path) -> sa.Engine | None:
    """Rasa's SQLite tracker store at ``path``, or None while Rasa has not made it."""
    return sa.create_engine(f"sqlite:///{path}") if path.exists() else None


def expire_tracker_events(*, tracker: sa.Engine | None, now: datetime, days: int) -> int:
    """Delete Rasa's events older than ``days`` (texts, slots such as the remembered place)."""
    if tracker is None:
        return 0
    with tracker.begin() as connection:
        if not _has_events(connection):
            return 0
        cutoff = (now - timedelta(days=days)).timestamp()
        result = connection.execute(sa.delete(_events).where(_events.c.timestamp < cutoff))
        return int(result.rowcount)


def ask_to_forget(*, session: Session, person_id: int, now: datetime) -> Erased:
    """The person asked Loa to delete their data: erase their requests' personal fields and
    their message texts now (the caller commits); their Rasa conversations follow as soon as
    no turn is in flight (``forget_conversations``)."""
    person = session.get(Person, person_id)
    if person is None:
        return Erased()
    person.forget_asked_at = now
    ids = list(session.scalars(select(HelpRequest.id).where(HelpRequest.person_id == person_id)))
    requests = _erase_requests(session, ids, now=now, why=FORGET_ME)
    # A reported claim is public content (the rumour), kept for the inspectors; what says
    # who saw it where goes, and the verdict is no longer sent to them.
    session.execute(
        update(FalseInfoReport)
        .where(FalseInfoReport.person_id == person_id, FalseInfoReport.erased_at.is_(None))
        .values(seen_where="", erased_at=now, version=FalseInfoReport.version + 1)
        .execution_options(synchronize_session=False)
    )
    # No more announcements: a subscription is personal data (where they live) and consent to
    # it is withdrawn with the rest. The rows stay, ended, as the record of that consent.
    session.execute(
        update(Subscription)
        .where(Subscription.person_id == person_id, Subscription.ended_at.is_(None))
        .values(ended_at=now, end_reason=FORGOTTEN)
        .execution_options(synchronize_session=False)
    )
    accounts = select(ChannelAccount.id).where(ChannelAccount.person_id == person_id)
    result = session.execute(
        update(Message)
        .where(
            Message.account_id.in_(accounts),
            Message.text != ERASED_TEXT,
            Message.status.not_in((QUEUED, SENDING)),
        )
        .values(text=ERASED_TEXT, data={"erased": FORGET_ME})
    )
    return Erased(requests=requests, messages=int(result.rowcount))  # type: ignore[attr-defined]


def forget_conversations(*, session: Session, tracker: sa.Engine | None, now: datetime) -> int:
    """Erase the Rasa conversations of people who asked to be forgotten, once their last
    message is ``QUIET`` old; marks them forgotten. Returns how many people were done."""
    done = 0
    for person in session.scalars(
        select(Person).where(Person.forget_asked_at.is_not(None), Person.forgotten_at.is_(None))
    ):
        accounts = list(
            session.scalars(select(ChannelAccount).where(ChannelAccount.person_id == person.id))
        )
        if _last_message_at(session, accounts) > now - QUIET:
            continue  # a turn may be in flight: next pass
        _delete_trackers(tracker, [account.sender_id for account in accounts])
        # Texts that arrived between the request and now (the confirmation, a last word).
        session.execute(
            update(Message)
            .where(
                Message.account_id.in_([a.id for a in accounts]),
                Message.text != ERASED_TEXT,
                Message.status.not_in((QUEUED, SENDING, *WAITING)),
            )
            .values(text=ERASED_TEXT, data={"erased": FORGET_ME})
        )
        person.forgotten_at = now
        done += 1
    return done


def run_pass(
    *,
    session: Session,
    tracker: sa.Engine | None,
    now: datetime,
    request_days: int,
    message_days: int,
) -> Erased:
    """One pass of the retention worker (the caller commits)."""
    forget_conversations(session=session, tracker=tracker, now=now)
    return Erased(
        requests=erase_closed_requests(session=session, now=now, days=request_days),
        messages=expire_message_texts(session=session, now=now, days=message_days),
        tracker_events=expire_tracker_events(tracker=tracker, now=now, days=message_days),
        questions=questions.expire(session=session, now=now),
    )


def _erase_requests(session: Session, ids: Iterable[int], *, now: datetime, why: str) -> int:
    ids = list(ids)
    if not ids:
        return 0
    session.execute(
        update(HelpRequest)
        .where(HelpRequest.id.in_(ids))
        .values(
            phone=None,
            address_detail=None,
            description=ERASED_TEXT,
            erased_at=now,
            erased_by=why,
            updated_at=now,
            version=HelpRequest.version + 1,  # a desk form opened before is now stale
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(RequestEvent)
        .where(RequestEvent.request_id.in_(ids), RequestEvent.kind.in_((MESSAGE, NOTE)))
        .values(text=ERASED_TEXT)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return len(ids)


def _last_message_at(session: Session, accounts: list[ChannelAccount]) -> datetime:
    last = session.scalar(
        select(func.max(Message.created_at)).where(Message.account_id.in_([a.id for a in accounts]))
    )
    return last or datetime.min.replace(tzinfo=UTC)


def _delete_trackers(tracker: sa.Engine | None, sender_ids: list[str]) -> None:
    if tracker is None:
        return
    with tracker.begin() as connection:
        if sender_ids and _has_events(connection):
            connection.execute(sa.delete(_events).where(_events.c.sender_id.in_(sender_ids)))


def _has_events(connection: sa.Connection) -> bool:
    """Rasa creates its table on first use: a tracker store never used has none."""
    return sa.inspect(connection).has_table("events")
