"""A channel's rate limit shared by every delivery worker, through one database row.

The row holds the time of the channel's next free send slot. A worker takes a run of ``n``
slots with one atomic ``UPDATE … SET next = max(next, now) + n × interval … RETURNING`` (the
row lock on PostgreSQL, the write lock on SQLite), then sends each message at its slot's time:
however many workers run, on however many machines, the channel sees evenly spaced sends at
the agreed rate — no burst at a second's boundary, no queue server. A 429's retry_after moves
the next slot past the pause, for every worker. Slots a worker took and did not use (it died)
are simply lost time. Wall clocks of the machines must agree (NTP) to well under an interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import case, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.delivery import ChannelPace

# Sends are planned a little under the channel's rate: a send's arrival at the channel jitters
# by its latency, and Telegram counts arrivals in a sliding second (30 evenly planned sends
# can arrive within 0.99 s). 1.5 % leaves ~15 ms of jitter at 30/s between workers; within
# one process the local limiter (a send counts until a second after its answer) covers the rest.
MARGIN = 0.985
UNLIMITED = 10_000.0  # per second: no pacing at all (a fake without limits, a benchmark)
_US = 1_000_000


class SharedPace:
    """The shared schedule of one channel at ``per_second`` (``clock``: wall seconds)."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        channel: str,
        per_second: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sessions = sessions
        self.channel = channel
        self.per_second = per_second
        self.clock = clock
        self.interval_us = 0 if per_second >= UNLIMITED else round(_US / (per_second * MARGIN))
        self._ensured = False

    @property
    def unlimited(self) -> bool:
        return self.interval_us == 0

    def take(self, n: int) -> list[float]:
        """Reserve ``n`` consecutive slots; their times (wall seconds), earliest first."""
        if n <= 0:
            return []
        now = self.clock()
        if self.unlimited:
            return [now] * n
        now_us = round(now * _US)
        span = n * self.interval_us
        with self.sessions() as session:
            self._ensure(session)
            column = ChannelPace.next_slot_us
            end = session.scalar(
                update(ChannelPace)
                .where(ChannelPace.channel == self.channel)
                .values(next_slot_us=case((column > now_us, column), else_=now_us) + span)
                .returning(column)
            )
            session.commit()
        assert end is not None
        first = end - span
        return [(first + i * self.interval_us) / _US for i in range(n)]

    def backlog(self) -> float:
        """Seconds of sends already planned ahead of now (0: the channel is free now)."""
        if self.unlimited:
            return 0.0
        with self.sessions() as session:
            planned = session.scalar(
                select(ChannelPace.next_slot_us).where(ChannelPace.channel == self.channel)
            )
        return max(0.0, (planned or 0) / _US - self.clock())

    def pause(self, seconds: float) -> None:
        """The channel asked for a pause (429 retry_after): no worker's next slot before it."""
        until = round((self.clock() + seconds) * _US)
        column = ChannelPace.next_slot_us
        with self.sessions() as session:
            self._ensure(session)
            session.execute(
                update(ChannelPace)
                .where(ChannelPace.channel == self.channel)
                .values(next_slot_us=case((column > until, column), else_=until))
            )
            session.commit()

    def _ensure(self, session: Session) -> None:
        """Create the channel's row once (any worker may be first)."""
        if self._ensured:
            return
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(
            dialect.insert(ChannelPace)
            .values(channel=self.channel, next_slot_us=literal(0))
            .on_conflict_do_nothing(index_elements=["channel"])
        )
        self._ensured = True
