"""``forget_me``: "xóa dữ liệu của tôi" → Loa says what will be erased and asks once; on "Xóa
dữ liệu" the person's data is erased (``bot.helpdesk.retention.ask_to_forget``: their help
requests' personal fields and their message texts, on every channel account, now; their Rasa
conversations by the app's worker a little later, once this turn is written)."""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import AllSlotsReset, EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions.common import write
from actions.guard import Guarded
from bot.clock import utcnow
from bot.helpdesk import retention
from bot.storage.conversations import find_account

log = logging.getLogger(__name__)

CHOICE = "forget_me_choice"  # "yes" / "no", from the confirmation's buttons
YES = "yes"
AFFIRM = "affirm"


class ActionAskForgetMe(Guarded):
    """What would be erased, and the two buttons: nothing is erased without a yes."""

    def name(self) -> str:
        return "action_ask_forget_me"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, intent: str
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_ask_forget_me")
        return []


def confirmed(tracker: Tracker) -> bool:
    """ "Xóa dữ liệu" pressed, or "có"/"đồng ý" typed right after the question."""
    choice = next(tracker.get_latest_entity_values(CHOICE), None)
    if choice is not None:
        return str(choice) == YES
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    return intent == AFFIRM


class ActionForgetMe(Action):
    """Erase, or keep, as the person answered."""

    def name(self) -> str:
        return "action_forget_me"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not confirmed(tracker):
            dispatcher.utter_message(response="utter_forget_me_kept")
            return []
        channel, _, external_id = tracker.sender_id.partition(":")

        def forget(session: Session) -> retention.Erased:
            account = find_account(session=session, channel=channel, external_id=external_id)
            if account is None:
                return retention.Erased()
            return retention.ask_to_forget(
                session=session, person_id=account.person_id, now=utcnow()
            )

        try:
            erased = await write(forget)
        except SQLAlchemyError as error:
            log.warning("forget_me failed: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_forget_me_failed")
            return []
        log.info("forget_me: %d requests, %d messages erased", erased.requests, erased.messages)
        dispatcher.utter_message(
            response="utter_forget_me_done", messages=erased.messages, requests=erased.requests
        )
        return [AllSlotsReset()]  # the remembered place and the rest go with it
