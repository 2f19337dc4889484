"""``ask_prevention``: the current prevention guidance (5K and what replaced it)."""

from __future__ import annotations

from rasa_sdk import Tracker
from sqlalchemy.orm import Session

from actions.common import Message, cite
from actions.place import PlaceAction
from bot.content import store
from bot.content.areas import Area
from bot.content.models import PREVENTION, InfoItem
from bot.storage.base import utcnow


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


class ActionTellPrevention(PlaceAction):
    topic = "prevention"
    optional = True

    def name(self) -> str:
        return "action_tell_prevention"

    def compose(self, session: Session, area: Area | None, tracker: Tracker) -> list[Message]:
        return info_messages(session, (PREVENTION,), area) or [
            {"response": "utter_content_missing"}
        ]
