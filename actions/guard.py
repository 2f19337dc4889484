"""Before any intent answers: is it the right answer? (``bot.content.bank.route`` decides.)

Every action Rasa predicts for a person's message is ``Guarded``: it asks the router first and
answers its own intent only when the router says so. Otherwise the message gets the emergency
line (a danger sign always wins), an entry of the question bank, "Loa chỉ hiểu tiếng Việt", or
an honest "Loa chưa biết" with the menu — and that question is kept for the content team.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.common import (
    PLACE_SLOT,
    Message,
    asked,
    cite,
    db,
    hotline_lines,
    info_messages,
    settings,
    write,
)
from bot import wording
from bot.clock import utcnow
from bot.content.areas import Area
from bot.content.bank import store as bank
from bot.content.bank.index import Hit
from bot.content.bank.route import ASK, BANK, DANGER, FOREIGN, INTENT, WHICH, Route, decide
from bot.content.triage import EMERGENCY, URGENT, Thresholds, Triage, assess
from bot.helpdesk import form
from bot.storage.content import HOME_CARE, SEEK_CARE, BankEntry
from bot.storage.questions import UNKNOWN, record

ENTRY_SLOT = "answer_key"  # entity of the buttons that choose or rate a bank entry
RATING = "rating"
CHOOSE, RATE = "/choose_answer", "/rate_answer"

# The action that answers each intent when the router picks it on behalf of another action
# (Rasa's fallback or out_of_scope predicted ``action_answer_question``).
INTENT_ACTIONS = {
    "ask_lockdown_status": "action_tell_lockdown_status",
    "ask_alert_level": "action_tell_alert_level",
    "ask_prevention": "action_tell_prevention",
    "ask_symptoms": "action_tell_symptoms",
    "report_symptoms": "action_triage_symptoms",
    "ask_support_scheme": "action_list_support_schemes",
    "ask_hotline": "action_list_hotlines",
    "inform_place": "action_answer_place",
    "request_help": "action_start_help_request",
    "check_request_status": "action_tell_request_status",
    "report_false_info": "action_start_false_info",
    "forget_me": "action_ask_forget_me",
    "subscribe_alerts": "action_offer_subscription",
    "unsubscribe_alerts": "action_unsubscribe_alerts",
    "ask_subscriptions": "action_list_subscriptions",
}
STATUS_INTENT = "check_request_status"
# The last triage, {"text": the message, "at": ISO time}: a help request started soon after
# takes its needs and urgency from it (actions/help_request.py).
TRIAGE_SLOT = "symptoms_triage"
REPLY_ACTION = "action_reply"  # every intent answered by fixed responses (actions/reply.py)
# How a topic is named on a button (as on the menu).
TOPIC_TITLES = {
    "ask_lockdown_status": "Khu vực phong tỏa",
    "ask_alert_level": "Cấp độ dịch",
    "ask_prevention": "Cách phòng bệnh",
    "ask_symptoms": "Triệu chứng bệnh",
    "ask_support_scheme": "Chính sách hỗ trợ",
    "ask_hotline": "Số đường dây nóng",
    "request_help": "Tôi cần giúp đỡ",
    "subscribe_alerts": "Nhận thông báo khu vực",
    "check_request_status": "Yêu cầu giúp đỡ của tôi",
    "ask_subscriptions": "Khu vực tôi đang theo dõi",
    "forget_me": "Xóa dữ liệu của tôi",
    "report_false_info": "Báo tin sai sự thật",
}


def thresholds() -> Thresholds:
    return Thresholds.from_settings(settings())


def text_of(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


def ranking_of(tracker: Tracker) -> list[tuple[str, float]]:
    """Rasa's intents for the latest message with their confidence, best first."""
    message = tracker.latest_message or {}
    ranking = [
        (str(item.get("name")), float(item.get("confidence") or 0.0))
        for item in message.get("intent_ranking") or ()
    ]
    top = message.get("intent") or {}
    if not ranking and top.get("name"):
        ranking = [(str(top["name"]), float(top.get("confidence") or 0.0))]
    return ranking


async def route_of(tracker: Tracker) -> Route:
    text = text_of(tracker)
    if not text.lstrip().startswith("/") and form.find_code(text):
        return Route(INTENT, STATUS_INTENT)  # a request code ("HT-26-000123") asks its status
    place = asked(tracker)
    named = place.said_now or place.unknown

    def work(session: Session) -> Route:
        now, province = utcnow(), settings().province

        def search(words: str) -> list[Hit]:
            return bank.search(session, words, at=now, province=province)

        return decide(
            text,
            ranking_of(tracker),
            search(text),
            place=named,
            search=search,
            thresholds=thresholds(),
        )

    return await db(work)


class Guarded(Action, ABC):
    """An action that answers its intent only when the router agrees (see the module)."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        route = await route_of(tracker)
        if route.kind != INTENT:
            return await answer_route(dispatcher, tracker, route)
        status_action = INTENT_ACTIONS[STATUS_INTENT]
        if route.intent == STATUS_INTENT and self.name() != status_action:
            return [FollowupAction(status_action)]  # a code Rasa took for something else
        return await self.respond(dispatcher, tracker, domain, route.intent or "")

    @abstractmethod
    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, intent: str
    ) -> list[EventType]:
        """The intent's own answer."""


async def answer_route(
    dispatcher: CollectingDispatcher, tracker: Tracker, route: Route
) -> list[EventType]:
    """Say what the router chose instead of the predicted action's answer."""
    text = text_of(tracker)
    if route.kind == DANGER:
        return await triage(dispatcher, tracker)
    if route.kind == FOREIGN:
        dispatcher.utter_message(response="utter_bank_foreign")
        return []
    if route.kind == WHICH:
        buttons = [{"title": TOPIC_TITLES[i], "payload": f"/{i}"} for i in route.choices]
        dispatcher.utter_message(response="utter_bank_which", buttons=buttons)
        return _place_kept(tracker)
    if route.kind == ASK:
        dispatcher.utter_message(
            response="utter_bank_ask", buttons=await db(lambda s: ask_buttons(s, route))
        )
        return _place_kept(tracker)
    if route.kind == BANK and route.entry:
        alternatives = [hit.key for hit in route.hits[1:]]
        for message in await db(lambda s: bank_answer(s, str(route.entry), alternatives)):
            dispatcher.utter_message(**message)
        return []
    if route.kind == INTENT and route.intent:  # only from action_answer_question
        return [FollowupAction(INTENT_ACTIONS.get(route.intent, REPLY_ACTION))]
    await write(lambda s: record(text, UNKNOWN, at=utcnow(), session=s))
    dispatcher.utter_message(response="utter_bank_unknown")
    return []


def _place_kept(tracker: Tracker) -> list[EventType]:
    """Before topic buttons: the place named now answers the button too."""
    area = asked(tracker).area
    return [SlotSet(PLACE_SLOT, area.key)] if area is not None else []


def _button(title: str, intent: str, **entities: str) -> dict[str, str]:
    return {"title": title, "payload": intent + json.dumps(entities, separators=(",", ":"))}


def bank_answer(session: Session, key: str, alternatives: list[str]) -> list[Message]:
    """An entry's answer with its source, then the close alternatives as buttons or, when
    there are none, the 👍/👎 question."""
    found = bank.entry(session, key)
    if found is None:  # removed between the search and now
        return [{"response": "utter_bank_unknown"}]
    messages: list[Message] = [_entry_message(found)]
    others = [e for e in (bank.entry(session, k) for k in alternatives) if e is not None]
    if others:
        buttons = [_button(e.questions[0], CHOOSE, **{ENTRY_SLOT: e.key}) for e in others]
        messages.append({"response": "utter_bank_also", "buttons": buttons})
    else:
        messages.append({"response": "utter_bank_feedback", "buttons": feedback_buttons(key)})
    return messages


def ask_buttons(session: Session, route: Route) -> list[dict[str, str]]:
    """A question back's choices: the entries (by their first phrasing), the topics, and
    "none of these" (a choose_answer without a key: Loa then says it does not know)."""
    entries = [e for e in (bank.entry(session, h.key) for h in route.hits) if e is not None]
    buttons = [_button(e.questions[0], CHOOSE, **{ENTRY_SLOT: e.key}) for e in entries]
    buttons += [{"title": TOPIC_TITLES[i], "payload": f"/{i}"} for i in route.choices]
    buttons.append({"title": wording.phrase("none_of_these"), "payload": CHOOSE})
    return buttons


def feedback_buttons(key: str) -> list[dict[str, str]]:
    return [
        _button("👍 Có", RATE, **{ENTRY_SLOT: key, RATING: "up"}),
        _button("👎 Chưa", RATE, **{ENTRY_SLOT: key, RATING: "down"}),
    ]


def _entry_message(found: BankEntry) -> Message:
    return {
        "response": "utter_bank_answer",
        "answer": found.answer.strip(),
        "source": cite(found.source),
        "unconfirmed": "" if found.confirmed else wording.phrase("unconfirmed_answer"),
    }


async def triage(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Someone is ill now: danger signs → call 115, first and unmistakably; otherwise care
    advice. Reads the numbers people give (SpO2, temperature, breaths); never a diagnosis.
    The triaged message is remembered (``TRIAGE_SLOT``) for a help request that follows."""
    found = assess(text_of(tracker), thresholds())
    reasons = ", ".join(found.reasons())
    reasons = reasons[:1].upper() + reasons[1:]  # it opens a sentence
    if found.level == EMERGENCY:
        dispatcher.utter_message(response="utter_triage_emergency", reasons=reasons)
    elif found.level == URGENT:
        risk = ", ".join(found.risk_labels() + found.reasons())
        dispatcher.utter_message(response="utter_triage_urgent", reasons=risk)
    else:
        dispatcher.utter_message(response="utter_triage_home_care")
    area = asked(tracker).area
    for message in await db(lambda session: advice(session, found, area)):
        dispatcher.utter_message(**message)
    dispatcher.utter_message(response="utter_triage_disclaimer")
    if found.level == EMERGENCY:  # last: its button closes the one message people get
        dispatcher.utter_message(response="utter_triage_offer_help")
    return [SlotSet(TRIAGE_SLOT, {"text": text_of(tracker), "at": utcnow().isoformat()})]


def advice(session: Session, found: Triage, area: Area | None) -> list[Message]:
    """What follows the first message: care at home, when to seek care, local numbers."""
    messages: list[Message] = []
    if found.level == EMERGENCY:
        lines, local = hotline_lines(session, area)
        if local:
            messages += [{"response": "utter_triage_local_hotlines"}, *lines]
        return messages
    topics = (SEEK_CARE, HOME_CARE) if found.level == URGENT else (HOME_CARE, SEEK_CARE)
    messages += info_messages(session, topics, area)
    messages.append({"response": "utter_triage_watch", "spo2": thresholds().spo2_below})
    return messages
