"""The content team's to-do list: questions Loa could not answer, grouped by similarity.

Two questions are in one group when the bank's own matching (``BankIndex``) finds them alike
(cosine ≥ ``SAME``); each group is shown with its count, how many got "I don't know" and how
many a thumbs-down, the entries that were rated down, and its most recent wording.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from bot.content.bank.index import BankIndex
from bot.storage.questions import DOWN, UNKNOWN, AskedQuestion

SAME = 0.5  # as alike as two phrasings of one bank entry usually are


@dataclass
class Group:
    example: str  # the most recent wording
    last: datetime
    outcomes: Counter[str] = field(default_factory=Counter)
    entries: Counter[str] = field(default_factory=Counter)  # entries rated down
    texts: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(self.outcomes.values())


def _kept(since: datetime) -> tuple[ColumnElement[bool], ...]:
    return (AskedQuestion.asked_at >= since, AskedQuestion.outcome.in_((UNKNOWN, DOWN)))


def count(session: Session, *, since: datetime) -> int:
    """How many unanswered and rated-down questions there are since ``since``."""
    found = session.scalar(select(func.count()).select_from(AskedQuestion).where(*_kept(since)))
    return int(found or 0)


def groups(session: Session, *, since: datetime, newest: int | None = None) -> list[Group]:
    """Unanswered and rated-down questions since ``since`` (only the ``newest`` of them, when
    given), grouped, largest group first."""
    rows = session.scalars(
        select(AskedQuestion)
        .where(*_kept(since))
        .order_by(AskedQuestion.asked_at.desc(), AskedQuestion.id.desc())
        .limit(newest)
    ).all()
    index = BankIndex((str(n), [row.text]) for n, row in enumerate(rows))
    parent = list(range(len(rows)))

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for n, row in enumerate(rows):
        for hit in index.search(row.text, limit=10):
            if hit.score >= SAME:
                parent[root(int(hit.key))] = root(n)
    found: dict[int, Group] = {}
    for n, row in enumerate(rows):  # newest first: a group's first row is its latest
        group = found.setdefault(root(n), Group(example=row.text, last=row.asked_at))
        group.outcomes[row.outcome] += 1
        group.texts.append(row.text)
        if row.outcome == DOWN and row.entry_key:
            group.entries[row.entry_key] += 1
    return sorted(found.values(), key=lambda g: (-g.count, -g.last.timestamp()))
