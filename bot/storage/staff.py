"""The desk's staff: accounts, the communes they serve, their sessions, and the audit log.

Passwords are stored only as argon2 hashes (``bot.helpdesk.staff`` hashes them). A session is a
row, so it can be revoked: the browser holds a random token and the database only its SHA-256,
so a copy of the database does not open anyone's session. The audit log records who saw which
personal data and who changed what; nothing in the desk deletes from it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.storage.base import Base, UTCDateTime

OPERATOR = "operator"  # the requests of the communes they are assigned
SUPERVISOR = "supervisor"  # the whole province: assignment, escalations, reports
INSPECTOR = "inspector"  # false-information reports
ADMIN = "admin"  # users, areas, settings
COMMUNICATIONS = "communications"  # alert levels and broadcasts (Sở TT&TT)
ROLES = (OPERATOR, SUPERVISOR, INSPECTOR, ADMIN, COMMUNICATIONS)


class StaffUser(Base):
    """One person who signs in to the desk."""

    __tablename__ = "staff_users"
    __table_args__ = (
        UniqueConstraint("username"),
        CheckConstraint(
            "role IN ('operator', 'supervisor', 'inspector', 'admin', 'communications')",
            name="role",
        ),
        CheckConstraint("max_open >= 0", name="max_open"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40))  # lower case, what they type to sign in
    display_name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)  # off: cannot sign in, sessions refused
    failed_logins: Mapped[int] = mapped_column(default=0)  # in a row; reset by a good sign-in
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_shift: Mapped[bool] = mapped_column(default=False)  # auto-assignment picks only these
    max_open: Mapped[int] = mapped_column(default=10)  # auto-assignment stops at this many
    telegram_chat_id: Mapped[str | None] = mapped_column(String(40))  # emergency alerts there
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    area_rows: Mapped[list[StaffArea]] = relationship(
        cascade="all, delete-orphan", order_by="StaffArea.commune_code"
    )

    @property
    def communes(self) -> frozenset[int]:
        return frozenset(row.commune_code for row in self.area_rows)


class StaffArea(Base):
    """A commune (a 2025 ward or commune code) whose requests a staff member works."""

    __tablename__ = "staff_areas"

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    commune_code: Mapped[int] = mapped_column(primary_key=True, index=True)


class StaffSession(Base):
    """A signed-in browser. ``token_hash`` is the SHA-256 of the cookie's random token."""

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_staff_id", "staff_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))  # every form posts it back
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class AuditEntry(Base):
    """Who did what, when: every view of personal data and every change made in the desk."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_target", "target_kind", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(40))  # the username then (kept if the user goes)
    action: Mapped[str] = mapped_column(String(40))  # e.g. view_personal, claim, status, login
    target_kind: Mapped[str] = mapped_column(String(20))  # help_request, staff_user, session…
    target_id: Mapped[str] = mapped_column(String(40), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LoginFailure(Base):
    """Wrong sign-ins for a username that has no account, counted as for one that has: the
    lock-out then falls on both alike, and the form does not tell which usernames exist. Keyed
    by the SHA-256 of the name typed (it may be a password typed in the wrong box)."""

    __tablename__ = "staff_login_failures"
    __table_args__ = (Index("ix_staff_login_failures_last_at", "last_at"),)

    name_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)  # in a row, as StaffUser.failed_logins
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
