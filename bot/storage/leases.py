"""Process leases: each process that claims work (an outbox, a gateway) holds a lease it renews;
a claim whose owner stopped renewing belongs to a dead process and may be settled by any other.

This is how several app processes share one database: a message ``sending`` under a live lease
is another process's send in flight (never touched), one under a stale lease was interrupted
by a crash (``uncertain``); an inbound message claimed under a stale lease is answered again.
Times come from the processes' clocks: ``LEASE`` is far longer than any clock skew NTP allows.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import BindParameter, Select, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.clock import utcnow
from bot.storage.base import Base, UTCDateTime

logger = logging.getLogger(__name__)

# A lease not renewed for this long belongs to a dead process. Longer than any one claim's
# work between renewals (a send: 30 s at most; a turn: the Rasa timeout, 20 s by default).
LEASE = timedelta(seconds=90)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RENEW_EVERY = timedelta(seconds=10)  # the app renews on a timer; ``keep`` on use, at most this


class ProcessLease(Base):
    """One live (or recently dead) process that claims work in the database."""

    __tablename__ = "process_leases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    host: Mapped[str] = mapped_column(String(100))  # for people reading the table
    pid: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime)


def dead_before(now: datetime) -> datetime:
    """A lease last renewed before this moment belongs to a dead process."""
    return now - LEASE


def dead(now: datetime) -> Select[str]:
    """The ids of the leases not renewed within ``LEASE`` of ``now`` (a subquery)."""
    return lapsed(dead_before(now))


def lapsed(before: datetime | BindParameter[datetime]) -> Select[str]:
    """The ids of the leases last renewed before ``before`` (a value, or a parameter of a
    statement built once).

    "Known dead" rather than "not known alive": on PostgreSQL a conditional UPDATE that waited
    for a peer's claim re-checks the row but not this subquery (its snapshot may predate the
    peer's first renewal), and a lease it cannot see must count as alive."""
    return select(ProcessLease.id).where(ProcessLease.renewed_at < before)


def renew(*, session: Session, lease_id: str, now: datetime) -> None:
    """Mark the lease alive at ``now`` (made on first use, or again if a peer pruned it)."""
    renewed = session.execute(
        update(ProcessLease).where(ProcessLease.id == lease_id).values(renewed_at=now)
    )
    if renewed.rowcount == 0:  # type: ignore[attr-defined]
        host = socket.gethostname()[:100]
        session.add(ProcessLease(id=lease_id, host=host, pid=os.getpid(), renewed_at=now))
    try:
        session.commit()
    except IntegrityError:  # made at the same moment by another thread of this process
        session.rollback()


def end(*, session: Session, lease_id: str) -> None:
    """Let the lease lapse at once (a clean shutdown): anything it still claims is settled by
    the next process without waiting ``LEASE``. The row stays: one per process start."""
    session.execute(
        update(ProcessLease).where(ProcessLease.id == lease_id).values(renewed_at=EPOCH)
    )
    session.commit()


class Lease:
    """This process's lease: an id to put on claims, renewed on use and by the app's timer."""

    def __init__(
        self, *, sessions: sessionmaker[Session], now: Callable[[], datetime] = utcnow
    ) -> None:
        self.sessions = sessions
        self.now = now
        self.id = uuid.uuid4().hex
        self._renewed: datetime | None = None

    def keep(self) -> None:
        """Renew unless renewed within ``RENEW_EVERY``: call before claiming anything."""
        now = self.now()
        if self._renewed is not None and now - self._renewed < RENEW_EVERY:
            return
        with self.sessions() as session:
            renew(session=session, lease_id=self.id, now=now)
        self._renewed = now

    def end(self) -> None:
        with self.sessions() as session:
            end(session=session, lease_id=self.id)
