"""Level schemes: the levels an area can be at, what each means and how often people hear.

Schemes are content (``alert_schemes`` in a content file, see ``bot.content.files``); the one in
force is the setting ``ALERT_SCHEME``. A level without its own name and meaning takes them from
the content's situation of the same number, so the seed plan's five situations are written once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts.templates import say
from bot.settings import SEED_SCHEME
from bot.storage.content import AreaLevel, Situation
from bot.storage.schemes import REALTIME, WEEKLY, LevelScheme, SchemeLevel


@dataclass(frozen=True)
class Level:
    """One level of a scheme, with its name and meaning resolved."""

    scheme: str
    level: int
    name: str
    meaning: str
    cadence: str  # WEEKLY, REALTIME or NONE (bot.storage.schemes)
    per_week: int | None  # the minimum messages per person per week (WEEKLY only)
    urgent: bool  # announcements go out in quiet hours too
    template: str

    @property
    def weekly(self) -> bool:
        return self.cadence == WEEKLY

    @property
    def realtime(self) -> bool:
        return self.cadence == REALTIME


def get(*, session: Session, key: str) -> LevelScheme | None:
    return session.get(LevelScheme, key)


def levels(*, session: Session, scheme: str) -> dict[int, Level]:
    """The scheme's levels by number; empty for an unknown scheme."""
    rows = session.scalars(
        select(SchemeLevel).where(SchemeLevel.scheme_key == scheme).order_by(SchemeLevel.level)
    )
    situations = {s.level: s for s in session.scalars(select(Situation))}
    return {row.level: _resolve(row, situations.get(row.level)) for row in rows}


def level(*, session: Session, scheme: str, number: int) -> Level | None:
    row = session.get(SchemeLevel, (scheme, number))
    if row is None:
        return None
    return _resolve(row, session.get(Situation, number))


def _resolve(row: SchemeLevel, situation: Situation | None) -> Level:
    fallback = say("level_fallback", level=row.level)
    return Level(
        scheme=row.scheme_key,
        level=row.level,
        name=row.name or (situation.name if situation else fallback),
        meaning=row.meaning or (situation.meaning if situation else ""),
        cadence=row.cadence,
        per_week=row.per_week,
        urgent=row.urgent,
        template=row.template,
    )


def describe(*, session: Session, row: AreaLevel) -> tuple[str, str]:
    """(name, meaning) of a history row's level, in its own scheme; the bot's answers use it.

    A row whose scheme has no such level (the scheme was changed since) still reads sensibly:
    the seed plan's situation of its number, else "Cấp độ N"."""
    found = level(session=session, scheme=row.scheme, number=row.level)
    if found is not None:
        return found.name, found.meaning
    situation = session.get(Situation, row.level) if row.scheme == SEED_SCHEME else None
    if situation is not None:
        return situation.name, situation.meaning
    return say("level_fallback", level=row.level), ""
