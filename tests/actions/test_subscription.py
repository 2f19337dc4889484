"""Subscribing in the conversation, through the actions against a real database: a named, a
remembered, an old-district and a province place; nothing stored without "Đồng ý"; one area
or all ended; "STOP" outside a form and "hủy" inside one; "tôi đang nhận tin ở đâu?"; the
offer when a chat starts."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.false_info import ValidateFalseInfoForm
from actions.place import ActionAnswerPlace
from actions.subscription import (
    ActionListSubscriptions,
    ActionOfferSubscription,
    ActionStartChat,
    ActionSubscribeAlerts,
    ActionUnsubscribeAlerts,
)
from bot import places
from bot.clock import utcnow
from bot.gateway import stop_command
from bot.storage.alerts import ASKED, Subscription
from bot.storage.conversations import ChannelAccount
from bot.storage.engine import sessions
from tests.actions.conftest import DOMAIN, Said, responses

DATABASES = ("sqlite", "postgresql")
pytestmark = pytest.mark.usefixtures("content_db")


ME = "telegram:31"
DONG_DANG, TAM_THANH, LANG_SON = "c:6184", "c:5986", "p:20"
CAO_LOC_OLD = "od:183"  # huyện Cao Lộc before 2025: eight communes now


def message(
    text: str,
    *,
    intent: str,
    entities: dict[str, str] | None = None,
    slots: dict[str, Any] | None = None,
    sender: str = ME,
    loop: str | None = None,
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "intent_ranking": [{"name": intent, "confidence": 1.0}],
        "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
    }
    active = {"name": loop} if loop else {}
    return Tracker(sender, slots or {}, latest, [], False, None, active, "action_listen")


def press(payload: str, **slots: Any) -> Tracker:
    """A button: its payload as the text, its entities as Rasa reads them. Every payload fits
    Telegram's 64 bytes of callback data (a longer one would arrive as the button's title)."""
    assert len(payload.encode()) <= 64, payload
    intent, _, body = payload.removeprefix("/").partition("{")
    entities = json.loads("{" + body) if body else {}
    return message(payload, intent=intent, entities=entities, slots=slots)


async def act(action: Action, tracker: Tracker) -> Said:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, DOMAIN)
    said = Said(dispatcher.messages, [dict(e) for e in events])
    too_long = [b["payload"] for b in said.buttons() if len(b["payload"].encode()) > 64]
    assert too_long == [], "Telegram's callback data holds 64 bytes"
    return said


def rows(database_url: str, *, active: bool = True) -> list[tuple[str, str | None]]:
    """Every subscription: (area key, why it ended), in the order they were made."""
    with sessions(database_url)() as session:
        found = session.scalars(select(Subscription).order_by(Subscription.id)).all()
        return [(r.area_key, r.end_reason) for r in found if not active or r.ended_at is None]


def yes_button(said: Said) -> str:
    [agree] = [b for b in said.buttons() if b["title"] == "Đồng ý"]
    return agree["payload"]


async def subscribe(*keys: str, sender: str = ME) -> None:
    """Areas subscribed as the "Đồng ý" button does it."""
    for key in keys:
        yes = {"place_code": key}
        said = await act(
            ActionSubscribeAlerts(),
            message(
                "/subscription_choose", intent="subscription_choose", entities=yes, sender=sender
            ),
        )
        assert said.names == ["utter_subscription_done"]


async def test_a_named_place_is_offered_and_subscribed_only_after_the_yes(
    content_db: str,
) -> None:
    said = await act(
        ActionOfferSubscription(),
        message(
            "đăng ký nhận tin ở xã Đồng Đăng",
            intent="subscribe_alerts",
            entities={"location": "Đồng Đăng"},
        ),
    )
    assert said.names == ["utter_subscription_offer"]
    assert "Xã Đồng Đăng, Tỉnh Lạng Sơn" in said.text and "STOP" in said.text
    assert "21 giờ" in said.text  # what they will (not) receive at night
    assert [b["title"] for b in said.buttons()] == ["Đồng ý", "Không"]
    assert said.slot("subscription_offer") == DONG_DANG
    assert rows(content_db) == []  # an offer stores nothing
    before = utcnow()
    done = await act(ActionSubscribeAlerts(), press(yes_button(said)))
    assert done.names == ["utter_subscription_done"]
    assert "Xã Đồng Đăng" in done.text and "HỦY ĐĂNG KÝ" in done.text
    with sessions(content_db)() as session:
        [row] = session.scalars(select(Subscription)).all()
        account = session.get(ChannelAccount, row.account_id)
        assert account is not None and account.sender_id == ME
        assert (row.province_code, row.commune_code, row.ended_at) == (20, 6184, None)
        assert before - timedelta(seconds=1) <= row.consent_at <= utcnow()


@pytest.mark.parametrize("answer", ["button", "words"])
async def test_a_refused_consent_stores_nothing(content_db: str, answer: str) -> None:
    offer = await act(
        ActionOfferSubscription(),
        message("đăng ký nhận tin phường Tam Thanh", intent="subscribe_alerts"),
    )
    assert offer.slot("subscription_offer") == TAM_THANH
    slots = {"subscription_offer": TAM_THANH}
    no = (
        press('/subscription_choose{"subscription_choice":"no"}', **slots)
        if answer == "button"
        else message("không", intent="deny", slots=slots)
    )
    said = await act(ActionSubscribeAlerts(), no)
    assert said.names == ["utter_subscription_declined"]
    assert rows(content_db, active=False) == []


async def test_the_remembered_place_is_asked_about_first(content_db: str) -> None:
    said = await act(
        ActionOfferSubscription(),
        message("đăng ký nhận tin", intent="subscribe_alerts", slots={"place_code": TAM_THANH}),
    )
    assert said.names == ["utter_subscription_remembered"]
    right, elsewhere = said.buttons()
    assert right["title"] == "Đúng, ở Phường Tam Thanh"
    assert right["payload"] == '/inform_place{"place_code":"c:5986"}'
    assert said.slot("place_topic") == "subscribe_alerts"  # "Đúng" answers the offer's question
    offer = await act(ActionAnswerPlace(), press(right["payload"], place_topic="subscribe_alerts"))
    assert offer.names == ["utter_subscription_offer"]
    # "đồng ý" typed right after the offer answers it
    said = await act(
        ActionSubscribeAlerts(),
        message("đồng ý", intent="affirm", slots={"subscription_offer": TAM_THANH}),
    )
    assert said.names == ["utter_subscription_done"]
    assert rows(content_db) == [("c5986", None)]
    other = await act(ActionSubscribeAlerts(), press(elsewhere["payload"]))
    assert other.names == ["utter_subscription_ask_place"]
    assert other.slot("place_topic") == "subscribe_alerts"


async def test_an_old_district_offers_its_communes_all_or_one(content_db: str) -> None:
    said = await act(
        ActionOfferSubscription(),
        message("dang ky nhan tin huyen Cao Loc", intent="subscribe_alerts"),
    )
    assert said.names == ["utter_subscription_which_units"]
    units, _ = places.lookup(CAO_LOC_OLD)
    buttons = said.buttons()
    assert buttons[0]["title"] == f"Cả {len(units)} xã, phường"
    assert [b["title"] for b in buttons[1:]] == [u.name for u in units]
    assert rows(content_db) == []
    one = await act(ActionOfferSubscription(), press(buttons[2]["payload"]))
    assert one.names == ["utter_subscription_offer"] and units[1].name in one.text
    every = await act(ActionOfferSubscription(), press(buttons[0]["payload"]))
    assert every.names == ["utter_subscription_offer"]
    await act(ActionSubscribeAlerts(), press(yes_button(every)))
    assert sorted(rows(content_db)) == sorted((f"c{u.code}", None) for u in units)


async def test_a_province_is_offered_whole(content_db: str) -> None:
    said = await act(
        ActionOfferSubscription(),
        message("đăng ký nhận tin cả tỉnh Lạng Sơn", intent="subscribe_alerts"),
    )
    assert said.names == ["utter_subscription_offer", "utter_subscription_province_hint"]
    await act(ActionSubscribeAlerts(), press(yes_button(said)))
    assert rows(content_db) == [("p20", None)]
    again = await act(
        ActionOfferSubscription(),
        message("đăng ký nhận tin tỉnh Lạng Sơn", intent="subscribe_alerts"),
    )
    assert again.names == ["utter_subscription_already"]


async def test_no_place_is_asked_and_the_answer_continues_the_offer(content_db: str) -> None:
    said = await act(
        ActionOfferSubscription(), message("đăng ký nhận tin", intent="subscribe_alerts")
    )
    assert said.names == ["utter_subscription_ask_place"]
    assert said.slot("place_topic") == "subscribe_alerts"
    answer = await act(
        ActionAnswerPlace(),
        message("Tam Thanh", intent="inform_place", slots={"place_topic": "subscribe_alerts"}),
    )
    assert answer.names == ["utter_subscription_offer"] and "Phường Tam Thanh" in answer.text


async def test_an_unknown_place_is_said_so_and_asked_again(content_db: str) -> None:
    said = await act(
        ActionOfferSubscription(),
        message(
            "đăng ký nhận tin ở Xyzabc", intent="subscribe_alerts", entities={"location": "Xyzabc"}
        ),
    )
    assert said.names == ["utter_place_unknown", "utter_subscription_ask_place"]


async def test_one_area_is_ended_at_once_with_a_button_to_come_back(content_db: str) -> None:
    await subscribe(DONG_DANG)
    said = await act(ActionUnsubscribeAlerts(), press("/unsubscribe_alerts"))  # "STOP"
    assert said.names == ["utter_unsubscribe_done"] and "Xã Đồng Đăng" in said.text
    [again] = said.buttons()
    assert again["payload"] == '/subscribe_alerts{"place_code":"c:6184"}'
    assert rows(content_db) == []
    assert rows(content_db, active=False) == [("c6184", ASKED)]
    offer = await act(ActionOfferSubscription(), press(again["payload"]))
    await act(ActionSubscribeAlerts(), press(yes_button(offer)))
    assert rows(content_db) == [("c6184", None)]  # the same row, subscribed again


async def test_with_several_areas_loa_asks_which_and_ends_one_or_all(content_db: str) -> None:
    await subscribe(DONG_DANG, TAM_THANH, LANG_SON)
    said = await act(ActionUnsubscribeAlerts(), message("hủy đăng ký", intent="unsubscribe_alerts"))
    assert said.names == ["utter_unsubscribe_which"]
    titles = [b["title"] for b in said.buttons()]
    assert titles == [
        "Xã Đồng Đăng, Tỉnh Lạng Sơn",
        "Phường Tam Thanh, Tỉnh Lạng Sơn",
        "Tỉnh Lạng Sơn",
        "Tất cả",
    ]
    assert len(rows(content_db)) == 3  # asking ends nothing
    one = await act(ActionUnsubscribeAlerts(), press(said.buttons()[0]["payload"]))
    assert one.names == ["utter_unsubscribe_done", "utter_unsubscribe_still"]
    assert rows(content_db) == [("c5986", None), ("p20", None)]
    every = await act(ActionUnsubscribeAlerts(), press(said.buttons()[-1]["payload"]))
    assert every.names == ["utter_unsubscribe_done"]
    assert rows(content_db) == []


async def test_a_named_place_ends_only_that_one(content_db: str) -> None:
    await subscribe(DONG_DANG, TAM_THANH)
    said = await act(
        ActionUnsubscribeAlerts(),
        message("hủy nhận tin ở phường Tam Thanh", intent="unsubscribe_alerts"),
    )
    assert said.names == ["utter_unsubscribe_done", "utter_unsubscribe_still"]
    assert rows(content_db) == [("c6184", None)]
    other = await act(
        ActionUnsubscribeAlerts(),
        message("hủy nhận tin ở phường Đông Kinh", intent="unsubscribe_alerts"),
    )
    assert other.names == ["utter_unsubscribe_not_there", "utter_unsubscribe_which"]
    assert rows(content_db) == [("c6184", None)]


async def test_someone_with_nothing_to_stop_is_told_kindly(content_db: str) -> None:
    said = await act(ActionUnsubscribeAlerts(), press("/unsubscribe_alerts"))
    assert said.names == ["utter_subscription_none"]
    assert rows(content_db, active=False) == []


async def test_hủy_inside_a_form_cancels_the_form_and_stop_outside_unsubscribes(
    content_db: str,
) -> None:
    await subscribe(DONG_DANG)
    for word in ("hủy", "HUỶ", "STOP", "/stop"):
        payload = stop_command(word)
        assert payload == "/unsubscribe_alerts", word  # what the gateway sends the assistant
        tracker = message(
            payload,
            intent="unsubscribe_alerts",
            slots={"requested_slot": "false_info_where", "false_info_where": payload},
            loop="false_info_form",
        )
        form = await act(ValidateFalseInfoForm(), tracker)
        assert form.slot("false_info_confirm") == "cancelled", word
    assert rows(content_db) == [("c6184", None)]  # the form was stopped, not the news
    said = await act(ActionUnsubscribeAlerts(), press(str(stop_command("STOP"))))
    assert said.names == ["utter_unsubscribe_done"]
    assert rows(content_db) == []


async def test_where_do_i_receive_news_lists_the_areas(content_db: str) -> None:
    asked = message("tôi đang nhận tin ở đâu?", intent="ask_subscriptions")
    assert (await act(ActionListSubscriptions(), asked)).names == ["utter_subscription_none"]
    await subscribe(DONG_DANG, LANG_SON)
    await subscribe(TAM_THANH, sender="zalo_oa:99")  # someone else
    said = await act(ActionListSubscriptions(), asked)
    assert said.names == ["utter_subscription_list"]
    assert said.text.splitlines()[1:3] == ["• Xã Đồng Đăng, Tỉnh Lạng Sơn", "• Tỉnh Lạng Sơn"]
    assert "Tam Thanh" not in said.text and "STOP" in said.text


async def test_a_new_chat_is_greeted_with_the_offer_unless_already_subscribed(
    content_db: str,
) -> None:
    start = press("/start_chat")
    said = await act(ActionStartChat(), start)
    assert said.names == ["utter_greet", "utter_menu", "utter_subscription_invite"]
    assert responses()["utter_subscription_invite"][0]["buttons"][0]["payload"] == (
        "/subscribe_alerts"
    )
    await subscribe(DONG_DANG)
    assert (await act(ActionStartChat(), start)).names == ["utter_greet", "utter_menu"]
