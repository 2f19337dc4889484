"""``request_help``: the help-request form (asked one question at a time, validated here, read
back, stored only on "Gửi yêu cầu"); ``check_request_status``: the person's own request.

The form's words are understood by ``bot.helpdesk.form``; the request is checked and stored by
``bot.helpdesk.requests`` under a key made when the form starts, so a confirmation that
arrives twice is one request. Inside the form every message is an answer (the slot mappings
take the whole text), so the router in ``actions.guard`` never sees it.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT, FormValidationAction
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions.base import place_button
from actions.common import PLACE_SLOT, db, pressed, settings, typed
from actions.guard import INTENT, TRIAGE_SLOT, Guarded, answer_route, route_of, thresholds
from bot.clock import moment, utcnow
from bot.content.areas import Area, from_key, understand
from bot.content.triage import EMERGENCY, assess
from bot.helpdesk import form, phones, requests
from bot.helpdesk.requests import MAX_ADDRESS, MAX_DESCRIPTION, MAX_PEOPLE, InvalidRequest
from bot.storage.conversations import account_for, find_account
from bot.storage.helpdesk import NEEDS
from connectors.base import SHARE_PHONE

log = logging.getLogger(__name__)

FORM = "help_request_form"
NEEDS_SLOT = "help_request_needs"
PICKED_SLOT = "help_request_needs_picked"
DESCRIPTION_SLOT = "help_request_description"
PLACE = "help_request_place"
ADDRESS_SLOT = "help_request_address"
PEOPLE_SLOT = "help_request_people"
CONSENT_SLOT = "help_request_consent"
PHONE_SLOT = "help_request_phone"
CONFIRM_SLOT = "help_request_confirm"
KEY_SLOT = "help_request_key"
CHOICE = "help_request_choice"  # the entity of the form's buttons
FORM_SLOTS = (
    NEEDS_SLOT,
    PICKED_SLOT,
    DESCRIPTION_SLOT,
    PLACE,
    ADDRESS_SLOT,
    PEOPLE_SLOT,
    CONSENT_SLOT,
    PHONE_SLOT,
    CONFIRM_SLOT,
    KEY_SLOT,
)
SEND, CANCELLED = "send", "cancelled"  # values of CONFIRM_SLOT
DONE, SKIP, YES, NO, NO_PHONE, CANCEL = "done", "skip", "yes", "no", "no_phone", "cancel"
# "Sửa …" buttons: the field, and the slots it empties (contact = consent and phone).
EDITS = {
    "needs": (NEEDS_SLOT,),
    "description": (DESCRIPTION_SLOT,),
    "place": (PLACE,),
    "address": (ADDRESS_SLOT,),
    "people": (PEOPLE_SLOT,),
    "consent": (CONSENT_SLOT, PHONE_SLOT),
}
# The channels whose connector can ask for the person's own phone number (connectors.base
# SHARE_PHONE): Telegram's contact button, Zalo OA's request for user information.
SHARES_PHONE = ("telegram", "zalo_oa")
TRIAGE_FRESH = timedelta(hours=12)  # a triage older than this no longer describes the person
MAX_PLACE_BUTTONS = 8  # communes offered as buttons for a split old district


def choice_of(tracker: Tracker) -> str | None:
    return pressed(tracker, CHOICE)


def choose(choice: str, title: str) -> dict[str, str]:
    return {"title": title, "payload": f'/help_request_choose{{"{CHOICE}":"{choice}"}}'}


def fresh_triage(tracker: Tracker) -> str:
    """The text of the person's last triage, if it is recent enough to describe them now."""
    found = tracker.get_slot(TRIAGE_SLOT)
    if not isinstance(found, dict) or not isinstance(found.get("text"), str):
        return ""
    try:
        at = datetime.fromisoformat(str(found.get("at")))
    except ValueError:
        return ""
    return found["text"] if utcnow() - at <= TRIAGE_FRESH else ""


def commune_of(key: str | None) -> Area | None:
    """The area of a single current commune (what a request is filed for), else None."""
    area = from_key(key)
    return area if area is not None and len(area.commune_codes) == 1 else None


class ActionStartHelpRequest(Guarded):
    """Starts the form afresh: a new key, nothing left of an earlier form, the needs a recent
    triage implies (then 115 first); or, when the router says the message is something else,
    that answer and no form."""

    def name(self) -> str:
        return "action_start_help_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        route = await route_of(tracker)
        if route.kind != INTENT:
            answered = await answer_route(dispatcher, tracker, route)
            return [*answered, FollowupAction("action_listen")]
        return await self.respond(dispatcher, tracker, domain, route.intent or "")

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, intent: str
    ) -> list[EventType]:
        events: list[EventType] = [SlotSet(slot, None) for slot in FORM_SLOTS]
        events.append(SlotSet(KEY_SLOT, uuid.uuid4().hex))
        prefilled = form.prefilled_needs(fresh_triage(tracker), thresholds())
        if prefilled:
            events += [SlotSet(NEEDS_SLOT, list(prefilled)), SlotSet(PICKED_SLOT, list(prefilled))]
            needs = form.needs_text(prefilled)
            dispatcher.utter_message(response="utter_help_request_start_emergency", needs=needs)
        else:
            said = form.needs_in(typed(tracker))  # "nhà tôi hết gạo": food, already chosen
            events.append(SlotSet(PICKED_SLOT, list(said)))
            dispatcher.utter_message(response="utter_help_request_start")
        return [*events, FollowupAction(FORM)]


class ActionAskHelpRequestNeeds(Action):
    """The needs question: a button per need not chosen yet, and "Xong" once one is."""

    def name(self) -> str:
        return "action_ask_help_request_needs"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        picked = [n for n in tracker.get_slot(PICKED_SLOT) or () if n in NEEDS]
        buttons = [choose(n, form.need_label(n)) for n in NEEDS if n not in picked]
        if picked:
            buttons.append(choose(DONE, form.piece("done_button")))
        shown = form.piece("picked", needs=form.needs_text(picked)) if picked else ""
        dispatcher.utter_message(
            response="utter_ask_help_request_needs", picked=shown, buttons=buttons
        )
        return []


class ActionAskHelpRequestPlace(Action):
    """The place question, offering the remembered commune first as a button."""

    def name(self) -> str:
        return "action_ask_help_request_place"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        remembered = commune_of(tracker.get_slot(PLACE_SLOT))
        if remembered is None:
            dispatcher.utter_message(response="utter_ask_help_request_place")
            return []
        button = place_button(remembered)
        button["title"] = form.piece("place_button", place=remembered.name)
        dispatcher.utter_message(
            response="utter_ask_help_request_place_remembered",
            place=remembered.name,
            buttons=[button],
        )
        return []


class ActionAskHelpRequestPhone(Action):
    """The phone question; on the channels that can ask for the person's own number (a
    Telegram contact button, Zalo OA's card), a button that shares it in one tap: no typing,
    no typo. The number comes back as a message holding it, validated as a typed one."""

    def name(self) -> str:
        return "action_ask_help_request_phone"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        channel = tracker.sender_id.partition(":")[0]
        buttons = []
        if channel in SHARES_PHONE:
            detail = json.dumps({"detail": form.piece("share_phone_detail")}, ensure_ascii=False)
            buttons.append(
                {"title": form.piece("share_phone_button"), "payload": SHARE_PHONE + detail}
            )
        dispatcher.utter_message(response="utter_ask_help_request_phone", buttons=buttons)
        return []


class ActionAskHelpRequestConfirm(Action):
    """The summary read back, with "Gửi yêu cầu", one "Sửa …" per field, and "Hủy"."""

    def name(self) -> str:
        return "action_ask_help_request_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        buttons = [choose(SEND, form.piece("send_button"))]
        buttons += [
            choose(f"edit_{field}", form.piece("edit_button", field=form.field_name(field)))
            for field in EDITS
        ]
        buttons.append(choose(CANCEL, form.piece("cancel_button")))
        dispatcher.utter_message(
            response="utter_help_request_summary", buttons=buttons, **summary(tracker)
        )
        return []


def summary(tracker: Tracker) -> dict[str, str]:
    """The fields as the person reads them back (the phone whole: they check it for typos,
    in their own conversation)."""
    area = commune_of(tracker.get_slot(PLACE))
    phone = str(tracker.get_slot(PHONE_SLOT) or "")
    return {
        "needs": form.needs_text(tracker.get_slot(NEEDS_SLOT) or ()),
        "description": str(tracker.get_slot(DESCRIPTION_SLOT) or ""),
        "place": area.name if area else "",
        "address": str(tracker.get_slot(ADDRESS_SLOT) or "") or form.piece("no_address"),
        "people": str(tracker.get_slot(PEOPLE_SLOT) or ""),
        "contact": (
            form.piece("contact_phone", phone=form.phone_as_read(phone))
            if phone
            else form.piece("contact_chat")
        ),
    }


class ValidateHelpRequestForm(FormValidationAction):
    """Each answer of the form: understood, or asked again with what was wrong. "Hủy" (or
    "thôi", "/stop"…) at any question ends the form with nothing stored."""

    def name(self) -> str:
        return "validate_help_request_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        asked = tracker.get_slot(REQUESTED_SLOT)
        if not asked:
            # The form starting: nothing was answered yet. (Rasa hands over the slots the
            # start action reset as candidates; the message that started the form is no
            # answer to them, and needs pre-filled from a triage are valid already.)
            return []
        said = str((tracker.latest_message or {}).get("text") or "")  # "/stop" included
        if asked and (choice_of(tracker) == CANCEL or form.is_cancel(said)):
            return [
                SlotSet(str(asked), None),
                SlotSet(CONFIRM_SLOT, CANCELLED),
                SlotSet(REQUESTED_SLOT, None),
                ActiveLoop(None),
            ]
        return await super().run(dispatcher, tracker, domain)

    async def validate_help_request_needs(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if isinstance(value, list) and value and set(value) <= set(NEEDS):
            return {NEEDS_SLOT: value}  # pre-filled from a triage when the form started
        picked = [n for n in tracker.get_slot(PICKED_SLOT) or () if n in NEEDS]
        choice = choice_of(tracker)
        if choice in NEEDS:  # one more need; the question is shown again with it chosen
            return {NEEDS_SLOT: None, PICKED_SLOT: [*picked, choice]}
        if choice == DONE or form.is_done(typed(tracker)):
            if picked:
                return {NEEDS_SLOT: picked}
            dispatcher.utter_message(response="utter_help_request_needs_none")
            return {NEEDS_SLOT: None}
        said = [n for n in form.needs_in(typed(tracker)) if n not in picked]
        if said:
            return {NEEDS_SLOT: [*picked, *said], PICKED_SLOT: [*picked, *said]}
        dispatcher.utter_message(response="utter_help_request_needs_unknown")
        return {NEEDS_SLOT: None}

    async def validate_help_request_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = typed(tracker)
        if not form.has_words(text):
            dispatcher.utter_message(response="utter_help_request_description_empty")
            return {DESCRIPTION_SLOT: None}
        description, trimmed = form.trim_description(text)
        if trimmed:
            dispatcher.utter_message(
                response="utter_help_request_description_trimmed", limit=f"{MAX_DESCRIPTION:,}"
            )
        danger = assess(description, thresholds())
        if danger.level == EMERGENCY:
            dispatcher.utter_message(
                response="utter_help_request_danger", reasons=", ".join(danger.reasons())
            )
        return {DESCRIPTION_SLOT: description}

    async def validate_help_request_place(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        pressed = next(tracker.get_latest_entity_values(PLACE_SLOT), None)
        text = typed(tracker)
        place = understand(
            text,
            province=settings().province,
            typed=[str(v) for v in tracker.get_latest_entity_values("location")],
            pressed=str(pressed) if pressed else None,
            alone=True,  # the whole answer names the place
        )
        area = place.area if place.said_now else None
        if area is not None and len(area.commune_codes) == 1:
            key = f"c:{area.commune_codes[0]}"
            return {PLACE: key, PLACE_SLOT: area.key}
        if area is not None:  # a province, or an old district now split between communes
            codes = () if area.is_province else area.commune_codes
            communes = [a for a in (from_key(f"c:{code}") for code in codes) if a]
            few = len(communes) <= MAX_PLACE_BUTTONS
            buttons = [place_button(a) for a in communes] if few else []
            dispatcher.utter_message(
                response="utter_help_request_place_commune", place=area.name, buttons=buttons
            )
        elif place.choices:
            dispatcher.utter_message(
                response="utter_help_request_place_which",
                typed=place.typed or text,
                buttons=[place_button(a) for a in place.choices[:MAX_PLACE_BUTTONS]],
            )
        elif form.has_words(text):
            dispatcher.utter_message(
                response="utter_help_request_place_unknown", typed=place.typed or text.strip()
            )
        return {PLACE: None}

    async def validate_help_request_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = typed(tracker).strip()
        if choice_of(tracker) == SKIP or form.is_skip(text):
            return {ADDRESS_SLOT: ""}
        if not form.has_words(text):
            return {ADDRESS_SLOT: None}
        if len(text) > MAX_ADDRESS:
            dispatcher.utter_message(response="utter_help_request_address_long", limit=MAX_ADDRESS)
            return {ADDRESS_SLOT: None}
        return {ADDRESS_SLOT: " ".join(text.split())}

    async def validate_help_request_people(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        count = form.people_count(typed(tracker))
        if count is None:
            dispatcher.utter_message(response="utter_help_request_people_again", max=MAX_PEOPLE)
        return {PEOPLE_SLOT: count}

    async def validate_help_request_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        choice, text = choice_of(tracker), typed(tracker)
        number = phones.parse(text).number if text else None
        if number is not None:  # a number given straight away: that is a yes
            return {CONSENT_SLOT: True, PHONE_SLOT: number}
        agreed = {YES: True, NO: False}.get(choice or "", form.yes_no(text))
        if agreed is None:
            dispatcher.utter_message(response="utter_help_request_consent_again")
            return {CONSENT_SLOT: None}
        if not agreed:  # Decree 13/2023: no number is asked for, none is kept
            dispatcher.utter_message(response="utter_help_request_no_phone")
            return {CONSENT_SLOT: False, PHONE_SLOT: ""}
        return {CONSENT_SLOT: True, PHONE_SLOT: None}

    async def validate_help_request_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = typed(tracker)
        if choice_of(tracker) == NO_PHONE or form.is_no_phone(text):
            # No number: only without consent to be called, so consent becomes "no".
            dispatcher.utter_message(response="utter_help_request_no_phone")
            return {PHONE_SLOT: "", CONSENT_SLOT: False}
        parsed = phones.parse(text)
        if parsed.number is None:
            log.info("help request phone refused: %s", parsed.reason)  # never the number
            dispatcher.utter_message(
                response="utter_help_request_phone_again", problem=form.phone_problem(parsed.reason)
            )
            return {PHONE_SLOT: None}
        if parsed.converted:
            dispatcher.utter_message(
                response="utter_help_request_phone_converted",
                phone=form.phone_as_read(parsed.number),
            )
        return {PHONE_SLOT: parsed.number}

    async def validate_help_request_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        choice = choice_of(tracker)
        if choice == SEND or (choice is None and form.yes_no(typed(tracker)) is True):
            return {CONFIRM_SLOT: SEND}
        field = (choice or "").removeprefix("edit_")
        if field in EDITS:  # ask that field again, then read the summary back again
            return {CONFIRM_SLOT: None, **dict.fromkeys(EDITS[field])}
        dispatcher.utter_message(response="utter_help_request_confirm_again")
        return {CONFIRM_SLOT: None}


class ActionSubmitHelpRequest(Action):
    """After the form: store the confirmed request (committed before the reply), or say that
    nothing was sent. A "Gửi yêu cầu" pressed again finds the same key: the same request."""

    def name(self) -> str:
        return "action_submit_help_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        confirm, key = tracker.get_slot(CONFIRM_SLOT), tracker.get_slot(KEY_SLOT)
        if confirm == CANCELLED:
            dispatcher.utter_message(response="utter_help_request_cancelled")
            return [SlotSet(slot, None) for slot in FORM_SLOTS]
        # Right after the form, or a button pressed later: only "Gửi yêu cầu" again (the same
        # key: the request already filed is told again, nothing new is stored).
        pressed_late = tracker.latest_action_name == "action_listen" and choice_of(tracker) != SEND
        if confirm != SEND or not key or pressed_late:
            dispatcher.utter_message(response="utter_help_request_nothing_to_send")
            return []
        try:
            draft = requests.draft(
                needs=tracker.get_slot(NEEDS_SLOT) or (),
                description=str(tracker.get_slot(DESCRIPTION_SLOT) or ""),
                commune_code=int(str(tracker.get_slot(PLACE)).removeprefix("c:")),
                address_detail=tracker.get_slot(ADDRESS_SLOT),
                people_count=int(tracker.get_slot(PEOPLE_SLOT) or 0),
                phone=tracker.get_slot(PHONE_SLOT) or None,
                consent=bool(tracker.get_slot(CONSENT_SLOT)),
            )
        except (InvalidRequest, ValueError) as error:  # a slot changed outside the form
            log.info("help request not filed: %s", getattr(error, "field", "place"))
            dispatcher.utter_message(response="utter_help_request_nothing_to_send")
            return [SlotSet(slot, None) for slot in FORM_SLOTS]
        level = form.urgency_of(
            triaged=[fresh_triage(tracker)],
            description=draft.description,
            needs=draft.needs,
            people=draft.people_count,
            thresholds=thresholds(),
        )
        channel, _, external_id = tracker.sender_id.partition(":")

        def file(session: Session) -> tuple[str, str]:
            account = account_for(session=session, channel=channel, external_id=external_id)
            session.commit()
            filed = requests.create(
                session=session,
                account_id=account.id,
                client_key=str(key),
                request=draft,
                level=level,
            )
            return filed.outcome, filed.request.code

        try:
            outcome, code = await db(file)  # ``create`` commits before returning
        except (SQLAlchemyError, RuntimeError) as error:
            log.warning("help request not stored: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_help_request_not_sent")
            return []
        log.info("help request %s: %s, urgency %s", outcome, code, level.level)
        if outcome == requests.LINKED:
            dispatcher.utter_message(response="utter_help_request_linked", code=code)
        elif outcome == requests.REPLAYED:
            dispatcher.utter_message(response="utter_help_request_replayed", code=code)
        else:
            place = commune_of(tracker.get_slot(PLACE))
            contact = (
                form.piece("by_phone", phone=form.phone_as_read(draft.phone))
                if draft.phone
                else form.piece("by_chat")
            )
            dispatcher.utter_message(
                response="utter_help_request_filed",
                code=code,
                place=place.name if place else "",
                contact=contact,
            )
        return []


class ActionTellRequestStatus(Guarded):
    """The status of the person's request by its code, or of their latest; only their own
    (on any of their channel accounts): another person's code reads as an unknown one."""

    def name(self) -> str:
        return "action_tell_request_status"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, intent: str
    ) -> list[EventType]:
        code = form.find_code(str((tracker.latest_message or {}).get("text") or ""))
        channel, _, external_id = tracker.sender_id.partition(":")

        def look(session: Session) -> requests.RequestStatus | None:
            account = find_account(session=session, channel=channel, external_id=external_id)
            if account is None:
                return None
            return requests.status_for(session=session, person_id=account.person_id, code=code)

        found = await db(look)
        if found is None:
            if code:
                dispatcher.utter_message(
                    response="utter_help_request_status_unknown_code", code=code
                )
            else:
                dispatcher.utter_message(response="utter_help_request_status_none")
            return []
        dispatcher.utter_message(
            response="utter_help_request_status",
            code=found.code,
            needs=form.needs_text(found.needs),
            created=moment(found.created_at),
            status=form.status_text(found.status),
            changed=moment(found.status_changed_at),
        )
        if found.last_message and found.last_message_at:
            dispatcher.utter_message(
                response="utter_help_request_status_message",
                at=moment(found.last_message_at),
                message=found.last_message,
            )
        return []
