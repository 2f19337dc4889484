"""``ask_prevention``: the current prevention guidance (5K and what replaced it)."""

from __future__ import annotations

from rasa_sdk import Tracker
from sqlalchemy.orm import Session

from actions.base import PlaceAction
from actions.common import Message, info_messages
from bot.content.areas import Area
from bot.storage.content import PREVENTION


class ActionTellPrevention(PlaceAction):
    topic = "prevention"
    optional = True

    def name(self) -> str:
        return "action_tell_prevention"

    def compose(self, session: Session, area: Area | None, tracker: Tracker) -> list[Message]:
        return info_messages(session, (PREVENTION,), area) or [
            {"response": "utter_content_missing"}
        ]
