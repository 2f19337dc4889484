"""Alerts: who subscribed to which area, the broadcasts officers approve, and each delivery.

A subscription is one person and one area — a commune-level unit or a whole province (codes of
the current, post-2025 units, see ``bot.places``) — with the time they agreed to receive
messages; unsubscribing keeps the row (with when and why), so a later "subscribe" is the same row
again and the history stays readable. ``account_id`` is the channel account they subscribed
from: deliveries go there first.

A broadcast is one announcement for one or more areas; a delivery is one (broadcast, person)
row, unique, so nobody is sent the same broadcast twice — also across crashes, restarts and
several workers: a worker claims a delivery (``pending`` → ``sending``, committed) before the
channel is called, and a crash in between leaves it ``uncertain``, never resent.
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
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage import content as _content  # noqa: F401  (levels, zones)
from bot.storage import conversations as _conversations  # noqa: F401  (people, accounts)
from bot.storage import staff as _staff  # noqa: F401  (staff_users)
from bot.storage.base import Base, UTCDateTime

# Why a subscription ended.
ASKED = "asked"  # the person asked (intent, "STOP", /stop)
UNFOLLOWED = "unfollowed"  # Zalo OA unfollow
BLOCKED = "blocked"  # the channel said the person blocked the bot (Telegram 403, …)
FORGOTTEN = "forgotten"  # the person asked Loa to delete their data
END_REASONS = (ASKED, UNFOLLOWED, BLOCKED, FORGOTTEN)

# Broadcast kinds.
LEVEL_CHANGE = "level_change"  # an area's level changed: that level's announcement
ZONE_CHANGE = "zone_change"  # a lockdown zone was set up or lifted
ONE_OFF = "one_off"  # an officer's announcement for chosen areas
DIGEST = "digest"  # the cadence's regular summary (level, lockdowns, where to get help)
KINDS = (LEVEL_CHANGE, ZONE_CHANGE, ONE_OFF, DIGEST)

# Broadcast statuses.
DRAFT = "draft"  # being written; nothing is sent
APPROVED = "approved"  # a second person approved it: deliveries are being created and sent
DONE = "done"  # every delivery has its final outcome
CANCELLED = "cancelled"  # withdrawn before approval (or stopped: pending deliveries cancelled)
BROADCAST_STATUSES = (DRAFT, APPROVED, DONE, CANCELLED)

# Delivery statuses.
PENDING = "pending"  # waiting for a worker (or for ``next_attempt_at``)
SENDING = "sending"  # claimed by a worker, the channel is being called
SENT = "sent"  # the channel took it (``channel_message_id``)
FAILED = "failed"  # the channel refused it for good (reason in ``error``)
UNCERTAIN = "uncertain"  # a crash while sending: it may have arrived, so never resent
UNREACHABLE = "unreachable"  # no channel can reach the person now (Zalo window, blocked)
SKIPPED = "skipped"  # not sent on purpose: the broadcast was cancelled, the person unsubscribed
DELIVERY_STATUSES = (PENDING, SENDING, SENT, FAILED, UNCERTAIN, UNREACHABLE, SKIPPED)
FINAL_STATUSES = (SENT, FAILED, UNCERTAIN, UNREACHABLE, SKIPPED)


def _among(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def area_key(province_code: int, commune_code: int | None) -> str:
    """One string per area, so (person, area) can be unique without a NULL in the key."""
    return f"c{commune_code}" if commune_code is not None else f"p{province_code}"


class Subscription(Base):
    """One person's subscription to one area; ``ended_at`` set = not subscribed now."""

    __tablename__ = "alert_subscriptions"
    __table_args__ = (
        UniqueConstraint("person_id", "area_key"),
        CheckConstraint(f"end_reason IS NULL OR {_among('end_reason', END_REASONS)}", name="end"),
        Index("ix_alert_subscriptions_area", "province_code", "commune_code", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("channel_accounts.id", ondelete="CASCADE"), index=True
    )
    area_key: Mapped[str] = mapped_column(String(20))
    province_code: Mapped[int]
    commune_code: Mapped[int | None]  # NULL: the whole province
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the last time they agreed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(12))


class Broadcast(Base):
    """One announcement for one or more areas, from draft to its last delivery."""

    __tablename__ = "alert_broadcasts"
    __table_args__ = (
        CheckConstraint(_among("kind", KINDS), name="kind"),
        CheckConstraint(_among("status", BROADCAST_STATUSES), name="status"),
        CheckConstraint(f"status = '{DRAFT}' OR status = '{CANCELLED}' OR text != ''", name="text"),
        Index("ix_alert_broadcasts_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(10), default=DRAFT)
    # The areas it is for: [{"province_code": 20, "commune_code": 6112 | null}, …]; a
    # subscriber of any unit inside one of them receives it.
    areas: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    scheme: Mapped[str | None] = mapped_column(String(40))  # level changes: the level scheme
    level: Mapped[int | None]  # level changes: the new level
    area_level_id: Mapped[int | None] = mapped_column(
        ForeignKey("content_alert_levels.id", ondelete="SET NULL")
    )
    zone_id: Mapped[int | None] = mapped_column(
        ForeignKey("content_lockdown_zones.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(200))  # for the desk's lists
    template: Mapped[str] = mapped_column(Text)  # with {placeholders}, what officers edit
    text: Mapped[str] = mapped_column(Text, default="")  # rendered when approved; what is sent
    urgent: Mapped[bool] = mapped_column(default=False)  # sent in quiet hours too (levels 3–4)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when every delivery row exists: until then a worker (or a restart) finishes creating
    # them, so an approval interrupted by a crash still reaches everyone, once.
    audience_ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Delivery(Base):
    """One broadcast to one person: sent once, on one of their channels."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "person_id"),
        CheckConstraint(_among("status", DELIVERY_STATUSES), name="status"),
        Index("ix_alert_deliveries_due", "status", "next_attempt_at", "id"),
        Index("ix_alert_deliveries_person_sent", "person_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("alert_broadcasts.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_accounts.id", ondelete="SET NULL")
    )  # the channel it goes (went) out on
    channel: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # the worker that sends it
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel_message_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
