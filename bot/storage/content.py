"""Content tables: documents, situations, info, hotlines, schemes, zones, levels.

Every item names its source document and the area it applies to: ``province_code`` and
``commune_code`` both NULL = the whole country; a province; or one commune-level unit (codes of
the current, post-2025 units, see ``bot.places``). Validity is ``[valid_from, valid_until)`` in
UTC; ``valid_until`` NULL = until further notice. An item outside its validity is never served
as current.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, declared_attr, foreign, mapped_column, relationship

from bot.clock import utcnow
from bot.settings import SEED_SCHEME
from bot.storage.base import Base, UTCDateTime

# Info topics.
SYMPTOMS = "symptoms"  # signs of the disease, in general
DANGER_SIGNS = "danger_signs"  # signs that mean: call 115 now
HOME_CARE = "home_care"  # caring for a mild case at home
SEEK_CARE = "seek_care"  # when and how to contact the health station
PREVENTION = "prevention"  # 5K and its successors
TOPICS = (SYMPTOMS, DANGER_SIGNS, HOME_CARE, SEEK_CARE, PREVENTION)

# What a lockdown zone closes.
ZONE_KINDS = ("hamlet", "residential_group", "market", "street", "building", "area")
# Lockdown zone statuses.
ACTIVE = "active"  # closed now (within its dates)
LIFTED = "lifted"  # the lockdown was lifted on ``ends_at``
ZONE_STATUSES = (ACTIVE, LIFTED)

LEVELS = (1, 2, 3, 4, 5)  # the five situations of the province's communication plan
# The level scheme of the seed plan (its five situations); others are data (alert_schemes).
DEFAULT_SCHEME = SEED_SCHEME

# Question-bank topics: what the long tail of questions is about (for the content team).
BANK_TOPICS = (
    "isolation",
    "testing",
    "vaccination",
    "travel",
    "prevention",
    "children",
    "daily_life",
    "work_school",
    "pets",
    "treatment",
    "rumour",
    "support",
    "other",
)


def _in(column: str, values: tuple[Any, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Source(Base):
    """A document content comes from: a decision, a plan, a ministry's guidance."""

    __tablename__ = "content_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(Text)
    number: Mapped[str | None] = mapped_column(String(80))
    issuer: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[date] = mapped_column(Date)
    url: Mapped[str | None] = mapped_column(Text)
    demo: Mapped[bool] = mapped_column(default=False)  # illustrative data, said so to people


class _Sourced:
    """Columns every content item has: its key, area and source."""

    key: Mapped[str] = mapped_column(String(80), unique=True)
    province_code: Mapped[int | None] = mapped_column(index=True)
    commune_code: Mapped[int | None] = mapped_column(index=True)

    @declared_attr
    def source_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("content_sources.id"))

    @declared_attr
    def source(cls) -> Mapped[Source]:
        return relationship(lazy="joined")


class _Valid(_Sourced):
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    position: Mapped[int] = mapped_column(default=0)  # order within a list, as in the file


def _checks() -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint("valid_until IS NULL OR valid_until > valid_from", name="valid_dates"),
        CheckConstraint("commune_code IS NULL OR province_code IS NOT NULL", name="area"),
    )


class Situation(Base):
    """One of the five situations (levels) and what it means for people."""

    __tablename__ = "content_situations"
    __table_args__ = (CheckConstraint(_in("level", LEVELS), name="level"),)

    level: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(Text)
    meaning: Mapped[str] = mapped_column(Text)
    source_id: Mapped[int] = mapped_column(ForeignKey("content_sources.id"))
    source: Mapped[Source] = relationship(lazy="joined")


class InfoItem(_Valid, Base):
    """A piece of guidance on one topic: symptoms, danger signs, care, prevention."""

    __tablename__ = "content_info"
    __table_args__ = (*_checks(), CheckConstraint(_in("topic", TOPICS), name="topic"))

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)


class BankEntry(_Valid, Base):
    """A question of the bank, in the phrasings people use, and its short sourced answer.

    ``confirmed`` False: a fact in the answer is not confirmed by a named official source (the
    answer says so). ``updated_at`` changes with every import that touches the entry, so the
    action server sees a changed bank at the next message (``bot.content.bank``)."""

    __tablename__ = "content_questions"
    __table_args__ = (*_checks(), CheckConstraint(_in("topic", BANK_TOPICS), name="topic"))

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(20), index=True)
    questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    confirmed: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, index=True
    )


class Hotline(_Valid, Base):
    """A phone number to call; ``confirmed`` False is shown as not confirmed."""

    __tablename__ = "content_hotlines"
    __table_args__ = _checks()

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    hours: Mapped[str | None] = mapped_column(String(80))
    confirmed: Mapped[bool] = mapped_column(default=True)


class SupportGroup(Base):
    """Who a person is, for narrowing the schemes (a button); ``keywords`` are folded phrases."""

    __tablename__ = "content_support_groups"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(80))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(default=0)


class SchemeGroup(Base):
    """Which groups a scheme is for (a table, so narrowing is an indexed query)."""

    __tablename__ = "content_scheme_groups"

    scheme_id: Mapped[int] = mapped_column(
        ForeignKey("content_support_schemes.id", ondelete="CASCADE"), primary_key=True
    )
    group_key: Mapped[str] = mapped_column(
        ForeignKey("content_support_groups.key", ondelete="CASCADE"), primary_key=True, index=True
    )


class SupportScheme(_Valid, Base):
    """A support scheme; ``valid_until`` is its deadline (after it, the scheme is closed)."""

    __tablename__ = "content_support_schemes"
    __table_args__ = _checks()

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    eligible: Mapped[str] = mapped_column(Text)
    amount: Mapped[str] = mapped_column(Text)
    how_to_apply: Mapped[str] = mapped_column(Text)
    where_to_apply: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    groups: Mapped[list[SchemeGroup]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )

    @property
    def group_keys(self) -> list[str]:
        return [g.group_key for g in self.groups]


class LockdownZone(_Sourced, Base):
    """A closed place inside one commune, by an official decision."""

    __tablename__ = "content_lockdown_zones"
    __table_args__ = (
        CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="dates"),
        CheckConstraint(f"status = '{ACTIVE}' OR ends_at IS NOT NULL", name="lifted_has_end"),
        CheckConstraint(_in("status", ZONE_STATUSES), name="status"),
        CheckConstraint(_in("kind", ZONE_KINDS), name="kind"),
        CheckConstraint("commune_code IS NOT NULL AND province_code IS NOT NULL", name="area"),
        Index("ix_content_lockdown_zones_commune_status", "commune_code", "status"),
        Index("ix_content_lockdown_zones_province_status", "province_code", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[str] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)


class AreaLevel(_Valid, Base):
    """An area's level over a period, set by a decision; the rows are its history.

    ``level`` is a level of ``scheme`` (``alert_scheme_levels``); no foreign key, because a
    scheme's levels are replaced by a content import while the history keeps its rows: the
    level is checked against the scheme when it is set (``bot.alerts.levels``, the importer).
    ``situation`` is the seed plan's situation of the same number (default scheme only)."""

    __tablename__ = "content_alert_levels"
    __table_args__ = (
        *_checks(),
        Index("ix_content_alert_levels_area", "province_code", "commune_code", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme: Mapped[str] = mapped_column(String(40), default=DEFAULT_SCHEME)
    level: Mapped[int]
    decision: Mapped[str] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)
    situation: Mapped[Situation | None] = relationship(
        primaryjoin=lambda: foreign(AreaLevel.level) == Situation.level,
        viewonly=True,
        lazy="joined",
    )
