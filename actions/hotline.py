"""``ask_hotline``: national numbers, then the province's and the commune's when known."""

from __future__ import annotations

from rasa_sdk import Tracker
from sqlalchemy.orm import Session

from actions.common import Message, demo, settings, words
from actions.place import PlaceAction
from bot.content import store
from bot.content.areas import Area, province_area
from bot.content.models import Hotline
from bot.storage.base import utcnow


def hotline_lines(session: Session, area: Area | None) -> tuple[list[Message], bool]:
    """One message per current hotline for the area, and whether any is local."""
    found = store.hotlines(session=session, area=area, at=utcnow())
    return [_line(h) for h in found], any(h.province_code is not None for h in found)


def _line(hotline: Hotline) -> Message:
    return {
        "response": "utter_hotline_line",
        "number": hotline.number,
        "hotline": hotline.name,
        "hours": words("hotline_hours", hours=hotline.hours) if hotline.hours else "",
        "unconfirmed": "" if hotline.confirmed else words("unconfirmed_marker"),
        "note": words("note_line", note=hotline.note) if hotline.note else "",
        "demo": demo(hotline.source),
    }


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
