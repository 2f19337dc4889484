"""``ask_alert_level``: the situation level in force for the area, since when, by which decision."""

from __future__ import annotations

from rasa_sdk import Tracker
from sqlalchemy.orm import Session

from actions.base import PlaceAction
from actions.common import Message, cite, settings
from bot import places, wording
from bot.alerts import schemes
from bot.clock import day, utcnow
from bot.content import store
from bot.content.areas import Area, province_area
from bot.content.store import UnitLevel


def _values(session: Session, row: UnitLevel) -> dict[str, object]:
    assert row.level is not None
    level = row.level
    name, meaning = schemes.describe(session=session, row=level)  # in the row's own scheme
    return {
        "level": level.level,
        "level_name": name,
        "meaning": meaning,
        "since": day(level.valid_from),
        "decision": level.decision,
        "source": cite(level.source),
    }


def _parent(row: UnitLevel) -> str:
    """Whose level a unit without its own follows: its province's, or the country's."""
    assert row.level is not None
    if row.level.province_code is None:
        return wording.phrase("whole_country")
    return places.get(row.level.province_code, level="province").name


class ActionTellAlertLevel(PlaceAction):
    topic = "alert_level"

    def name(self) -> str:
        return "action_tell_alert_level"

    def compose(self, session: Session, area: Area | None, tracker: Tracker) -> list[Message]:
        at = utcnow()
        messages: list[Message] = []
        if area is None:  # no place given: the province Loa serves
            area = province_area(settings().province)
            messages.append({"response": "utter_alert_level_hint_place"})
        rows = store.levels(session=session, area=area, at=at)
        name = area.name if area else wording.phrase("whole_country")
        if len(rows) > 1:
            lines: list[Message] = [{"response": "utter_alert_level_split", "place": name}]
            for row in rows:
                unit = row.unit.name if row.unit else name
                if row.level is None:
                    lines.append({"response": "utter_alert_level_unit_none", "unit": unit})
                else:
                    values = _values(session, row)
                    lines.append({"response": "utter_alert_level_unit", "unit": unit, **values})
            return [*lines, *messages]
        row = rows[0]
        if row.level is None:
            situations = [
                {"response": "utter_alert_level_situation", "level": s.level, "level_name": s.name}
                for s in store.situations(session=session)
            ]
            return [
                {"response": "utter_alert_level_unknown", "place": name},
                *situations,
                *messages,
            ]
        response = "utter_alert_level_current" if row.own else "utter_alert_level_inherited"
        head = {
            "response": response,
            "place": name,
            "parent": _parent(row),
            **_values(session, row),
        }
        return [head, *messages]
