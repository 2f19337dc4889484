"""Questions Loa could not answer, and what people said of the answers it gave.

The content team's to-do list (``loa content unanswered``): a question that got "I don't know"
(``UNKNOWN``) or a thumbs-down (``DOWN``); thumbs-up (``UP``) are kept to count what works.
A question can hold personal data, so phone numbers are masked before it is stored, no sender
is kept, and rows older than ``KEEP_DAYS`` are deleted whenever a new one is recorded and by the
retention pass (``bot.helpdesk.retention``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, String, Text, delete
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot import text as vi
from bot.storage.base import Base, UTCDateTime

UNKNOWN, DOWN, UP = "unknown", "down", "up"
OUTCOMES = (UNKNOWN, DOWN, UP)
KEEP_DAYS = 90
MAX_TEXT = 500  # a question, not an essay: longer ones are cut


class AskedQuestion(Base):
    __tablename__ = "asked_questions"
    __table_args__ = (
        CheckConstraint(f"outcome IN ({', '.join(repr(o) for o in OUTCOMES)})", name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    text: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(10))
    entry_key: Mapped[str | None] = mapped_column(String(80))  # the bank entry answered, if any


def record(
    text: str, outcome: str, *, at: datetime, entry_key: str | None = None, session: Session
) -> None:
    """Keep one question (phone numbers masked, cut to ``MAX_TEXT``) and drop expired ones."""
    clean = vi.mask_phones(vi.storable(vi.normalize(text)))[:MAX_TEXT]
    session.add(AskedQuestion(asked_at=at, text=clean, outcome=outcome, entry_key=entry_key))
    expire(session=session, now=at)


def expire(*, session: Session, now: datetime) -> int:
    """Delete the questions older than ``KEEP_DAYS``; how many. Recording a question does it,
    and so does the hourly retention pass, for the weeks when nobody asks anything new."""
    result = session.execute(
        delete(AskedQuestion).where(AskedQuestion.asked_at < now - timedelta(days=KEEP_DAYS))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
