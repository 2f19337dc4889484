"""What the broadcast workers share across processes: who is alive (heartbeats), and each
channel's sending pace.

A worker writes its heartbeat every few seconds; a delivery left ``sending`` by a worker whose
heartbeat is older than the lease belongs to a worker that died mid-send, so it becomes
``uncertain`` (never resent). A channel's pace is one row: the time of its next free send slot
in microseconds since the epoch. A worker takes a run of slots with one atomic UPDATE, so any
number of workers on any number of machines together stay within the channel's rate.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.base import Base, UTCDateTime


class AlertWorker(Base):
    """One running delivery worker; ``heartbeat_at`` older than the lease = gone."""

    __tablename__ = "alert_workers"

    worker_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelPace(Base):
    """A channel's shared send schedule: the next free slot (µs since the epoch, wall clock)."""

    __tablename__ = "alert_channel_pace"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    next_slot_us: Mapped[int] = mapped_column(BigInteger, default=0)
