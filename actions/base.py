"""The base of every answer that depends on the person's place: read it, ask, remember it.

The place comes from the tracker: a button the person pressed (entity ``place_code``), the
place words Rasa found (entity ``location``) or a place named in the message, and the place
remembered from earlier (slot ``place_code``); ``bot.content.areas.understand`` decides. An
ambiguous name is asked about with buttons that send ``/inform_place`` back with the chosen
key; the question waits in slot ``place_topic``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.common import PLACE_SLOT, Message, asked, db, settings
from actions.guard import Guarded
from bot.content.areas import NOTHING, Area, Asked, province_area

TOPIC_SLOT = "place_topic"
MAX_NOW_PART = 8  # current units named when an old name is answered for what it became

# Build the place index (~0.3 s) when the action server starts, not at the first question.
province_area(settings().province)


def place_button(area: Area) -> dict[str, str]:
    payload = "/inform_place" + json.dumps({PLACE_SLOT: area.key}, separators=(",", ":"))
    return {"title": area.name, "payload": payload}


def ask_which(dispatcher: CollectingDispatcher, place: Asked) -> None:
    dispatcher.utter_message(
        response="utter_place_which",
        typed=place.typed or "",
        buttons=[place_button(a) for a in place.choices],
    )


class PlaceAction(Guarded, ABC):
    """An answer that depends on the person's place. Subclasses set ``topic`` and implement
    ``compose`` (database work only, run off the event loop)."""

    topic: ClassVar[str] = ""
    ask_when_missing: ClassVar[bool] = False  # no place at all: ask (else answer broadly)
    optional: ClassVar[bool] = False  # the place only refines the answer: never ask about it
    ask_response: ClassVar[str] = "utter_place_ask"
    topics: ClassVar[dict[str, type[PlaceAction]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.topic:
            PlaceAction.topics[cls.topic] = cls

    @abstractmethod
    def compose(self, session: Session, area: Area | None, tracker: Tracker) -> list[Message]:
        """The messages to say for ``area`` (None: no place known)."""

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, intent: str
    ) -> list[EventType]:
        return await self.answer(dispatcher, tracker, asked(tracker))

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, place: Asked
    ) -> list[EventType]:
        if self.optional and place.area is None:
            place = NOTHING
        if place.unknown and place.typed:
            dispatcher.utter_message(response="utter_place_unknown", typed=place.typed)
        if place.area is None and place.choices:
            ask_which(dispatcher, place)
            return [SlotSet(TOPIC_SLOT, self.topic)]
        if place.area is None and (self.ask_when_missing or place.unknown):
            dispatcher.utter_message(response=self.ask_response)
            return [SlotSet(TOPIC_SLOT, self.topic)]
        area = place.area
        if area is not None and area.old_name and place.said_now:
            now_part = ", ".join(u.name for u in area.units[:MAX_NOW_PART])
            more = len(area.units) - MAX_NOW_PART
            if more > 0:
                now_part += f" (+{more})"
            dispatcher.utter_message(
                response="utter_place_now_part_of", old=area.old_name, now=now_part
            )
        for message in await db(lambda session: self.compose(session, area, tracker)):
            dispatcher.utter_message(**message)
        if place.choices:
            dispatcher.utter_message(
                response="utter_place_others", buttons=[place_button(a) for a in place.choices]
            )
        events: list[EventType] = [SlotSet(TOPIC_SLOT, None)]
        if area is not None:
            events.append(SlotSet(PLACE_SLOT, area.key))
        return events
