"""False-information reports: a claim a person saw and sent to Loa, for the inspectors.

Many people forward the same rumour: reports of the same claim (the same link, or the same
words once folded — ``claim_key``) are grouped under the first open one, so inspectors check it
once and every reporter hears the verdict. One report per (person, client key): the same
confirmation twice is one report.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.base import Base, UTCDateTime
from bot.storage.helpdesk import CounterRow

CODE_PREFIX = "TG"  # tin giả: TG-26-000012

NEW = "new"  # nobody has looked at it yet
CHECKING = "checking"  # an inspector is checking it
PUBLISHED = "published"  # a verdict was published (and sent to the reporters)
DISMISSED = "dismissed"  # not a claim that can be checked (spam, a question, nothing in it)
OPEN_STATUSES = (NEW, CHECKING)
STATUSES = (NEW, CHECKING, PUBLISHED, DISMISSED)

FALSE = "false"  # the claim is false
MISLEADING = "misleading"  # partly true, misleading as told
TRUE = "true"  # the claim is true
UNVERIFIED = "unverified"  # it cannot be confirmed either way yet
VERDICTS = (FALSE, MISLEADING, TRUE, UNVERIFIED)


def _among(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class ReportCounter(CounterRow):
    __tablename__ = "report_counters"


class FalseInfoReport(Base):
    """One report of a claim; ``same_as_id`` points to the group's first report."""

    __tablename__ = "false_info_reports"
    __table_args__ = (
        UniqueConstraint("code"),
        UniqueConstraint("person_id", "client_key"),
        CheckConstraint(_among("status", STATUSES), name="status"),
        CheckConstraint(f"verdict IS NULL OR {_among('verdict', VERDICTS)}", name="verdict"),
        CheckConstraint(f"status != '{PUBLISHED}' OR verdict IS NOT NULL", name="published"),
        Index("ix_false_info_reports_status_id", "status", "id"),
        Index("ix_false_info_reports_claim_key", "claim_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("channel_accounts.id"))  # told there
    client_key: Mapped[str] = mapped_column(String(64))
    claim: Mapped[str] = mapped_column(Text)  # what they saw, as they pasted it
    link: Mapped[str | None] = mapped_column(String(500))  # the first link in it, if any
    seen_where: Mapped[str] = mapped_column(String(200), default="")  # "nhóm Zalo khu phố"
    claim_key: Mapped[str] = mapped_column(String(64))  # groups reports of the same claim
    same_as_id: Mapped[int | None] = mapped_column(ForeignKey("false_info_reports.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default=NEW)
    verdict: Mapped[str | None] = mapped_column(String(12))
    verdict_text: Mapped[str | None] = mapped_column(Text)  # what the reporters are told
    inspector_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verdict_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the reporter asked
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
