"""What every action shares: settings, a database session off the event loop, citations, and
the content lines several answers use (hotlines, information items)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import cache
from typing import Any

from rasa_sdk import Tracker
from sqlalchemy.orm import Session

from bot import settings as settings_module
from bot import wording
from bot.clock import utcnow
from bot.content import store
from bot.content.areas import Area, Asked, understand
from bot.storage.content import Hotline, InfoItem, Source
from bot.storage.engine import sessions

PLACE_SLOT = "place_code"  # the place the person asked about last (a place key)
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


async def write[T](work: Callable[[Session], T]) -> T:
    """Like ``db``, in a transaction committed when ``work`` returns."""

    def run() -> T:
        with sessions(settings().database_url).begin() as session:
            return work(session)

    return await asyncio.to_thread(run)


def asked(tracker: Tracker) -> Asked:
    """The place in the latest message, or the remembered one."""
    message = tracker.latest_message or {}
    pressed = next(tracker.get_latest_entity_values(PLACE_SLOT), None)
    return understand(
        str(message.get("text") or ""),
        province=settings().province,
        typed=[str(v) for v in tracker.get_latest_entity_values("location")],
        pressed=str(pressed) if pressed else None,
        alone=(message.get("intent") or {}).get("name") == "inform_place",
        remembered=tracker.get_slot(PLACE_SLOT),
    )


def demo(source: Source) -> str:
    return wording.phrase("demo_marker") if source.demo else ""


def cite(source: Source) -> str:
    """A source as people read it: its number and issuer, or its title."""
    if source.demo:
        return wording.phrase("demo_cite")
    if source.number:
        return wording.phrase("cite", number=source.number, issuer=source.issuer) + demo(source)
    return wording.phrase("cite_untitled", title=source.title, issuer=source.issuer) + demo(source)


def hotline_lines(session: Session, area: Area | None) -> tuple[list[Message], bool]:
    """One message per current hotline for the area, and whether any is local."""
    found = store.hotlines(session=session, area=area, at=utcnow())
    return [_hotline(h) for h in found], any(h.province_code is not None for h in found)


def _hotline(hotline: Hotline) -> Message:
    return {
        "response": "utter_hotline_line",
        "number": hotline.number,
        "hotline": hotline.name,
        "hours": wording.phrase("hotline_hours", hours=hotline.hours) if hotline.hours else "",
        "unconfirmed": "" if hotline.confirmed else wording.phrase("unconfirmed_marker"),
        "note": wording.phrase("note_line", note=hotline.note) if hotline.note else "",
        "demo": demo(hotline.source),
    }


def info_messages(session: Session, topics: tuple[str, ...], area: Area | None) -> list[Message]:
    """Each current item of the topics, with its source; nothing if none is current."""
    items: list[InfoItem] = []
    for topic in topics:
        items += store.info(topic, session=session, area=area, at=utcnow())
    return [
        {
            "response": "utter_content_item",
            "title": item.title,
            "body": item.body,
            "source": cite(item.source),
        }
        for item in items
    ]


def typed(tracker: Tracker) -> str:
    """What the person typed; "" for a button (its payload is not an answer in words)."""
    text = str((tracker.latest_message or {}).get("text") or "")
    return "" if text.lstrip().startswith("/") else text


def pressed(tracker: Tracker, entity: str) -> str | None:
    """The choice a pressed button sent in ``entity``, if the latest message is one."""
    value = next(tracker.get_latest_entity_values(entity), None)
    return str(value) if value is not None else None
