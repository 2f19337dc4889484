"""``ask_symptoms`` (general information) and ``report_symptoms`` (triage: 115 first)."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.base import PlaceAction, asked
from actions.common import Message, db, hotline_lines, info_messages, settings
from bot.content.areas import Area
from bot.content.triage import EMERGENCY, URGENT, Thresholds, Triage, assess
from bot.storage.content import DANGER_SIGNS, HOME_CARE, SEEK_CARE, SYMPTOMS


class ActionTellSymptoms(PlaceAction):
    topic = "symptoms"
    optional = True

    def name(self) -> str:
        return "action_tell_symptoms"

    def compose(self, session: Session, area: Area | None, tracker: Tracker) -> list[Message]:
        found = info_messages(session, (SYMPTOMS, DANGER_SIGNS), area)
        return found or [{"response": "utter_content_missing"}]


def thresholds() -> Thresholds:
    return Thresholds.from_settings(settings())


def advice(session: Session, triage: Triage, area: Area | None) -> list[Message]:
    """What follows the first message: care at home, when to seek care, local numbers."""
    messages: list[Message] = []
    if triage.level == EMERGENCY:
        lines, local = hotline_lines(session, area)
        if local:
            messages += [{"response": "utter_triage_local_hotlines"}, *lines]
        return messages
    topics = (SEEK_CARE, HOME_CARE) if triage.level == URGENT else (HOME_CARE, SEEK_CARE)
    messages += info_messages(session, topics, area)
    messages.append({"response": "utter_triage_watch", "spo2": thresholds().spo2_below})
    return messages


class ActionTriageSymptoms(Action):
    """Someone is ill now: danger signs → call 115, first and unmistakably; otherwise care
    advice. Reads the numbers people give (SpO2, temperature, breaths); never a diagnosis."""

    def name(self) -> str:
        return "action_triage_symptoms"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = str((tracker.latest_message or {}).get("text") or "")
        triage = assess(text, thresholds())
        reasons = ", ".join(triage.reasons())
        reasons = reasons[:1].upper() + reasons[1:]  # it opens a sentence
        if triage.level == EMERGENCY:
            dispatcher.utter_message(response="utter_triage_emergency", reasons=reasons)
        elif triage.level == URGENT:
            risk = ", ".join(triage.risk_labels() + triage.reasons())
            dispatcher.utter_message(response="utter_triage_urgent", reasons=risk)
        else:
            dispatcher.utter_message(response="utter_triage_home_care")
        area = asked(tracker).area
        for message in await db(lambda session: advice(session, triage, area)):
            dispatcher.utter_message(**message)
        dispatcher.utter_message(response="utter_triage_disclaimer")
        if triage.level == EMERGENCY:  # last: its button closes the one message people get
            dispatcher.utter_message(response="utter_triage_offer_help")
        return []
