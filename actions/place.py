"""Which place a person means: read it, ask when it is ambiguous, remember it.

Every place-aware action derives from ``PlaceAction``. The place comes from, in order: a
button the person pressed (entity ``place_code``), the place words Rasa found (entity
``location``) or any place name in the message, and the place remembered from earlier (slot
``place_code``). An ambiguous name is asked about with buttons that send ``/inform_place``
back with the chosen key; the question waits in slot ``place_topic``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.common import Message, db, settings
from bot.content.areas import Area, from_key, pick, province_area, read
from bot.places import MAX_TEXT_LENGTH

PLACE_SLOT = "place_code"
TOPIC_SLOT = "place_topic"

# Build the place index (~0.3 s) when the action server starts, not at the first question.
province_area(settings().province)


@dataclass(frozen=True)
class Asked:
    """What the person's message said about a place."""

    area: Area | None  # the place to answer for (said now, or remembered)
    choices: tuple[Area, ...]  # other meanings to offer as buttons
    typed: str | None  # the place words as typed, when they named something
    unknown: bool  # place words were given that name nothing Loa knows
    said_now: bool  # the area came from this message (not from memory)


def _button(area: Area) -> dict[str, str]:
    payload = "/inform_place" + json.dumps({PLACE_SLOT: area.key}, separators=(",", ":"))
    return {"title": area.name, "payload": payload}


def asked(tracker: Tracker) -> Asked:
    """The place in the latest message, or the remembered one."""
    message = tracker.latest_message or {}
    pressed = next(tracker.get_latest_entity_values(PLACE_SLOT), None)
    if pressed and (area := from_key(str(pressed))):
        return Asked(area, (), area.name, unknown=False, said_now=True)
    home = settings().province
    home_code = province_area(home)
    home_province = home_code.units[0].code if home_code else None
    typed = [str(v) for v in tracker.get_latest_entity_values("location") if str(v).strip()]
    text = str(message.get("text") or "")[:MAX_TEXT_LENGTH]
    # The whole message is a place only when that is what it says (inform_place); in any other
    # sentence only clear mentions count ("la gi" is a town, and also "là gì").
    alone = (message.get("intent") or {}).get("name") == "inform_place"
    attempts = [*((t, False) for t in typed[:5]), (text, not alone)]
    if not alone:
        attempts.append((text, False))  # "tam thanh co phong toa ko": see below
    for n, (words, strict) in enumerate(attempts):
        candidates = read(words, prefer_province=home, strict=strict)
        if n == len(attempts) - 1 and not alone:
            # A name typed in lower case in a sentence is taken only if it is a place in the
            # province Loa serves: "la gi" (a town far away) is more likely "là gì".
            candidates = [a for a in candidates if home_province in a.province_codes]
        if candidates:
            reading = pick(candidates, home_province=home_province)
            said = candidates[0].said or words
            return Asked(reading.area, reading.choices, said, unknown=False, said_now=True)
    if typed:  # place words that name nothing Loa knows: not the remembered place either
        return Asked(None, (), typed[0], unknown=True, said_now=False)
    return Asked(from_key(tracker.get_slot(PLACE_SLOT)), (), None, unknown=False, said_now=False)


class PlaceAction(Action, ABC):
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

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await self.answer(dispatcher, tracker, asked(tracker))

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, place: Asked
    ) -> list[EventType]:
        if self.optional and place.area is None:
            place = Asked(None, (), None, unknown=False, said_now=False)
        if place.unknown and place.typed:
            dispatcher.utter_message(response="utter_place_unknown", typed=place.typed)
        if place.area is None and place.choices:
            dispatcher.utter_message(
                response="utter_place_which",
                typed=place.typed or "",
                buttons=[_button(a) for a in place.choices],
            )
            return [SlotSet(TOPIC_SLOT, self.topic)]
        if place.area is None and (self.ask_when_missing or place.unknown):
            dispatcher.utter_message(response=self.ask_response)
            return [SlotSet(TOPIC_SLOT, self.topic)]
        area = place.area
        if area is not None and area.old_name and place.said_now:
            now_part = ", ".join(u.name for u in area.units[:8])
            more = len(area.units) - 8
            if more > 0:
                now_part += f" (+{more})"
            dispatcher.utter_message(
                response="utter_place_now_part_of", old=area.old_name, now=now_part
            )
        for message in await db(lambda session: self.compose(session, area, tracker)):
            dispatcher.utter_message(**message)
        if place.choices:
            dispatcher.utter_message(
                response="utter_place_others", buttons=[_button(a) for a in place.choices]
            )
        events: list[EventType] = [SlotSet(TOPIC_SLOT, None)]
        if area is not None:
            events.append(SlotSet(PLACE_SLOT, area.key))
        return events


class ActionAnswerPlace(Action):
    """The person named a place: answer the question that waited for it, or ask what about."""

    def name(self) -> str:
        return "action_answer_place"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        place = asked(tracker)
        waiting = PlaceAction.topics.get(str(tracker.get_slot(TOPIC_SLOT) or ""))
        if waiting is not None:
            return await waiting().answer(dispatcher, tracker, place)
        if place.area is None or not place.said_now:
            if place.choices:
                dispatcher.utter_message(
                    response="utter_place_which",
                    typed=place.typed or "",
                    buttons=[_button(a) for a in place.choices],
                )
                return []
            response = "utter_place_unknown" if place.typed else "utter_place_ask"
            dispatcher.utter_message(response=response, typed=place.typed or "")
            return []
        dispatcher.utter_message(response="utter_place_what_about", place=place.area.name)
        return [SlotSet(PLACE_SLOT, place.area.key)]


__all__ = ["ActionAnswerPlace", "Asked", "PlaceAction", "asked"]
