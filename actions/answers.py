"""The question bank in the conversation: a question no fixed intent answers (Rasa's fallback
and ``out_of_scope``), a button choosing another entry, and the 👍/👎 after an answer."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.common import db, write
from actions.guard import ENTRY_SLOT, RATING, Guarded, answer_route, bank_answer, text_of
from bot.clock import utcnow
from bot.content.bank import store as bank
from bot.content.bank.route import INTENT, Route
from bot.storage.questions import DOWN, UNKNOWN, UP, record


class ActionAnswerQuestion(Guarded):
    """Rasa found no intent (or ``out_of_scope``): the router picks the bank, an intent after
    all (``answer_route`` hands over to its action), a question back or "I don't know"; a
    button choosing an entry is answered with that entry, and "none of these" with an honest
    "I don't know" (the question before it is kept for the content team)."""

    def name(self) -> str:
        return "action_answer_question"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, intent: str
    ) -> list[EventType]:
        key = next(tracker.get_latest_entity_values(ENTRY_SLOT), None)
        if intent == "choose_answer" and key:
            for message in await db(lambda s: bank_answer(s, str(key), [])):
                dispatcher.utter_message(**message)
            return []
        if intent == "choose_answer":  # "none of these" (or a payload without a key)
            question = _question_before(tracker)
            if question:
                await write(lambda s: record(question, UNKNOWN, at=utcnow(), session=s))
            dispatcher.utter_message(response="utter_bank_unknown")
            return []
        return await answer_route(dispatcher, tracker, Route(INTENT, intent))


def _question_before(tracker: Tracker) -> str:
    """The person's last typed question before the button they pressed."""
    for event in reversed(tracker.events):
        text = str(event.get("text") or "") if event.get("event") == "user" else ""
        if text and not text.startswith("/"):
            return text
    return ""


class ActionRateAnswer(Action):
    """👍/👎 after a bank answer: stored with the question (for ``loa content unanswered``)."""

    def name(self) -> str:
        return "action_rate_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        key = str(next(tracker.get_latest_entity_values(ENTRY_SLOT), "") or "")
        rating = next(tracker.get_latest_entity_values(RATING), None)
        if rating not in (UP, DOWN):
            dispatcher.utter_message(response="utter_bank_rated_up")
            return []
        question = _question_before(tracker) or text_of(tracker)

        def store(session: Session) -> None:
            known = bank.entry(session, key) is not None
            record(
                question,
                str(rating),
                at=utcnow(),
                entry_key=key if known else None,
                session=session,
            )

        await write(store)
        dispatcher.utter_message(response=f"utter_bank_rated_{rating}")
        return []
