"""Announcements for a person's areas (``bot.alerts.subscriptions``).

``subscribe_alerts``: the place named now (an old district or a split unit → its current
communes as buttons, "Cả N xã, phường" first), or the remembered one ("Đúng, ở …" first), or
asked. Loa says what will come and asks; only "Đồng ý" (or "đồng ý" typed right after)
subscribes, and the consent time is stored. ``unsubscribe_alerts`` (also "STOP", "HỦY",
"/stop", which the gateway turns into it): one area, or all; with several, Loa asks which.
``ask_subscriptions``: the person's areas. ``start_chat`` (Telegram /start, a Zalo OA follow):
the greeting, and the offer to whoever has no subscription yet.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions.base import TOPIC_SLOT, PlaceAction, ask_which
from actions.common import PLACE_SLOT, Message, asked, db, pressed, write
from actions.guard import Guarded
from bot import places, wording
from bot.alerts import subscriptions
from bot.alerts.subscriptions import AreaCode
from bot.clock import utcnow
from bot.content.areas import Area, Asked, from_key
from bot.storage.alerts import Subscription
from bot.storage.conversations import account_for, find_account

log = logging.getLogger(__name__)

TOPIC = "subscribe_alerts"  # the question waiting for a place (slot place_topic)
OFFER_SLOT = "subscription_offer"  # the place key Loa asked consent for
# Buttons carry short payloads: Telegram's callback data holds 64 bytes, and a longer one
# would arrive as the button's title. "Đồng ý" is ``subscription_choose`` with the place
# (``place_code``); "Không" and "Nơi khác" carry ``subscription_choice``; "Cả N xã, phường"
# and one commune are ``subscribe_alerts`` with the place; "Đúng, ở …" is ``inform_place``.
CHOICE = "subscription_choice"
AREA = "subscription_area"  # entity of the unsubscribe buttons: a subscription's area key
NO, OTHER, ALL = "no", "other", "all"
AFFIRM, DENY, INFORM_PLACE = "affirm", "deny", "inform_place"
MAX_UNIT_BUTTONS = 10  # communes offered one by one for an old unit (Zalo shows 5, lists the rest)


def piece(key: str, **values: object) -> str:
    return wording.table("subscription")[key].format(**values)


def button(title: str, intent: str, **entities: str) -> dict[str, str]:
    payload = f"/{intent}" + (json.dumps(entities, separators=(",", ":")) if entities else "")
    return {"title": title, "payload": payload}


def codes_of(area: Area) -> list[AreaCode]:
    """The subscription areas an answer names: each current unit (a commune or a province)."""
    return [
        AreaCode(u.code) if u.level == "province" else AreaCode(u.province_code, u.code)
        for u in area.units
    ]


def code_of(row: Subscription) -> AreaCode:
    return AreaCode(row.province_code, row.commune_code)


def place_key(code: AreaCode) -> str:
    """The place key (``bot.places.lookup``) of a subscription area, for a button."""
    if code.commune_code is None:
        return f"p:{code.province_code}"
    return f"c:{code.commune_code}"


def name_of(code: AreaCode) -> str:
    """An area as people read it: "Xã Đồng Đăng, Tỉnh Lạng Sơn", "Tỉnh Lạng Sơn"."""
    try:
        if code.commune_code is None:
            return places.get(code.province_code, level="province").name
        unit = places.get(code.commune_code)
    except KeyError:  # a unit gone from the place data: still name something
        return code.key
    return f"{unit.name}, {unit.province_name}"


def listed(codes: list[AreaCode]) -> str:
    """Areas in a sentence: "A", "A và B", "A, B và C"."""
    names = [name_of(c) for c in codes]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + piece("and") + names[-1]


def lines(codes: list[AreaCode]) -> str:
    return "\n".join(piece("area_line", name=name_of(c)) for c in codes)


def sender(tracker: Tracker) -> tuple[str, str]:
    channel, _, external_id = tracker.sender_id.partition(":")
    return channel, external_id


def subscribed(session: Session, tracker: Tracker) -> list[AreaCode]:
    """The person's current areas (on every channel of theirs), oldest first."""
    account = find_account(
        session=session, channel=sender(tracker)[0], external_id=sender(tracker)[1]
    )
    if account is None:
        return []
    return [
        code_of(row) for row in subscriptions.active(session=session, person_id=account.person_id)
    ]


def ask_place(dispatcher: CollectingDispatcher) -> list[EventType]:
    dispatcher.utter_message(response="utter_subscription_ask_place")
    return [SlotSet(TOPIC_SLOT, TOPIC), SlotSet(OFFER_SLOT, None)]


class ActionOfferSubscription(PlaceAction):
    """Which place, then what will come and the consent buttons; nothing is stored here."""

    topic = TOPIC

    def name(self) -> str:
        return "action_offer_subscription"

    def compose(self, session: Session, area: Area | None, tracker: Tracker) -> list[Message]:
        return []  # ``answer`` says everything: the offer depends on more than the place

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, place: Asked
    ) -> list[EventType]:
        if place.unknown and place.typed:
            dispatcher.utter_message(response="utter_place_unknown", typed=place.typed)
            return ask_place(dispatcher)
        if place.area is None and place.choices:
            ask_which(dispatcher, place)
            return [SlotSet(TOPIC_SLOT, TOPIC), SlotSet(OFFER_SLOT, None)]
        area = place.area
        if area is None:
            return ask_place(dispatcher)
        if not place.said_now:  # the remembered place: is it the one? ("Đúng" answers it)
            short = area.old_name or area.units[0].name
            dispatcher.utter_message(
                response="utter_subscription_remembered",
                place=area.name,
                buttons=[
                    button(
                        piece("remembered", place=short), INFORM_PLACE, **{PLACE_SLOT: area.key}
                    ),
                    button(piece("elsewhere"), "subscription_choose", **{CHOICE: OTHER}),
                ],
            )
            return [SlotSet(TOPIC_SLOT, TOPIC), SlotSet(OFFER_SLOT, None)]
        done = [SlotSet(TOPIC_SLOT, None), SlotSet(PLACE_SLOT, area.key)]
        if len(area.units) > 1 and not all_chosen(tracker):
            self.ask_units(dispatcher, area)
            return [*done, SlotSet(OFFER_SLOT, None)]
        codes = codes_of(area)
        have = set(await db(lambda session: subscribed(session, tracker)))
        if have.issuperset(codes):
            dispatcher.utter_message(response="utter_subscription_already", areas=listed(codes))
            return [*done, SlotSet(OFFER_SLOT, None)]
        if area.old_name and len(area.units) == 1:
            dispatcher.utter_message(
                response="utter_place_now_part_of", old=area.old_name, now=area.units[0].name
            )
        consent = [
            button(piece("agree"), "subscription_choose", **{PLACE_SLOT: area.key}),
            button(piece("refuse"), "subscription_choose", **{CHOICE: NO}),
        ]
        if area.is_province:
            dispatcher.utter_message(response="utter_subscription_offer", areas=listed(codes))
            dispatcher.utter_message(response="utter_subscription_province_hint", buttons=consent)
        else:
            dispatcher.utter_message(
                response="utter_subscription_offer", areas=listed(codes), buttons=consent
            )
        return [*done, SlotSet(OFFER_SLOT, area.key)]

    @staticmethod
    def ask_units(dispatcher: CollectingDispatcher, area: Area) -> None:
        """An old unit that is several communes now: all of them, or one."""
        units = area.units
        choices = [button(piece("all_units", count=len(units)), TOPIC, **{PLACE_SLOT: area.key})]
        choices += [
            button(u.name, TOPIC, **{PLACE_SLOT: places.place_key(u)})
            for u in units[:MAX_UNIT_BUTTONS]
        ]
        dispatcher.utter_message(
            response="utter_subscription_which_units",
            place=area.name,
            count=len(units),
            units=", ".join(u.name for u in units),
            buttons=choices,
        )


def intent_of(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def all_chosen(tracker: Tracker) -> bool:
    """ "Cả N xã, phường" (or "Đăng ký lại"): a place pressed with ``subscribe_alerts`` itself
    means every unit of it; pressed with ``inform_place`` (which one? is it this one?) the
    units are offered one by one."""
    return intent_of(tracker) == TOPIC and pressed(tracker, PLACE_SLOT) is not None


def consented_key(tracker: Tracker) -> str | None:
    """The place the person agreed to: the "Đồng ý" button's, or the offer's for a typed yes."""
    if pressed(tracker, CHOICE) is None and (key := pressed(tracker, PLACE_SLOT)):
        return key
    if pressed(tracker, CHOICE) is None and intent_of(tracker) == AFFIRM:
        offer = tracker.get_slot(OFFER_SLOT)
        return str(offer) if offer else None
    return None


class ActionSubscribeAlerts(Action):
    """The answer to the offer: subscribe on a yes (consent time = now), nothing on a no."""

    def name(self) -> str:
        return "action_subscribe_alerts"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        choice = pressed(tracker, CHOICE)
        if choice == OTHER:
            return ask_place(dispatcher)
        if choice == NO or (choice is None and intent_of(tracker) == DENY):
            dispatcher.utter_message(response="utter_subscription_declined")
            return [SlotSet(OFFER_SLOT, None)]
        area = from_key(consented_key(tracker))
        if area is None:  # a yes to nothing on offer
            return ask_place(dispatcher)
        codes = codes_of(area)
        channel, external_id = sender(tracker)

        def subscribe(session: Session) -> None:
            account = account_for(session=session, channel=channel, external_id=external_id)
            subscriptions.subscribe(
                session=session, account_id=account.id, areas=codes, now=utcnow()
            )

        try:
            await write(subscribe)
        except (SQLAlchemyError, LookupError) as error:
            log.warning("subscription not stored: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_subscription_failed")
            return []
        log.info("subscribed to %d areas", len(codes))
        dispatcher.utter_message(response="utter_subscription_done", areas=listed(codes))
        return [SlotSet(OFFER_SLOT, None), SlotSet(PLACE_SLOT, area.key)]


@dataclass
class Ending:
    """What an unsubscribe request comes to: ended, still active, or a question to ask."""

    ended: list[AreaCode] = field(default_factory=list)
    left: list[AreaCode] = field(default_factory=list)
    ask: list[AreaCode] = field(default_factory=list)  # several: which one? (buttons)
    not_there: str | None = None  # the place they named, which they do not receive


def chosen_areas(have: list[AreaCode], chosen: str | None, named: Area | None) -> Ending | None:
    """Which of ``have`` to end: a button's area (or all), the place named, the only one; None
    when the person has to choose."""
    if chosen == ALL:
        return Ending(ended=have)
    if chosen is not None:
        picked = [c for c in have if c.key == chosen]
        return Ending(ended=picked, left=[c for c in have if c not in picked]) if picked else None
    if named is not None:
        keys = {c.key for c in codes_of(named)}
        picked = [c for c in have if c.key in keys]
        if picked:
            return Ending(ended=picked, left=[c for c in have if c not in picked])
        return Ending(ask=have, not_there=named.name)
    if len(have) == 1:
        return Ending(ended=have)
    return None


class ActionUnsubscribeAlerts(Guarded):
    """End one area or all; with several and nothing said, ask which (with "Tất cả")."""

    def name(self) -> str:
        return "action_unsubscribe_alerts"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, intent: str
    ) -> list[EventType]:
        chosen = pressed(tracker, AREA)
        place = asked(tracker)
        named = place.area if place.said_now and chosen is None else None
        channel, external_id = sender(tracker)

        def end(session: Session) -> Ending | None:
            account = find_account(session=session, channel=channel, external_id=external_id)
            if account is None:
                return Ending()
            rows = subscriptions.active(session=session, person_id=account.person_id)
            have = [code_of(row) for row in rows]
            ending = chosen_areas(have, chosen, named) if have else Ending()
            if ending is None:
                return Ending(ask=have)
            if ending.ended:
                subscriptions.unsubscribe(
                    session=session, person_id=account.person_id, now=utcnow(), areas=ending.ended
                )
            return ending

        try:
            ending = await write(end)
        except SQLAlchemyError as error:
            log.warning("unsubscribe failed: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_subscription_failed")
            return []
        assert ending is not None
        if ending.ask:
            if ending.not_there:
                dispatcher.utter_message(
                    response="utter_unsubscribe_not_there", place=ending.not_there
                )
            buttons = [
                button(name_of(c), "unsubscribe_choose", **{AREA: c.key}) for c in ending.ask
            ]
            buttons.append(button(piece("all"), "unsubscribe_choose", **{AREA: ALL}))
            dispatcher.utter_message(response="utter_unsubscribe_which", buttons=buttons)
            return []
        if not ending.ended:
            dispatcher.utter_message(response="utter_subscription_none")
            return []
        log.info("unsubscribed from %d areas", len(ending.ended))
        one = ending.ended[0] if len(ending.ended) == 1 else None
        entities = {PLACE_SLOT: place_key(one)} if one else {}
        again = [button(piece("again"), TOPIC, **entities)]
        if ending.left:
            dispatcher.utter_message(response="utter_unsubscribe_done", areas=listed(ending.ended))
            dispatcher.utter_message(
                response="utter_unsubscribe_still", areas=listed(ending.left), buttons=again
            )
        else:
            dispatcher.utter_message(
                response="utter_unsubscribe_done", areas=listed(ending.ended), buttons=again
            )
        return [SlotSet(OFFER_SLOT, None)]


class ActionListSubscriptions(Guarded):
    """ "Tôi đang nhận tin ở đâu?": the person's areas and how to stop, or that there are none."""

    def name(self) -> str:
        return "action_list_subscriptions"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, intent: str
    ) -> list[EventType]:
        have = await db(lambda session: subscribed(session, tracker))
        if have:
            dispatcher.utter_message(response="utter_subscription_list", areas=lines(have))
        else:
            dispatcher.utter_message(response="utter_subscription_none")
        return []


class ActionStartChat(Action):
    """Telegram /start, a Zalo OA follow: the greeting and the menu, then the offer to receive
    announcements (not to someone who already does)."""

    def name(self) -> str:
        return "action_start_chat"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_greet")
        dispatcher.utter_message(response="utter_menu")
        try:
            have = await db(lambda session: subscribed(session, tracker))
        except SQLAlchemyError as error:  # the greeting matters more than the offer
            log.warning("subscriptions not read: %s", type(error).__name__)
            have = []
        if not have:
            dispatcher.utter_message(response="utter_subscription_invite")
        return []
