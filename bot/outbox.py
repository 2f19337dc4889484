"""The outbox: sends queued replies on their channel, in order per person, within its limits.

Each message is marked ``sending`` (committed) before the channel is called and gets its
outcome after, so a crash in between leaves it ``uncertain`` — never sent twice; so does an
outcome the database refuses to record, so one person's queue never stalls. Messages the
channel certainly did not take (429, 5xx, connection refused) are retried with back-off; a
429's retry_after pauses that chat; a person who blocked the bot is marked unreachable.

Several outboxes may share one database (app processes, machines on PostgreSQL): a message
becomes ``sending`` only by a conditional UPDATE that also requires every earlier message to
the person to be settled, so exactly one outbox sends it, and a person's messages still go out
one at a time, in order. Each claim carries the outbox's lease (bot.storage.leases);
``recover`` settles only the sends of processes whose lease lapsed, so every process runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import utcnow
from bot.storage import conversations as log
from bot.storage.leases import LEASE, Lease
from connectors.base import Button, Channel, OutgoingMessage, SendResult
from connectors.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE = 1.0  # seconds; doubles per attempt, capped at BACKOFF_MAX
BACKOFF_MAX = 300.0
_ORDER = random.Random()  # its own generator: the shared one is the tests' (Hypothesis) to seed


class Outbox:
    """Drains queued outbound messages for the channels it was given."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        channels: dict[str, Channel],
        limiters: dict[str, RateLimiter],
        now: Callable[[], datetime] = utcnow,
        lease: Lease | None = None,
    ) -> None:
        self.sessions = sessions
        self.channels = channels
        self.limiters = limiters
        self.now = now  # aware UTC; due times and back-off are read on it (tests move it)
        # The owner put on this outbox's claims; the app shares one per process.
        self.lease = lease or Lease(sessions=sessions, now=now)
        self._recovered_at: datetime | None = None
        self._wake = asyncio.Event()
        self._busy: dict[int, asyncio.Task[None]] = {}  # account id → its delivery task

    def wake(self) -> None:
        """Something was queued: look now rather than at the next tick."""
        self._wake.set()

    def recover(self) -> int:
        """Sends a crash interrupted (their process's lease lapsed) become uncertain; at start,
        then every ``LEASE`` in ``run``, in every process (live processes' sends are kept)."""
        self.lease.keep()
        self._recovered_at = now = self.now()
        with self.sessions() as session:
            interrupted = log.mark_interrupted_sends(session=session, now=now)
        if interrupted:
            logger.warning("%s interrupted send(s) marked uncertain", interrupted)
        return interrupted

    async def run(self, tick: float = 1.0) -> None:
        """Deliver forever; wakes on ``wake()`` or every ``tick`` seconds."""
        while True:
            try:
                if self._recovered_at is None or self.now() - self._recovered_at >= LEASE:
                    self.recover()  # a peer that died mid-send must not stall its people
                self.start_due()
            except Exception:  # the outbox must outlive any one bad pass
                logger.exception("outbox pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), tick)
            self._wake.clear()

    def start_due(self) -> int:
        """Start a delivery task for each person with a message due; how many started."""
        if not self.channels:
            return 0
        self.lease.keep()
        with self.sessions() as session:
            due = log.accounts_due(session=session, channels=list(self.channels), now=self.now())
        # The oldest 500 people, started in random order: outboxes of other processes take the
        # same list at the same moment, and in one order they would queue on the same rows,
        # the slower one losing every claim to the faster.
        _ORDER.shuffle(due)
        started = 0
        for account_id in due:
            if account_id not in self._busy:
                task = asyncio.create_task(self._deliver(account_id))
                self._busy[account_id] = task
                task.add_done_callback(self._forget(account_id))
                started += 1
        return started

    def _forget(self, account_id: int) -> Callable[[asyncio.Task[None]], None]:
        def forget(_task: asyncio.Task[None]) -> None:
            self._busy.pop(account_id, None)
            # A message queued while this task was finishing was skipped: look again now.
            self.wake()

        return forget

    async def drain(self) -> None:
        """Wait for the delivery tasks running now (tests, shutdown)."""
        while self._busy:
            await asyncio.gather(*list(self._busy.values()), return_exceptions=True)

    async def _deliver(self, account_id: int) -> None:
        """Send this person's queued messages one after another, oldest first."""
        while True:
            self.lease.keep()  # one person's long line must not outlast the lease
            with self.sessions() as session:
                message = log.head_of_line(session=session, account_id=account_id)
                if message is None or message.status == log.SENDING:
                    return
                now = self.now()
                if message.next_attempt_at and message.next_attempt_at > now:
                    return  # a later pass picks it up
                account = message.account
                channel = self.channels[message.channel]
                window = channel.reply_window
                if window and (
                    account.last_inbound_at is None or now - account.last_inbound_at > window
                ):
                    account.reachable = False  # until they write again
                    message.error = "outside the channel's reply window"
                if not account.reachable:
                    error = message.error or "person unreachable on channel"
                    log.fail_queued(session=session, message_id=message.id, error=error)
                    session.commit()
                    continue
                recipient, message_id = account.external_id, message.id
                outgoing = _outgoing(message)
                if not log.claim_send(session=session, message=message, owner=self.lease.id):
                    return  # another outbox sends it (and the rest of this person's line)
                session.commit()
            limiter = self.limiters.get(channel.name)
            async with limiter.slot(recipient) if limiter else contextlib.nullcontext():
                try:
                    result = await channel.send(recipient, outgoing)
                except Exception as exc:  # a bug in a connector must not leave it "sending"
                    logger.exception("send %s crashed", message_id)
                    result = SendResult(ok=False, uncertain=True, error=f"crash: {exc!r}")
            if not self._record(message_id, result, limiter, recipient):
                return

    def _record(
        self, message_id: int, result: SendResult, limiter: RateLimiter | None, recipient: str
    ) -> bool:
        """Store the outcome; False when this person's queue must wait (a retry later).

        If the outcome cannot be stored (a constraint, a database error), the message becomes
        ``uncertain`` in a fresh transaction: the channel may have delivered it, so it is never
        resent, and it is not left ``sending``, which would stall the person's queue.
        """
        try:
            return self._store_outcome(message_id, result, limiter, recipient)
        except Exception as exc:  # recording must not stall the queue, whatever went wrong
            reason = _short(exc)
            logger.error(
                "message %s: outcome not recorded (%s): marked uncertain", message_id, reason
            )
            return self._mark_uncertain(message_id, result, reason)

    def _store_outcome(
        self, message_id: int, result: SendResult, limiter: RateLimiter | None, recipient: str
    ) -> bool:
        with self.sessions() as session:
            now = self.now()
            error = result.error[:300] if result.error else None
            if result.ok:  # the usual outcome: one UPDATE, no load of the row
                sent = log.mark_sent(
                    session=session,
                    message_id=message_id,
                    channel_message_id=result.channel_message_id,
                    error=error,
                    now=now,
                )
                if not sent:
                    raise LookupError("the message is gone")
                session.commit()
                return True
            message = session.get(log.Message, message_id)
            if message is None:
                raise LookupError("the message is gone")
            message.error = error
            if result.uncertain:
                message.status = log.UNCERTAIN
                logger.warning(
                    "message %s may or may not have arrived: %s", message_id, result.error
                )
            elif result.retryable and message.attempts < MAX_ATTEMPTS:
                delay = result.retry_after or min(
                    BACKOFF_MAX, BACKOFF_BASE * 2 ** (message.attempts - 1)
                )
                if result.retry_after and limiter:
                    limiter.pause(recipient, result.retry_after)
                message.status = log.QUEUED
                message.next_attempt_at = now + timedelta(seconds=delay)
                session.commit()
                return False
            else:
                message.status = log.FAILED
                if not result.reachable:
                    message.account.reachable = False
                    logger.info("%s is unreachable: %s", message.account.sender_id, result.error)
            session.commit()
            return True

    def _mark_uncertain(self, message_id: int, result: SendResult, reason: str) -> bool:
        """The fallback of ``_record``; False (the queue waits) only if even this fails."""
        said = "accepted it" if result.ok else (result.error or "failed")
        try:
            with self.sessions() as session:
                message = session.get(log.Message, message_id)
                if message is not None:
                    message.status = log.UNCERTAIN
                    message.error = f"outcome not recorded ({reason}); the channel: {said}"[:300]
                    session.commit()
            return True
        except Exception as exc:  # the database is gone: recover() settles it at the next start
            logger.error("message %s stays sending: %s", message_id, _short(exc))
            return False


def _short(exc: BaseException) -> str:
    """One line about a failure, without the SQL statement and parameters SQLAlchemy adds."""
    cause = getattr(exc, "orig", None) or exc
    first = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(exc).__name__}: {first}"[:200]


def _outgoing(message: log.Message) -> OutgoingMessage:
    buttons = tuple(Button(b["title"], b["payload"]) for b in message.data.get("buttons") or ())
    return OutgoingMessage(
        text=message.text, buttons=buttons, image_url=message.data.get("image_url")
    )
