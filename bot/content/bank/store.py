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


@dataclass
class Snapshot:
    fingerprint: tuple[int, datetime | None]
    index: BankIndex
    spans: dict[str, tuple[datetime, datetime | None]]  # key → validity
    # The entries valid now (None: all of them), and until when that stays true.
    current: frozenset[str] | None = None
    current_from: datetime | None = None
    current_until: datetime | None = None

    def valid_at(self, at: datetime) -> frozenset[str] | None:
        """The keys valid at ``at`` (None: every entry), worked out again only when a start
        or an end date has been crossed since the last time."""
        fresh = self.current_from is not None and self.current_from <= at
        if fresh and (self.current_until is None or at < self.current_until):
            return self.current
        current = frozenset(
            key
            for key, (start, until) in self.spans.items()
            if start <= at and (until is None or at < until)
        )
        bounds = [d for span in self.spans.values() for d in span if d is not None and d > at]
        past = [d for span in self.spans.values() for d in span if d is not None and d <= at]
        self.current = None if len(current) == len(self.spans) else current
        self.current_from = max(past, default=at)
        self.current_until = min(bounds, default=None)
        return self.current


_lock = threading.Lock()
_cache: dict[tuple[str, str], Snapshot] = {}  # (database, province) → its latest snapshot


def _fingerprint(session: Session) -> tuple[int, datetime | None]:
    # count(*) and max() over an index, in one query: no scan of the entries' rows.
    count, latest = session.execute(_FINGERPRINT).one()
    return int(count or 0), latest


_FINGERPRINT = select(func.count(), func.max(BankEntry.updated_at)).select_from(BankEntry)


def snapshot(session: Session, *, province: str) -> Snapshot:
    """The index of the entries for ``province`` (and the whole country), rebuilt on change."""
    fingerprint = _fingerprint(session)
    cache_key = (str(session.get_bind().engine.url), province)
    found = _cache.get(cache_key)
    if found is not None and found.fingerprint == fingerprint:
        return found
    with _lock:
        found = _cache.get(cache_key)  # another thread may have built it while this one waited
        if found is not None and found.fingerprint == fingerprint:
            return found
        area = province_area(province)
        code = area.units[0].code if area is not None else None
        rows = session.execute(
            select(BankEntry.key, BankEntry.questions, BankEntry.valid_from, BankEntry.valid_until)
            .where(or_(BankEntry.province_code.is_(None), BankEntry.province_code == code))
            .order_by(BankEntry.position, BankEntry.id)
        ).all()
        built = Snapshot(
            fingerprint,
            # The last index's entries are reused: an edit reads only what changed.
            BankIndex(
                ((row.key, row.questions) for row in rows),
                reuse=found.index if found is not None else None,
            ),
            {row.key: (row.valid_from, row.valid_until) for row in rows},
        )
        _cache[cache_key] = built
        return built


def search(
    session: Session, text: str, *, at: datetime, province: str, limit: int = 3
) -> list[Hit]:
    """The best current entries for ``text``, best first."""
    snap = snapshot(session, province=province)
    return snap.index.search(text, limit=limit, allowed=snap.valid_at(at))


def entry(session: Session, key: str) -> BankEntry | None:
    return session.scalar(select(BankEntry).where(BankEntry.key == key))
