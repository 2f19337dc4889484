"""``report_false_info``: a form takes the claim (pasted text or a link) and where it was seen,
reads it back, and files it for the inspectors (``bot.helpdesk.reports``) under a key made
when the form starts, so a confirmation that arrives twice is one report. A claim already
checked gets its verdict at once. "hủy", "thôi", "/stop" end the form with nothing stored.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT, FormValidationAction
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions.common import db, pressed, typed
from actions.guard import Guarded
from bot import text as vi
from bot.helpdesk import form, reports
from bot.storage.conversations import account_for

log = logging.getLogger(__name__)

FORM = "false_info_form"
CLAIM_SLOT = "false_info_claim"
WHERE_SLOT = "false_info_where"
CONFIRM_SLOT = "false_info_confirm"
KEY_SLOT = "false_info_key"
FORM_SLOTS = (CLAIM_SLOT, WHERE_SLOT, CONFIRM_SLOT, KEY_SLOT)
CHOICE = "false_info_choice"  # the entity of the form's buttons
SEND, SKIP, CANCEL, CANCELLED = "send", "skip", "cancel", "cancelled"
SUMMARY_CHARS = 300  # the claim as read back: its beginning
# A message that starts the form and already holds the claim: a link, or this many words
# beyond "báo tin giả" ("… có người đăng tin phường X bị phong tỏa …").
CLAIM_WORDS = 12


def choice_of(tracker: Tracker) -> str | None:
    return pressed(tracker, CHOICE)


def button(choice: str, title: str) -> dict[str, str]:
    return {"title": title, "payload": f'/false_info_choose{{"{CHOICE}":"{choice}"}}'}


def claim_in(text: str) -> str | None:
    """The claim, when the message that starts the report already carries it."""
    if reports.first_link(text) or len(vi.words(text)) >= CLAIM_WORDS:
        return text.strip()[: reports.MAX_CLAIM]
    return None


class ActionStartFalseInfo(Guarded):
    """Starts the form: a fresh key, the claim taken from the message when it is there."""

    def name(self) -> str:
        return "action_start_false_info"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, intent: str
    ) -> list[EventType]:
        events: list[EventType] = [SlotSet(slot, None) for slot in FORM_SLOTS]
        events.append(SlotSet(KEY_SLOT, uuid.uuid4().hex))
        claim = claim_in(typed(tracker))
        if claim:
            events.append(SlotSet(CLAIM_SLOT, claim))
        dispatcher.utter_message(response="utter_false_info_start")
        return [*events, FollowupAction(FORM)]


class ValidateFalseInfoForm(FormValidationAction):
    """Checks each answer; a cancel word at any question ends the form, nothing stored."""

    def name(self) -> str:
        return "validate_false_info_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        asked = tracker.get_slot(REQUESTED_SLOT)
        if not asked:
            return []  # the form starting: a claim pre-filled from the message is valid
        said = str((tracker.latest_message or {}).get("text") or "")
        if choice_of(tracker) == CANCEL or form.is_cancel(said):
            return [
                SlotSet(str(asked), None),
                SlotSet(CONFIRM_SLOT, CANCELLED),
                SlotSet(REQUESTED_SLOT, None),
                ActiveLoop(None),
            ]
        return await super().run(dispatcher, tracker, domain)

    async def validate_false_info_claim(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = vi.clean(typed(tracker) or str(value or ""))
        if not vi.has_words(text):
            dispatcher.utter_message(response="utter_false_info_claim_empty")
            return {CLAIM_SLOT: None}
        if len(text) > reports.MAX_CLAIM:
            dispatcher.utter_message(
                response="utter_false_info_claim_trimmed", limit=reports.MAX_CLAIM
            )
            text = text[: reports.MAX_CLAIM]
        return {CLAIM_SLOT: text}

    async def validate_false_info_where(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        said = typed(tracker)
        if choice_of(tracker) == SKIP or form.is_skip(said) or not vi.has_words(said):
            return {WHERE_SLOT: ""}
        return {WHERE_SLOT: vi.clean(said)[: reports.MAX_SEEN_WHERE]}

    async def validate_false_info_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if choice_of(tracker) == SEND or form.yes_no(typed(tracker)) is True:
            return {CONFIRM_SLOT: SEND}
        dispatcher.utter_message(response="utter_false_info_confirm_again")
        return {CONFIRM_SLOT: None}


class ActionAskFalseInfoConfirm(Action):
    """Reads the report back, with "Gửi báo cáo" and "Hủy"."""

    def name(self) -> str:
        return "action_ask_false_info_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        claim = str(tracker.get_slot(CLAIM_SLOT) or "")
        shown = claim if len(claim) <= SUMMARY_CHARS else claim[:SUMMARY_CHARS] + form.ELLIPSIS
        where = str(tracker.get_slot(WHERE_SLOT) or "") or form.piece("not_remembered")
        dispatcher.utter_message(
            response="utter_false_info_summary",
            claim=shown,
            where=where,
            buttons=[
                button(SEND, form.piece("send_report_button")),
                button(CANCEL, form.piece("cancel_button")),
            ],
        )
        return []


class ActionSubmitFalseInfo(Action):
    """After the form: file the confirmed report (committed before the reply), or say that
    nothing was sent. "Gửi báo cáo" pressed again finds the same key: the same report."""

    def name(self) -> str:
        return "action_submit_false_info"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        confirm, key = tracker.get_slot(CONFIRM_SLOT), tracker.get_slot(KEY_SLOT)
        if confirm == CANCELLED:
            dispatcher.utter_message(response="utter_false_info_cancelled")
            return [SlotSet(slot, None) for slot in FORM_SLOTS]
        pressed_late = tracker.latest_action_name == "action_listen" and choice_of(tracker) != SEND
        if confirm != SEND or not key or pressed_late:
            dispatcher.utter_message(response="utter_false_info_nothing_to_send")
            return []
        channel, _, external_id = tracker.sender_id.partition(":")
        claim = str(tracker.get_slot(CLAIM_SLOT) or "")
        where = str(tracker.get_slot(WHERE_SLOT) or "")

        def file(session: Session) -> reports.Filed:
            account = account_for(session=session, channel=channel, external_id=external_id)
            session.commit()
            return reports.file(
                session=session,
                account_id=account.id,
                client_key=str(key),
                claim=claim,
                seen_where=where,
            )

        try:
            filed = await db(file)  # ``file`` commits before returning
        except (SQLAlchemyError, RuntimeError, reports.InvalidReport) as error:
            log.warning("false-information report not stored: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_false_info_not_sent")
            return []
        code = filed.report.code
        log.info("false-information report %s: %s", filed.outcome, code)
        if filed.verdict_message:  # already checked: the verdict now (also on a replay)
            dispatcher.utter_message(text=filed.verdict_message)
        elif filed.outcome == reports.REPLAYED:
            dispatcher.utter_message(response="utter_false_info_replayed", code=code)
        elif filed.outcome == reports.GROUPED:
            dispatcher.utter_message(response="utter_false_info_grouped", code=code)
        else:
            dispatcher.utter_message(response="utter_false_info_filed", code=code)
        return []
