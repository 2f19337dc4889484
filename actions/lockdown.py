"""``ask_lockdown_status``: the zones closed now in the person's commune or province."""

from __future__ import annotations

from rasa_sdk import Tracker
from sqlalchemy.orm import Session

from actions.base import PlaceAction
from actions.common import Message, cite
from bot import places, wording
from bot.clock import day, last_day, moment, utcnow
from bot.content import store
from bot.content.areas import Area

MAX_LISTED = 10  # zones listed in one answer; the rest are counted


class ActionTellLockdownStatus(PlaceAction):
    topic = "lockdown"
    ask_when_missing = True
    ask_response = "utter_lockdown_ask_place"

    def name(self) -> str:
        return "action_tell_lockdown_status"

    def compose(self, session: Session, area: Area | None, tracker: Tracker) -> list[Message]:
        assert area is not None  # ask_when_missing: compose runs only with a place
        at = utcnow()
        found = store.zones(session=session, area=area, at=at, limit=MAX_LISTED)
        if not found.total:
            return [{"response": "utter_lockdown_none", "place": area.name, "as_of": moment(at)}]
        kinds = wording.table("zone_kinds")
        messages: list[Message] = [
            {
                "response": "utter_lockdown_found",
                "place": area.name,
                "as_of": moment(at),
                "count": found.total,
            }
        ]
        for zone in found.active:
            commune = places.get(zone.commune_code or 0).name
            until = (
                wording.phrase("zone_until", date=last_day(zone.ends_at))
                if zone.ends_at
                else wording.phrase("zone_open_ended")
            )
            messages.append(
                {
                    "response": "utter_lockdown_zone",
                    "zone": zone.name,
                    "kind": kinds.get(zone.kind, zone.kind),
                    "commune": commune,
                    "since": day(zone.starts_at),
                    "until": until,
                    "decision": zone.decision,
                    "source": cite(zone.source),
                    "note": wording.phrase("note_line", note=zone.note) if zone.note else "",
                }
            )
        if found.total > len(found.active):
            messages.append(
                {"response": "utter_lockdown_more", "count": found.total - len(found.active)}
            )
        return messages
