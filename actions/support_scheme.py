"""``ask_support_scheme``: a short list first, then the schemes for who the person is."""

from __future__ import annotations

import json

from rasa_sdk import Tracker
from sqlalchemy.orm import Session

from actions.base import PlaceAction
from actions.common import Message, demo, settings
from bot import wording
from bot.clock import last_day, utcnow
from bot.content import store
from bot.content.areas import Area, province_area
from bot.storage.content import SupportGroup, SupportScheme

GROUP_SLOT = "support_group"
MAX_DETAILED = 3  # schemes shown in full for one group; more are counted


def _state(scheme: SupportScheme, *, open_: bool) -> str:
    if not open_:
        assert scheme.valid_until is not None
        return wording.phrase("scheme_closed", date=last_day(scheme.valid_until))
    if scheme.valid_until:
        return wording.phrase("scheme_open_until", date=last_day(scheme.valid_until))
    return wording.phrase("scheme_open")


def _group_button(group: SupportGroup) -> dict[str, str]:
    payload = "/ask_support_scheme" + json.dumps({GROUP_SLOT: group.key}, separators=(",", ":"))
    return {"title": group.label, "payload": payload}


def _group(tracker: Tracker, groups: list[SupportGroup]) -> SupportGroup | None:
    pressed = next(tracker.get_latest_entity_values(GROUP_SLOT), None)
    by_key = {g.key: g for g in groups}
    if pressed in by_key:
        return by_key[str(pressed)]
    return store.group_in(str((tracker.latest_message or {}).get("text") or ""), groups)


class ActionListSupportSchemes(PlaceAction):
    topic = "support_scheme"

    def name(self) -> str:
        return "action_list_support_schemes"

    def compose(self, session: Session, area: Area | None, tracker: Tracker) -> list[Message]:
        at = utcnow()
        area = area or province_area(settings().province)
        place = area.name if area else ""
        groups = store.groups(session=session)
        group = _group(tracker, groups)
        if group is None:
            return self._overview(session, area, place, groups)
        found = store.schemes(
            session=session, area=area, at=at, group=group.key, limit=MAX_DETAILED
        )
        if not found.open_total and not found.closed_total:
            return [
                {
                    "response": "utter_support_scheme_group_none",
                    "group": group.label,
                    "place": place,
                }
            ]
        messages: list[Message] = [{"response": "utter_support_scheme_group", "group": group.label}]
        shown = [(s, True) for s in found.open] + [(s, False) for s in found.closed]
        for scheme, open_ in shown[:MAX_DETAILED]:
            messages.append(
                {
                    "response": "utter_support_scheme_detail",
                    "title": scheme.title,
                    "state": _state(scheme, open_=open_),
                    "eligible": scheme.eligible,
                    "amount": scheme.amount,
                    "how_to_apply": scheme.how_to_apply,
                    "where_to_apply": scheme.where_to_apply,
                    "legal_basis": scheme.legal_basis,
                    "demo": demo(scheme.source),
                }
            )
        more = found.open_total + found.closed_total - min(len(shown), MAX_DETAILED)
        if more > 0:
            messages.append({"response": "utter_support_scheme_more", "count": more})
        return messages

    def _overview(
        self, session: Session, area: Area | None, place: str, groups: list[SupportGroup]
    ) -> list[Message]:
        found = store.schemes(session=session, area=area, at=utcnow(), limit=6)
        messages: list[Message] = []
        if found.open:
            messages.append(
                {"response": "utter_support_scheme_open", "place": place, "count": found.open_total}
            )
        else:
            messages.append({"response": "utter_support_scheme_none_open", "place": place})
        for scheme in found.open:
            messages.append(self._line(scheme, open_=True))
        if found.closed:
            messages.append(
                {"response": "utter_support_scheme_closed", "count": found.closed_total}
            )
            messages += [self._line(scheme, open_=False) for scheme in found.closed]
        if groups:
            messages.append(
                {
                    "response": "utter_support_scheme_pick_group",
                    "buttons": [_group_button(g) for g in groups],
                }
            )
        return messages

    @staticmethod
    def _line(scheme: SupportScheme, *, open_: bool) -> Message:
        if not open_:  # closed ones are listed for reference: their titles are enough
            return {
                "response": "utter_support_scheme_closed_line",
                "title": scheme.title,
                "state": _state(scheme, open_=False),
            }
        return {
            "response": "utter_support_scheme_line",
            "title": scheme.title,
            "state": _state(scheme, open_=open_),
            "summary": scheme.summary,
        }
