"""What every action shares: a database session off the event loop, dates, citations."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from bot import settings as settings_module
from bot.content.io import VIETNAM, wording
from bot.content.models import Source
from bot.storage.engine import sessions

Message = dict[str, Any]  # keyword arguments of one ``dispatcher.utter_message`` call


@cache
def settings() -> settings_module.Settings:
    return settings_module.load()


async def db[T](work: Callable[[Session], T]) -> T:
    """Run ``work`` with a read-only session in a worker thread, so the action server's event
    loop keeps answering other people while the database works."""

    def run() -> T:
        with sessions(settings().database_url)() as session:
            return work(session)

    return await asyncio.to_thread(run)


def day(value: datetime) -> str:
    """A date as people in Viet Nam write it: 22/11/2026 (with the time if it is not 00:00)."""
    local = value.astimezone(VIETNAM)
    if (local.hour, local.minute) == (0, 0):
        return f"{local.day:02d}/{local.month:02d}/{local.year}"
    return moment(value)


def last_day(value: datetime) -> str:
    """An exclusive end (midnight after the last day) as the last day included."""
    local = value.astimezone(VIETNAM)
    if (local.hour, local.minute) == (0, 0):
        return day(value - timedelta(days=1))
    return day(value)


def moment(value: datetime) -> str:
    """A time and date: 11:43 22/11/2026."""
    local = value.astimezone(VIETNAM)
    return f"{local.hour:02d}:{local.minute:02d} {local.day:02d}/{local.month:02d}/{local.year}"


def demo(source: Source) -> str:
    return str(wording()["demo_marker"]) if source.demo else ""


def cite(source: Source) -> str:
    """A source as people read it: its number and issuer, or its title."""
    if source.demo:
        return words("demo_cite")
    if source.number:
        return words("cite", number=source.number, issuer=source.issuer) + demo(source)
    return words("cite_untitled", title=source.title, issuer=source.issuer) + demo(source)


def words(name: str, **values: Any) -> str:
    return str(wording()[name]).format(**values)
