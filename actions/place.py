"""``inform_place``: the person named a place — answer the question that waited for it, or ask
what they want to know about it."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import PLACE_SLOT, TOPIC_SLOT, PlaceAction, ask_which, asked
from actions.guard import Guarded


class ActionAnswerPlace(Guarded):
    def name(self) -> str:
        return "action_answer_place"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, intent: str
    ) -> list[EventType]:
        place = asked(tracker)
        waiting = PlaceAction.topics.get(str(tracker.get_slot(TOPIC_SLOT) or ""))
        if waiting is not None:
            return await waiting().answer(dispatcher, tracker, place)
        if place.area is None or not place.said_now:
            if place.choices:
                ask_which(dispatcher, place)
                return []
            response = "utter_place_unknown" if place.typed else "utter_place_ask"
            dispatcher.utter_message(response=response, typed=place.typed or "")
            return []
        dispatcher.utter_message(response="utter_place_what_about", place=place.area.name)
        return [SlotSet(PLACE_SLOT, place.area.key)]
