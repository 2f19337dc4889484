"""Level schemes as data, the lock that orders level changes per area, and the digest slots.

A scheme is a named set of levels (the province's five situations, four colours per commune…);
each level says how often every subscriber must hear from Loa at least (``weekly`` with
``per_week``, ``realtime``, or ``none``), whether its announcements are urgent (sent in quiet
hours too), and the announcement's template. An area's level history stays in
``content_alert_levels`` (``bot.storage.content.AreaLevel``), whose ``scheme`` names the scheme
a row's level belongs to.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.storage import alerts as _alerts  # noqa: F401  (alert_broadcasts)
from bot.storage import content as _content  # noqa: F401  (content_alert_levels)
from bot.storage.base import Base, UTCDateTime

# Minimum cadence of a level.
WEEKLY = "weekly"  # at least ``per_week`` messages per person per week (digests fill the gap)
REALTIME = "realtime"  # every change is announced at once; no digest needed
NONE = "none"  # no minimum (recovery): announcements only when there is news
CADENCES = (WEEKLY, REALTIME, NONE)
MAX_LEVEL = 20  # a scheme has a handful of levels; the bound keeps typos out


class LevelScheme(Base):
    """A set of levels; ``zone_template``/``zone_lifted_template`` announce lockdown zones."""

    __tablename__ = "alert_schemes"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    zone_template: Mapped[str] = mapped_column(Text)
    zone_lifted_template: Mapped[str] = mapped_column(Text)
    levels: Mapped[list[SchemeLevel]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
        order_by="SchemeLevel.level",
    )


class SchemeLevel(Base):
    """One level of a scheme. ``name``/``meaning`` NULL: the content's situation of the same
    number says them (the default scheme is the seed plan's situations, written once)."""

    __tablename__ = "alert_scheme_levels"
    __table_args__ = (
        CheckConstraint(f"level BETWEEN 1 AND {MAX_LEVEL}", name="level"),
        CheckConstraint("cadence IN ('weekly', 'realtime', 'none')", name="cadence"),
        CheckConstraint(
            "(cadence = 'weekly' AND per_week >= 1) OR (cadence != 'weekly' AND per_week IS NULL)",
            name="per_week",
        ),
    )

    scheme_key: Mapped[str] = mapped_column(
        ForeignKey("alert_schemes.key", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(Text)
    meaning: Mapped[str | None] = mapped_column(Text)
    cadence: Mapped[str] = mapped_column(String(10))
    per_week: Mapped[int | None]
    urgent: Mapped[bool] = mapped_column(default=False)
    template: Mapped[str] = mapped_column(Text)


class LevelHead(Base):
    """The last level change made for one exact area: its version is compared-and-set by
    every change, so two officers changing the same area at once cannot both win."""

    __tablename__ = "alert_level_heads"

    area_key: Mapped[str] = mapped_column(String(20), primary_key=True)
    area_level_id: Mapped[int | None] = mapped_column(
        ForeignKey("content_alert_levels.id", ondelete="SET NULL")
    )
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DigestSlot(Base):
    """One digest planned for one area in one period of its cadence: the unique key makes
    planning idempotent, also from two processes at once."""

    __tablename__ = "alert_digest_slots"
    __table_args__ = (UniqueConstraint("area_key", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_key: Mapped[str] = mapped_column(String(20), index=True)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("alert_broadcasts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
