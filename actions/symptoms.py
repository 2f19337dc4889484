"""``ask_symptoms`` (general information) and ``report_symptoms`` (triage: 115 first)."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.base import PlaceAction
from actions.common import Message, info_messages
from actions.guard import Guarded, triage
from bot.content.areas import Area
from bot.storage.content import DANGER_SIGNS, SYMPTOMS


class ActionTellSymptoms(PlaceAction):
    topic = "symptoms"
    optional = True

    def name(self) -> str:
        return "action_tell_symptoms"

    def compose(self, session: Session, area: Area | None, tracker: Tracker) -> list[Message]:
        found = info_messages(session, (SYMPTOMS, DANGER_SIGNS), area)
        return found or [{"response": "utter_content_missing"}]


class ActionTriageSymptoms(Guarded):
    """Someone is ill now: danger signs → call 115 first (``actions.guard.triage``)."""

    def name(self) -> str:
        return "action_triage_symptoms"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, intent: str
    ) -> list[EventType]:
        return await triage(dispatcher, tracker)
