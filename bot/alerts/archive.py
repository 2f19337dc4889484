"""The public archive of announcements: broadcasts officers approved, as anyone may read them.

An announcement is an ``alert_broadcasts`` row that was approved (``approved``: being sent,
``done``: sent) — never a draft, never a cancelled one — and is not a digest: digests are the
cadence's automatic reminders of what the page already shows (level, lockdowns, hotlines),
written per area and repeated every few days, so listing them would bury the real news.
Only public fields leave this module: no recipient, no delivery, no staff member.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts.cadence import ANNOUNCED, covers
from bot.alerts.subscriptions import AreaCode
from bot.storage.alerts import DIGEST, Broadcast

MAX_SCANNED = 5000  # newest announcements read for one list (years of a province's news)


@dataclass(frozen=True)
class Announcement:
    """One published announcement: what was sent, for which areas, when it was approved."""

    id: int
    kind: str
    title: str
    text: str
    published_at: datetime
    areas: tuple[AreaCode, ...]
    level: int | None


@dataclass(frozen=True)
class Page:
    items: list[Announcement]
    total: int


_COLUMNS = (
    Broadcast.id,
    Broadcast.kind,
    Broadcast.title,
    Broadcast.text,
    Broadcast.approved_at,
    Broadcast.areas,
    Broadcast.level,
)


def _published(*columns: Any) -> Any:
    return (
        select(*columns)
        .where(
            Broadcast.status.in_(ANNOUNCED),
            Broadcast.kind != DIGEST,
            Broadcast.approved_at.is_not(None),
        )
        .order_by(Broadcast.approved_at.desc(), Broadcast.id.desc())
    )


def _of(row: Any) -> Announcement:
    areas = tuple(
        AreaCode(int(a["province_code"]), a.get("commune_code")) for a in (row.areas or [])
    )
    return Announcement(row.id, row.kind, row.title, row.text, row.approved_at, areas, row.level)


Heads = list[tuple[int, list[dict[str, Any]]]]  # (id, areas) of every published one, newest first


def heads(*, session: Session) -> Heads:
    """Every published announcement's id and areas, newest first (at most ``MAX_SCANNED``):
    what ``listing`` filters; the pages keep it while the content's version stays the same."""
    rows = session.execute(_published(Broadcast.id, Broadcast.areas).limit(MAX_SCANNED))
    return [(row.id, row.areas or []) for row in rows]


def listing(
    *, session: Session, area: AreaCode, page: int = 1, per_page: int = 20,
    known: Heads | None = None,
) -> Page:  # fmt: skip
    """One page of the announcements that reached ``area``, newest first: for a province, all
    of its own and its communes'; for a commune, its own and the province's. The areas are
    JSON, matched here (``cadence.covers``, as deliveries are), then the page's rows read;
    ``known``: the ``heads`` already read."""
    found = known if known is not None else heads(session=session)
    ids = [id_ for id_, areas in found if covers(areas, area)]
    chosen = ids[(page - 1) * per_page : page * per_page]
    rows: list[Any] = []
    if chosen:
        rows = list(session.execute(_published(*_COLUMNS).where(Broadcast.id.in_(chosen))))
    return Page([_of(r) for r in rows], len(ids))


def get(*, session: Session, announcement_id: int, province_code: int) -> Announcement | None:
    """The published announcement with this id, if it concerns the province; else None."""
    row = session.execute(_published(*_COLUMNS).where(Broadcast.id == announcement_id)).first()
    if row is None or not covers(row.areas or [], AreaCode(province_code)):
        return None
    return _of(row)
