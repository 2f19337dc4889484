"""The delivery worker: sends approved broadcasts to every subscriber, once, within each
channel's limits — one inside the app by default, or any number of ``loa worker`` processes.

Each pass the worker beats its heartbeat, tidies up (deliveries of dead workers → uncertain,
cancelled broadcasts → skipped, quiet hours → held), makes the delivery rows of newly approved
broadcasts, then claims only what it can send within the next second (``claims.claim``: one
worker per row), takes that many slots of the channel's shared pace (``pace.SharedPace``) and
sends them concurrently, each at its slot. Outcomes are recorded in small batches; a broadcast
whose every delivery is final is marked done. A ``kill -9`` leaves at most the sends in flight
and the outcomes not yet recorded as ``sending``: once the lease has passed without a
heartbeat, any worker marks them ``uncertain`` — never resent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from bot.alerts import audience, cadence, claims
from bot.alerts.pace import UNLIMITED, SharedPace
from bot.alerts.rules import SendRules
from bot.channels import Channels
from bot.clock import utcnow
from bot.settings import Settings
from bot.storage.alerts import APPROVED, Broadcast
from connectors.base import Channel, OutgoingMessage, SendResult
from connectors.ratelimit import RateLimiter
from connectors.text import split_text

logger = logging.getLogger(__name__)

HORIZON = 1.0  # seconds: claim only what the channel's pace lets out within this
MAX_BATCH = 500  # deliveries claimed at once
SEND_TIMEOUT = 60.0  # seconds; a send still unanswered is uncertain (the channel may have it)
RECORD_EVERY = 0.05  # seconds between writes of outcomes
TIDY_EVERY = 1.0  # seconds between the passes over dead workers, cancelled and done broadcasts
PLAN_EVERY = 60.0  # seconds between looks for the cadence's digests (planned once per period)
AUDIENCE_CHUNK = 5_000  # delivery rows made per pass


class Worker:
    """Delivers broadcasts on ``channels``. Each channel's ``limiters`` rate (missing:
    unlimited) is shared by every worker through the database (``SharedPace``); the limiter
    itself also paces this process's sends as the channel sees them (a send counts until a
    second after its answer), which absorbs the jitter of request latencies. ``now`` dates
    rows (tests move it), ``clock`` (wall seconds) times the shared slots."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        channels: Mapping[str, Channel],
        limiters: Mapping[str, RateLimiter],
        rules: SendRules | None = None,
        worker_id: str | None = None,
        lease: float = 30.0,
        concurrency: int = 16,
        tick: float = 0.25,
        now: Callable[[], datetime] = utcnow,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sessions = sessions
        self.channels = dict(channels)
        self.limiters = dict(limiters)
        self.rules = rules or SendRules()
        self.worker_id = worker_id or _new_id()
        self.lease = timedelta(seconds=lease)
        self.concurrency = max(1, concurrency)
        self.tick = tick
        self.now = now
        self.clock = clock
        self.paces = {
            name: SharedPace(
                sessions=sessions,
                channel=name,
                per_second=limiters[name].per_second if name in limiters else UNLIMITED,
                clock=clock,
            )
            for name in self.channels
        }
        self.windows = {n: c.reply_window for n, c in self.channels.items() if c.reply_window}
        self._sending: set[asyncio.Task[None]] = set()
        self._outcomes: list[claims.Outcome] = []
        self._paused_until: dict[str, float] = {}
        self._beat_at = -1e9  # monotonic time of the last heartbeat written
        self._tidied_at = -1e9
        self._planned_at = -1e9
        self._stopping = False
        self._wake = asyncio.Event()
        self._beating = asyncio.Lock()  # the beat task and a pass may both find a beat due

    # -- running ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until ``stop()``; then finish the sends in flight and record them."""
        names = ", ".join(sorted(self.channels)) or "none"
        logger.info(
            "delivery worker %s started: channels %s, %d sends at once, lease %.0f s",
            self.worker_id,
            names,
            self.concurrency,
            self.lease.total_seconds(),
        )
        recorder = asyncio.create_task(self._record_loop())
        beating = asyncio.create_task(self._beat_loop())  # not held up by a long pass
        try:
            while not self._stopping:
                started = 0
                try:
                    started = await self.pass_once()
                except Exception:  # the worker must outlive any one bad pass
                    logger.exception("delivery pass failed")
                await self._pause_between(started)
        finally:
            recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recorder
            await self.drain()
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._leave)
            logger.info("delivery worker %s stopped", self.worker_id)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def wake(self) -> None:
        """Something was approved: look now rather than at the next tick."""
        self._wake.set()

    async def _pause_between(self, started: int) -> None:
        if len(self._sending) > self.concurrency // 2:
            # Claim again once half the places are free: a claim costs about the same for 2
            # rows as for 200, and refilling after every answer made claims of one or two.
            deadline = time.monotonic() + self.tick
            while len(self._sending) > self.concurrency // 2:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                await asyncio.wait(set(self._sending), timeout=left, return_when="FIRST_COMPLETED")
        elif not started:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.tick)
            self._wake.clear()

    async def pass_once(self) -> int:
        """One pass: heartbeat, tidying, new audiences, then claim and start what may be sent
        now; how many sends it started."""
        if not await self._beat():
            return 0  # a worker whose heartbeat cannot be written must not claim anything
        now = self.now()
        await asyncio.to_thread(self._prepare, now)
        limit = await asyncio.to_thread(self._room)
        if limit <= 0:
            return 0
        jobs = await asyncio.to_thread(self._claim, now, limit)
        by_channel: dict[str, list[claims.Job]] = defaultdict(list)
        for job in jobs:
            by_channel[job.channel].append(job)
        for name, group in by_channel.items():
            slots = await asyncio.to_thread(self.paces[name].take, len(group))
            for job, slot in zip(group, slots, strict=True):
                task = asyncio.create_task(self._send(job, slot))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)
        return len(jobs)

    async def drain(self) -> None:
        """Wait for the sends in flight, record every outcome, mark finished broadcasts."""
        while self._sending:
            await asyncio.gather(*list(self._sending), return_exceptions=True)
        while self._outcomes:
            if not await self._flush():
                await asyncio.sleep(RECORD_EVERY)
        await asyncio.to_thread(self._tidy, self.now(), force=True)

    # -- the database, in a thread -----------------------------------------------------------

    async def _beat(self) -> bool:
        """Write the heartbeat when a third of the lease has passed; whether it is fresh."""
        lease = self.lease.total_seconds()
        async with self._beating:
            if time.monotonic() - self._beat_at >= lease / 3:
                try:
                    await asyncio.to_thread(self._write_beat)
                    self._beat_at = time.monotonic()
                except Exception as exc:
                    logger.error("heartbeat not written: %s", _short(exc))
        return time.monotonic() - self._beat_at < lease / 2

    async def _beat_loop(self) -> None:
        while True:
            await self._beat()
            await asyncio.sleep(self.lease.total_seconds() / 6)

    def _write_beat(self) -> None:
        with self.sessions() as session:
            claims.heartbeat(session=session, worker_id=self.worker_id, now=self.now())

    def _leave(self) -> None:
        with self.sessions() as session:
            claims.leave(session=session, worker_id=self.worker_id)

    def _prepare(self, now: datetime) -> None:
        """The cadence's digests (every PLAN_EVERY), new audiences, quiet hours, and (every
        TIDY_EVERY) the tidying."""
        self._plan(now)
        self._materialize_one(now)
        if until := self.rules.quiet_until(now):
            with self.sessions() as session:
                claims.hold_for_quiet_hours(session=session, now=now, until=until)
        self._tidy(now)

    def _plan(self, now: datetime) -> None:
        """Make the digests the areas' cadence calls for now. Every worker may look: a digest
        is planned once per area and period (``cadence.plan_digests``)."""
        if time.monotonic() - self._planned_at < PLAN_EVERY:
            return
        self._planned_at = time.monotonic()
        try:
            with self.sessions() as session:
                made = cadence.plan_digests(session=session, now=now)
                session.commit()
        except Exception as exc:  # planning must never stop the sending
            logger.error("cadence planning failed (%s); tried again later", _short(exc))
            return
        for digest in made:
            logger.info("broadcast %d: the cadence's digest for %s", digest.id, digest.title)

    def _materialize_one(self, now: datetime) -> bool:
        """Make the next AUDIENCE_CHUNK delivery rows of one approved broadcast whose rows are
        not all made yet (one chunk a pass: sending starts with the first, and claims are not
        held up behind one long write); whether one was found. Another worker may be making
        the same one: the rows are made once."""
        with self.sessions() as session:
            broadcast = session.scalars(
                select(Broadcast)
                .where(Broadcast.status == APPROVED, Broadcast.audience_ready_at.is_(None))
                .order_by(Broadcast.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if broadcast is None:
                return False
            try:
                added = audience.materialize(
                    session=session, broadcast=broadcast, now=now, chunk=AUDIENCE_CHUNK
                )
                ready = broadcast.audience_ready_at is not None
                session.commit()
            except StaleDataError:  # changed meanwhile (cancelled): looked at again next pass
                session.rollback()
                return False
            logger.log(
                logging.INFO if ready else logging.DEBUG,
                "broadcast %d: %d more deliveries to make%s",
                broadcast.id,
                added,
                ", every one made" if ready else "",
            )
            return True

    def _tidy(self, now: datetime, *, force: bool = False) -> None:
        if not force and time.monotonic() - self._tidied_at < TIDY_EVERY:
            return
        self._tidied_at = time.monotonic()
        with self.sessions() as session:
            claims.recover_stale(session=session, now=now, lease=self.lease)
        try:
            with self.sessions() as session:
                claims.skip_cancelled(session=session, now=now)
            with self.sessions() as session:
                for done in claims.finish_done(session=session, now=now):
                    logger.info("broadcast %d: every delivery has its outcome", done)
        except StaleDataError:  # another worker or an officer changed it first: next time
            logger.info("a broadcast changed while it was being closed; looked at again")

    def _room(self) -> int:
        """How many deliveries to claim now: free send places, within what the channels'
        shared pace lets out in the next HORIZON seconds."""
        free = min(MAX_BATCH, self.concurrency - len(self._sending))
        if free <= 0:
            return 0
        if not self.paces:  # no sending channel: each claim ends unreachable, nothing is sent
            return free
        budget = 0.0
        for pace in self.paces.values():
            if pace.unlimited:
                return free
            budget += max(0.0, HORIZON - pace.backlog()) * pace.per_second
        return min(free, int(budget))

    def _claim(self, now: datetime, limit: int) -> list[claims.Job]:
        with self.sessions() as session:
            return claims.claim(
                session=session,
                worker_id=self.worker_id,
                now=now,
                limit=limit,
                channels=list(self.channels),
                windows=self.windows,
                rules=self.rules,
                urgent_only=self.rules.quiet_until(now) is not None,
            )

    # -- sending ---------------------------------------------------------------------------

    async def _send(self, job: claims.Job, slot: float) -> None:
        """Send one job at its slot, unless a 429 paused its channel meanwhile."""
        if (wait := slot - self.clock()) > 0:
            await asyncio.sleep(wait)
        limiter = self.limiters.get(job.channel)
        async with limiter.slot(job.recipient) if limiter else contextlib.nullcontext():
            paused = self._paused_until.get(job.channel, 0.0) - self.clock()
            if paused > 0:
                retry_at = self.now() + timedelta(seconds=paused)
                self._outcomes.append(claims.Outcome(job, None, retry_at))
                return
            result = await self._deliver(job)
        if result.retryable and result.retry_after:
            if limiter:
                limiter.pause(job.recipient, result.retry_after)
            await self._pause(job.channel, result.retry_after)
        self._outcomes.append(claims.Outcome(job, result))

    async def _deliver(self, job: claims.Job) -> SendResult:
        """The channel's answer; a text over its limit goes in parts, in order."""
        channel = self.channels[job.channel]
        parts = split_text(job.text, channel.max_text_length) or [job.text]
        first: SendResult | None = None
        for n, part in enumerate(parts):
            try:
                result = await asyncio.wait_for(
                    channel.send(job.recipient, OutgoingMessage(text=part)), SEND_TIMEOUT
                )
            except TimeoutError:
                result = SendResult(ok=False, uncertain=True, error="no answer in time")
            except Exception as exc:  # a bug in a connector: it may have sent
                logger.error("delivery %d: send crashed: %s", job.delivery_id, _short(exc))
                result = SendResult(ok=False, uncertain=True, error=f"crash: {_short(exc)}")
            if first is None:
                first = result
            if not result.ok:
                if n == 0:
                    return result
                error = f"only {n} of {len(parts)} parts sent: {result.error}"
                return SendResult(ok=True, channel_message_id=first.channel_message_id, error=error)
        assert first is not None
        return first

    async def _pause(self, channel: str, seconds: float) -> None:
        """A 429: this worker's sends on the channel wait, and so do every other worker's."""
        until = self.clock() + seconds
        if until > self._paused_until.get(channel, 0.0):
            self._paused_until[channel] = until
            logger.info("%s asked for a %.0f s pause: every worker slows down", channel, seconds)
            try:
                await asyncio.to_thread(self.paces[channel].pause, seconds)
            except Exception as exc:
                logger.error("pause not shared: %s", _short(exc))

    async def _record_loop(self) -> None:
        while True:
            await asyncio.sleep(RECORD_EVERY)
            if self._outcomes:
                await self._flush()

    async def _flush(self) -> bool:
        """Record the outcomes gathered so far; on a database error they are kept and tried
        again (the rows stay ``sending`` meanwhile, never resent)."""
        batch, self._outcomes = self._outcomes, []
        try:
            await asyncio.to_thread(self._record, batch)
            return True
        except Exception as exc:
            logger.error("%d outcomes not recorded yet: %s", len(batch), _short(exc))
            self._outcomes = batch + self._outcomes
            return False

    def _record(self, batch: list[claims.Outcome]) -> None:
        with self.sessions() as session:
            claims.record(session=session, worker_id=self.worker_id, outcomes=batch, now=self.now())


def from_settings(cfg: Settings, *, sessions: sessionmaker[Session], channels: Channels) -> Worker:
    """The worker the settings describe, on the channels that are on."""
    return Worker(
        sessions=sessions,
        channels=channels.senders,
        limiters=channels.limiters,
        rules=SendRules.from_settings(cfg),
        lease=cfg.alert_worker_lease_seconds,
        concurrency=cfg.alert_send_concurrency,
    )


def _new_id() -> str:
    """Unique per process start: a restarted worker never inherits a dead one's rows."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def _short(exc: BaseException) -> str:
    """One line about a failure, without SQLAlchemy's statement and parameters."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"[:200]
