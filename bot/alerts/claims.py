"""The database side of delivering broadcasts: claim due deliveries, record what the channel
said, and the housekeeping around them (quiet hours, cancelled broadcasts, dead workers).

Claiming is the exactly-once step. On PostgreSQL a worker ``SELECT … FOR UPDATE SKIP LOCKED``
the due rows and sets them ``sending`` in the same transaction, so two workers never take the
same row; on SQLite (one writer at a time) one ``UPDATE … WHERE id IN (…) AND status =
'pending' RETURNING id`` does it. In the claiming transaction each row is also checked: the
person still subscribed (else ``skipped``), under the daily cap (else held), reachable on the
row's channel or on another of theirs (else ``unreachable``). Every function takes a session
and commits nothing unless it says so.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from bot.alerts import audience, subscriptions
from bot.alerts.rules import SendRules
from bot.storage.alerts import (
    APPROVED,
    BLOCKED,
    CANCELLED,
    DONE,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    UNCERTAIN,
    UNREACHABLE,
    Broadcast,
    Delivery,
    Subscription,
)
from bot.storage.conversations import ChannelAccount
from bot.storage.delivery import AlertWorker
from connectors.base import SendResult

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # 5xx and refused connections; 429s and pauses do not count
BACKOFF_BASE = 2.0  # seconds; doubles per attempt, capped at BACKOFF_MAX
BACKOFF_MAX = 600.0
_deliveries: Table = Delivery.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Job:
    """One claimed delivery, with what sending it needs."""

    delivery_id: int
    broadcast_id: int
    person_id: int
    account_id: int
    channel: str
    recipient: str  # the person's id on the channel
    text: str
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """What became of a job: the channel's answer, or None when it was not sent at all
    (the channel was paused by a 429 meanwhile): then it waits until ``retry_at``."""

    job: Job
    result: SendResult | None
    retry_at: datetime | None = None


def heartbeat(*, session: Session, worker_id: str, now: datetime) -> None:
    """This worker is alive (its row is made on the first beat); commits."""
    beat = session.execute(
        update(AlertWorker).where(AlertWorker.worker_id == worker_id).values(heartbeat_at=now)
    )
    if not beat.rowcount:  # type: ignore[attr-defined]
        session.add(AlertWorker(worker_id=worker_id, started_at=now, heartbeat_at=now))
    session.commit()


def leave(*, session: Session, worker_id: str) -> None:
    """A worker that stopped cleanly (nothing in flight) drops its row; commits."""
    session.execute(delete(AlertWorker).where(AlertWorker.worker_id == worker_id))
    session.commit()


def recover_stale(*, session: Session, now: datetime, lease: timedelta) -> int:
    """Deliveries left ``sending`` by workers silent for longer than ``lease`` become
    ``uncertain``: the worker died while sending them, so they may have arrived — never resent.
    Commits; how many."""
    alive = select(AlertWorker.worker_id).where(AlertWorker.heartbeat_at >= now - lease)
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.status == SENDING,
            or_(Delivery.claimed_by.is_(None), Delivery.claimed_by.not_in(alive)),
        )
        .values(status=UNCERTAIN, error="the worker stopped while sending: maybe delivered")
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(AlertWorker).where(AlertWorker.heartbeat_at < now - lease * 10))
    session.commit()
    found = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if found:
        logger.warning("%d deliveries of a stopped worker marked uncertain", found)
    return found


def hold_for_quiet_hours(*, session: Session, now: datetime, until: datetime) -> int:
    """Quiet hours: due non-urgent deliveries wait until ``until``; commits; how many."""
    non_urgent = select(Broadcast.id).where(
        Broadcast.status == APPROVED, Broadcast.urgent.is_(False)
    )
    result = session.execute(
        update(Delivery)
        .where(_due(now), Delivery.broadcast_id.in_(non_urgent))
        .values(next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def skip_cancelled(*, session: Session, now: datetime) -> int:
    """The pending deliveries of cancelled broadcasts become ``skipped``; commits; how many."""
    swept = 0
    for broadcast in session.scalars(
        select(Broadcast).where(
            Broadcast.status == CANCELLED,
            Broadcast.finished_at.is_(None),
            # its rows made, in full or in part (a chunk at a time): cancelled mid-way
            exists().where(Delivery.broadcast_id == Broadcast.id),
        )
    ):
        result = session.execute(
            update(Delivery)
            .where(Delivery.broadcast_id == broadcast.id, Delivery.status == PENDING)
            .values(status=SKIPPED, error="the broadcast was cancelled")
            .execution_options(synchronize_session=False)
        )
        swept += int(result.rowcount or 0)  # type: ignore[attr-defined]
        if not _unfinished(session, broadcast.id):
            broadcast.finished_at = now
    session.commit()
    return swept


def finish_done(*, session: Session, now: datetime) -> list[int]:
    """Approved broadcasts whose every delivery is final become ``done``; commits; their ids."""
    finished = []
    for broadcast in session.scalars(
        select(Broadcast).where(
            Broadcast.status == APPROVED, Broadcast.audience_ready_at.is_not(None)
        )
    ):
        if not _unfinished(session, broadcast.id):
            broadcast.status, broadcast.finished_at = DONE, now
            finished.append(broadcast.id)
    session.commit()
    return finished


def _unfinished(session: Session, broadcast_id: int) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    Delivery.broadcast_id == broadcast_id,
                    Delivery.status.in_((PENDING, SENDING)),
                )
            )
        )
    )


def _due(now: datetime) -> Any:
    return and_(
        Delivery.status == PENDING,
        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
    )


def claim(
    *,
    session: Session,
    worker_id: str,
    now: datetime,
    limit: int,
    channels: Collection[str],
    windows: Mapping[str, timedelta],
    rules: SendRules,
    urgent_only: bool = False,
) -> list[Job]:
    """Claim up to ``limit`` due deliveries for this worker and settle what need not be sent;
    the jobs to send now. Commits."""
    ids = _take(session, worker_id, now, limit, urgent_only)
    if not ids:
        session.commit()
        return []
    rows: list[Any] = session.execute(
        select(
            Delivery.id,
            Delivery.person_id,
            Delivery.broadcast_id,
            Delivery.account_id,
            Delivery.attempts,
            Broadcast.text,
            Broadcast.urgent,
            Broadcast.areas,
        )
        .join(Broadcast, Broadcast.id == Delivery.broadcast_id)
        .where(Delivery.id.in_(ids))
    ).all()  # type: ignore[assignment]
    settle = _Settle()
    rows = _drop_unsubscribed(session, rows, settle)
    rows = _one_per_person(rows, settle, now)
    rows = _under_cap(session, rows, settle, rules, now, ids)
    jobs = _choose_channels(session, rows, settle, channels, windows, now)
    settle.apply(session)
    session.commit()
    return jobs


def _take(
    session: Session, worker_id: str, now: datetime, limit: int, urgent_only: bool
) -> list[int]:
    """The claim itself: ``limit`` due rows of approved broadcasts become ours."""
    due = (
        select(Delivery.id)
        .join(Broadcast, Broadcast.id == Delivery.broadcast_id)
        .where(_due(now), Broadcast.status == APPROVED)
        .limit(limit)
    )
    if urgent_only:
        due = due.where(Broadcast.urgent.is_(True))
    mine = {
        "status": SENDING,
        "claimed_by": worker_id,
        "claimed_at": now,
        "attempts": _deliveries.c.attempts + 1,
    }
    if session.get_bind().dialect.name == "postgresql":
        ids = list(session.scalars(due.with_for_update(skip_locked=True, of=Delivery)))
        if ids:
            session.execute(update(_deliveries).where(_deliveries.c.id.in_(ids)).values(mine))
        return ids
    return list(
        session.scalars(
            update(_deliveries)
            .where(_deliveries.c.id.in_(due.scalar_subquery()), _deliveries.c.status == PENDING)
            .values(mine)
            .returning(_deliveries.c.id)
        )
    )


class _Settle:
    """The claimed rows that are not sent now, and how each ends: written in one go."""

    def __init__(self) -> None:
        self.final: list[dict[str, Any]] = []  # {"b_id", "b_status", "b_error"}
        self.held: list[dict[str, Any]] = []  # {"b_id", "b_until"}
        self.moved: list[dict[str, Any]] = []  # {"b_id", "b_account", "b_channel"}

    def end(self, delivery_id: int, status: str, error: str) -> None:
        self.final.append({"b_id": delivery_id, "b_status": status, "b_error": error[:300]})

    def hold(self, delivery_id: int, until: datetime) -> None:
        self.held.append({"b_id": delivery_id, "b_until": until})

    def apply(self, session: Session) -> None:
        t, connection = _deliveries, session.connection()
        if self.final:
            connection.execute(
                update(t)
                .where(t.c.id == bindparam("b_id"))
                .values(status=bindparam("b_status"), error=bindparam("b_error")),
                self.final,
            )
        if self.held:  # not an attempt: back as it was, due later
            connection.execute(
                update(t)
                .where(t.c.id == bindparam("b_id"))
                .values(
                    status=PENDING,
                    claimed_by=None,
                    claimed_at=None,
                    attempts=t.c.attempts - 1,
                    next_attempt_at=bindparam("b_until"),
                ),
                self.held,
            )
        if self.moved:
            connection.execute(
                update(t)
                .where(t.c.id == bindparam("b_id"))
                .values(account_id=bindparam("b_account"), channel=bindparam("b_channel")),
                self.moved,
            )


def _drop_unsubscribed(session: Session, rows: list[Any], settle: _Settle) -> list[Any]:
    """A person who unsubscribed after the approval is not sent it (``skipped``)."""
    by_broadcast: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_broadcast[row.broadcast_id].append(row)
    kept = []
    for group in by_broadcast.values():
        areas = [
            subscriptions.AreaCode(a["province_code"], a.get("commune_code"))
            for a in group[0].areas
        ]
        still = set(
            session.scalars(
                select(Subscription.person_id)
                .where(
                    Subscription.person_id.in_([r.person_id for r in group]),
                    Subscription.ended_at.is_(None),
                    audience.matches(areas),
                )
                .distinct()
            )
        )
        for row in group:
            if row.person_id in still:
                kept.append(row)
            else:
                settle.end(row.id, SKIPPED, "unsubscribed after the approval")
    return kept


def _one_per_person(rows: list[Any], settle: _Settle, now: datetime) -> list[Any]:
    """Two broadcasts for one person in one batch: the second waits for a later batch, so
    one chat never gets two messages in the same instant (Telegram: 1/s per chat)."""
    seen: set[int] = set()
    kept = []
    for row in sorted(rows, key=lambda r: (not r.urgent, r.id)):
        if row.person_id in seen:
            settle.hold(row.id, now + timedelta(seconds=1))
        else:
            seen.add(row.person_id)
            kept.append(row)
    return kept


def _under_cap(
    session: Session,
    rows: list[Any],
    settle: _Settle,
    rules: SendRules,
    now: datetime,
    claimed: Iterable[int],
) -> list[Any]:
    """A person who already had ``daily_cap`` non-urgent messages today is held until the
    next local morning (urgent broadcasts pass)."""
    counted = [r for r in rows if not r.urgent]
    if not rules.daily_cap or not counted:
        return rows
    had = Counter[int](
        dict(
            session.execute(  # type: ignore[arg-type]
                select(Delivery.person_id, func.count())
                .join(Broadcast, Broadcast.id == Delivery.broadcast_id)
                .where(
                    Delivery.person_id.in_([r.person_id for r in counted]),
                    Delivery.status.in_((SENT, UNCERTAIN, SENDING)),
                    Delivery.claimed_at >= rules.day_start(now),
                    Delivery.id.not_in(list(claimed)),
                    Broadcast.urgent.is_(False),
                )
                .group_by(Delivery.person_id)
            ).all()
        )
    )
    kept = []
    for row in rows:
        if not row.urgent and had[row.person_id] >= rules.daily_cap:
            settle.hold(row.id, rules.next_morning(now))
        else:
            kept.append(row)
    return kept


def _choose_channels(
    session: Session,
    rows: list[Any],
    settle: _Settle,
    channels: Collection[str],
    windows: Mapping[str, timedelta],
    now: datetime,
) -> list[Job]:
    """The row's account if the channel can reach the person now, else another of theirs
    that can (the row moves to it), else ``unreachable`` — never an error loop."""
    if not rows:
        return []
    accounts: dict[int, list[ChannelAccount]] = defaultdict(list)
    for account in session.scalars(
        select(ChannelAccount).where(ChannelAccount.person_id.in_({r.person_id for r in rows}))
    ):
        accounts[account.person_id].append(account)

    def usable(account: ChannelAccount) -> bool:
        window = windows.get(account.channel)
        inside = window is None or (
            account.last_inbound_at is not None and now - account.last_inbound_at <= window
        )
        return account.reachable and account.channel in channels and inside

    jobs = []
    for row in rows:
        theirs = accounts[row.person_id]
        first = [a for a in theirs if a.id == row.account_id and usable(a)]
        others = sorted(
            (a for a in theirs if a.id != row.account_id and usable(a)),
            key=lambda a: (a.last_inbound_at is None, -(a.last_inbound_at or now).timestamp()),
        )
        chosen = (first or others or [None])[0]  # type: ignore[list-item]
        if chosen is None:
            settle.end(row.id, UNREACHABLE, "no channel can reach this person now")
            continue
        if chosen.id != row.account_id:
            settle.moved.append(
                {"b_id": row.id, "b_account": chosen.id, "b_channel": chosen.channel}
            )
        jobs.append(
            Job(
                delivery_id=row.id,
                broadcast_id=row.broadcast_id,
                person_id=row.person_id,
                account_id=chosen.id,
                channel=chosen.channel,
                recipient=chosen.external_id,
                text=row.text,
                attempts=row.attempts,
            )
        )
    return jobs


def record(*, session: Session, worker_id: str, outcomes: list[Outcome], now: datetime) -> None:
    """Store what the channels said (only for rows this worker claimed); commits.

    A person who blocked the bot ends what they subscribed to on that account, and the account
    is marked unreachable; another "cannot reach this way" (Zalo's window) marks the account
    unreachable and puts the row back, so the next claim tries the person's other channels."""
    rows: list[dict[str, Any]] = []
    blocked: set[int] = set()
    unreachable: set[int] = set()
    for outcome in outcomes:
        row, account = _outcome_row(outcome, now), outcome.job.account_id
        rows.append(row)
        result = outcome.result
        if result is not None and not result.ok and not result.reachable:
            (blocked if result.blocked else unreachable).add(account)
    t = _deliveries
    if rows:
        session.connection().execute(
            update(t)
            .where(
                t.c.id == bindparam("b_id"),
                t.c.claimed_by == worker_id,
                or_(t.c.status == SENDING, t.c.status == UNCERTAIN),  # executemany: no IN
            )
            .values(
                status=bindparam("b_status"),
                error=bindparam("b_error"),
                sent_at=bindparam("b_sent_at"),
                channel_message_id=bindparam("b_message_id"),
                next_attempt_at=bindparam("b_next"),
                attempts=t.c.attempts + bindparam("b_attempts"),
            ),
            rows,
        )
    if blocked | unreachable:
        session.execute(
            update(ChannelAccount)
            .where(ChannelAccount.id.in_(blocked | unreachable))
            .values(reachable=False)
            .execution_options(synchronize_session=False)
        )
    for account_id in blocked:
        subscriptions.end_for_account(
            session=session, account_id=account_id, reason=BLOCKED, now=now
        )
    session.commit()


def _outcome_row(outcome: Outcome, now: datetime) -> dict[str, Any]:
    """The delivery's new columns for one outcome (``b_attempts``: a correction, as a 429 or
    a pause is not an attempt)."""
    job, result = outcome.job, outcome.result
    row: dict[str, Any] = {
        "b_id": job.delivery_id,
        "b_sent_at": None,
        "b_message_id": None,
        "b_next": None,
        "b_attempts": 0,
        "b_error": None,
    }
    if result is None:
        return row | {"b_status": PENDING, "b_next": outcome.retry_at or now, "b_attempts": -1}
    error = result.error[:300] if result.error else None
    row["b_error"] = error
    if result.ok:
        return row | {"b_status": SENT, "b_sent_at": now, "b_message_id": result.channel_message_id}
    if result.uncertain:
        return row | {"b_status": UNCERTAIN}
    if result.retryable and result.retry_after:  # the channel's pace, not the message
        return row | {
            "b_status": PENDING,
            "b_next": now + timedelta(seconds=result.retry_after),
            "b_attempts": -1,
        }
    if result.retryable and job.attempts < MAX_ATTEMPTS:
        delay = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (job.attempts - 1))
        return row | {"b_status": PENDING, "b_next": now + timedelta(seconds=delay)}
    if not result.reachable and result.blocked:
        return row | {"b_status": FAILED, "b_error": f"blocked: {error}"[:300]}
    if not result.reachable:  # try the person's other channels at the next claim
        return row | {"b_status": PENDING, "b_next": now, "b_attempts": -1}
    return row | {"b_status": FAILED}
