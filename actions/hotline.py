"""``ask_hotline``: national numbers, then the province's and the commune's when known."""

from __future__ import annotations

from rasa_sdk import Tracker
from sqlalchemy.orm import Session

from actions.base import PlaceAction
from actions.common import Message, hotline_lines, settings
from bot.content.areas import Area, province_area


class ActionListHotlines(PlaceAction):
    topic = "hotline"

    def name(self) -> str:
        return "action_list_hotlines"

    def compose(self, session: Session, area: Area | None, tracker: Tracker) -> list[Message]:
        area = area or province_area(settings().province)
        lines, local = hotline_lines(session, area)
        if not lines:
            return [{"response": "utter_content_missing"}]
        place = area.name if area else ""
        messages: list[Message] = [{"response": "utter_hotline_intro"}, *lines]
        if not local:
            messages.append({"response": "utter_hotline_no_local", "place": place})
        return messages
