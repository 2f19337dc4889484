"""Intents answered with fixed responses (greetings, thanks, yes and no), once
the router has agreed the message is really one of them."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.guard import Guarded

RESPONSES: dict[str, tuple[str, ...]] = {
    "greet": ("utter_greet", "utter_menu"),
    "goodbye": ("utter_goodbye",),
    "thank": ("utter_thank",),
    "affirm": ("utter_affirm",),
    "deny": ("utter_deny",),
    "bot_challenge": ("utter_iamabot",),
}


class ActionReply(Guarded):
    def name(self) -> str:
        return "action_reply"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, intent: str
    ) -> list[EventType]:
        for response in RESPONSES.get(intent, ("utter_fallback",)):
            dispatcher.utter_message(response=response)
        return []
