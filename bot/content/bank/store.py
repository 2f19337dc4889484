"""The bank as the action server sees it: entries from the database, indexed once per change.

"A change in the bank is answered at once": every search first reads a fingerprint of the
table (its row count and latest ``updated_at``, one indexed query) and rebuilds the index only
when it moved. Entries outside their validity or for another province are never answered.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.content.areas import province_area
from bot.content.bank.index import BankIndex, Hit
from bot.storage.content import BankEntry


@dataclass(frozen=True)
class Snapshot:
    fingerprint: tuple[int, datetime | None]
    index: BankIndex
    spans: dict[str, tuple[datetime, datetime | None]]  # key → validity


_lock = threading.Lock()
_cache: dict[tuple[str, str], Snapshot] = {}  # (database, province) → its latest snapshot


def _fingerprint(session: Session) -> tuple[int, datetime | None]:
    count, latest = session.execute(
        select(func.count(BankEntry.id), func.max(BankEntry.updated_at))
    ).one()
    return int(count), latest


def snapshot(session: Session, *, province: str) -> Snapshot:
    """The index of the entries for ``province`` (and the whole country), rebuilt on change."""
    fingerprint = _fingerprint(session)
    cache_key = (str(session.get_bind().engine.url), province)
    found = _cache.get(cache_key)
    if found is not None and found.fingerprint == fingerprint:
        return found
    with _lock:
        area = province_area(province)
        code = area.units[0].code if area is not None else None
        rows = session.execute(
            select(BankEntry.key, BankEntry.questions, BankEntry.valid_from, BankEntry.valid_until)
            .where(or_(BankEntry.province_code.is_(None), BankEntry.province_code == code))
            .order_by(BankEntry.position, BankEntry.id)
        ).all()
        built = Snapshot(
            fingerprint,
            BankIndex((row.key, row.questions) for row in rows),
            {row.key: (row.valid_from, row.valid_until) for row in rows},
        )
        _cache[cache_key] = built
        return built


def search(
    session: Session, text: str, *, at: datetime, province: str, limit: int = 3
) -> list[Hit]:
    """The best current entries for ``text``, best first."""
    snap = snapshot(session, province=province)
    current = {
        key
        for key, (start, until) in snap.spans.items()
        if start <= at and (until is None or at < until)
    }
    return snap.index.search(text, limit=limit, allowed=current)


def entry(session: Session, key: str) -> BankEntry | None:
    return session.scalar(select(BankEntry).where(BankEntry.key == key))
