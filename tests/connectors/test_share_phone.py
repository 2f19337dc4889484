"""The phone question's one-tap share (connectors.base SHARE_PHONE): Telegram's contact button
on a reply keyboard, Zalo OA's request for user information; and the numbers they send back,
read as typed text. Against the fake APIs, which refuse what the real ones refuse."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from connectors.base import (
    SHARE_PHONE,
    TEXT,
    Button,
    IncomingMessage,
    OutgoingMessage,
    share_phone_detail,
)
from connectors.telegram import inbound as tg_inbound
from connectors.telegram.outbound import TelegramChannel, make_bot
from connectors.telegram.request import AiohttpRequest
from connectors.zalo_oa import inbound as oa_inbound
from connectors.zalo_oa.outbound import ZaloOAChannel
from connectors.zalo_oa.tokens import Tokens, ZaloTokens
from testkit.fakes import telegram as tg
from testkit.fakes import zalo_oa as oa
from testkit.fakes.server import serve

DETAIL = "Bấm để gửi số điện thoại Zalo của bạn cho cán bộ trực."
SHARE = Button("📱 Gửi số điện thoại của tôi", SHARE_PHONE + json.dumps({"detail": DETAIL}))
NO_PHONE = Button("Không để lại số", '/help_request_choose{"help_request_choice":"no_phone"}')
QUESTION = OutgoingMessage(text="Số điện thoại để cán bộ gọi lại cho bạn là số nào?",
                           buttons=(NO_PHONE, SHARE))  # fmt: skip
IMAGE = "https://loa.example.vn/static/share-phone.png"


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        (SHARE.payload, DETAIL),
        (SHARE_PHONE, ""),
        (SHARE_PHONE + '{"other": 1}', ""),
        (SHARE_PHONE + "{not json", None),
        (SHARE_PHONE + "s", None),
        (NO_PHONE.payload, None),
        ("", None),
    ],
)
def test_a_share_button_is_known_by_its_payload(payload: str, detail: str | None) -> None:
    assert share_phone_detail(payload) == detail


async def test_telegram_asks_for_the_contact_on_a_reply_keyboard() -> None:
    fake = tg.FakeTelegram()
    with serve(fake.app()) as url:
        sender = TelegramChannel(make_bot(tg.TOKEN, url, request=AiohttpRequest(4)))
        result = await sender.send("4242", QUESTION)
        await sender.aclose()
    assert result.ok, result.error
    [sent] = fake.sent
    markup = sent["reply_markup"]
    assert "inline_keyboard" not in markup  # a contact button cannot be inline
    first, second = markup["keyboard"]
    assert first == [{"text": SHARE.title, "request_contact": True}]  # the share comes first
    assert second == [{"text": NO_PHONE.title, "request_contact": False}]
    assert markup["one_time_keyboard"] is True and markup["resize_keyboard"] is True


async def test_other_buttons_stay_inline() -> None:
    fake = tg.FakeTelegram()
    with serve(fake.app()) as url:
        sender = TelegramChannel(make_bot(tg.TOKEN, url, request=AiohttpRequest(4)))
        result = await sender.send("4242", OutgoingMessage("Chọn:", buttons=(NO_PHONE,)))
        await sender.aclose()
    assert result.ok
    assert fake.sent[0]["reply_markup"]["inline_keyboard"][0][0]["text"] == NO_PHONE.title


def test_the_fake_refuses_a_contact_request_on_an_inline_button() -> None:
    """The check that makes the reply-keyboard test able to fail: Telegram refuses it."""
    fake = tg.FakeTelegram()
    markup = {"inline_keyboard": [[{"text": "x", "callback_data": "y", "request_contact": True}]]}
    with serve(fake.app()) as url:
        answer = httpx.post(
            f"{url}/bot{tg.TOKEN}/sendMessage",
            json={"chat_id": 1, "text": "a", "reply_markup": markup},
            timeout=30,
        )
    assert answer.status_code == 400 and "request_contact" in answer.json()["description"]


@pytest.mark.parametrize("own", [True, False])
def test_a_telegram_contact_reads_as_the_number_typed(own: bool) -> None:
    update = tg.update_contact(9001, 4242, "+84912345678", own=own)
    parsed = tg_inbound.parse(update)
    assert isinstance(parsed, IncomingMessage)
    assert (parsed.kind, parsed.text, parsed.sender) == (TEXT, "+84912345678", "4242")
    assert parsed.message_id == "9001"


class HeldTokens:
    """A valid token pair that never needs refreshing (the refresh has its own tests)."""

    def load(self) -> Tokens | None:
        return Tokens(oa.ACCESS_TOKEN, oa.REFRESH_TOKEN, 2**40)

    def save(self, tokens: Tokens) -> None:
        raise AssertionError("no refresh expected")

    def claim_refresh(self, refresh_token: str, seconds: float) -> bool:
        return False

    def release_refresh(self, refresh_token: str) -> None:
        """Nothing is claimed."""


def zalo(fake_url: str, client: httpx.AsyncClient, image: str) -> ZaloOAChannel:
    tokens = ZaloTokens(
        client=client,
        store=HeldTokens(),
        oauth_base_url=fake_url,
        app_id=oa.APP_ID,
        app_secret=oa.APP_SECRET,
    )
    return ZaloOAChannel(
        client=client, tokens=tokens, base_url=fake_url, share_phone_image_url=image
    )


async def test_zalo_oa_sends_the_question_then_the_card() -> None:
    fake = oa.FakeZaloOA()
    with serve(fake.app()) as url:
        async with httpx.AsyncClient() as client:
            result = await zalo(url, client, IMAGE).send("7001", QUESTION)
    assert result.ok, result.error
    question, card = fake.sent
    assert result.channel_message_id == question["message_id"]  # the message, not the card
    assert question["text"] == QUESTION.text
    assert [b["title"] for b in question["buttons"]] == [NO_PHONE.title]
    payload = card["attachment"]["payload"]
    assert payload["template_type"] == "request_user_info"
    assert payload["elements"] == [{"title": SHARE.title, "subtitle": DETAIL, "image_url": IMAGE}]


async def test_zalo_oa_without_a_picture_asks_the_person_to_type() -> None:
    fake = oa.FakeZaloOA()
    with serve(fake.app()) as url:
        async with httpx.AsyncClient() as client:
            result = await zalo(url, client, "").send("7001", QUESTION)
    assert result.ok
    [question] = fake.sent
    assert [b["title"] for b in question["buttons"]] == [NO_PHONE.title]


async def test_a_refused_card_leaves_the_question_sent(caplog: pytest.LogCaptureFixture) -> None:
    fake = oa.FakeZaloOA()
    caplog.set_level(logging.WARNING, logger="connectors.zalo_oa.outbound")
    with serve(fake.app()) as url:
        async with httpx.AsyncClient() as client:
            sender = zalo(url, client, "https://loa.example.vn/static/share-phone.gif")
            result = await sender.send("7001", QUESTION)
    assert result.ok and result.channel_message_id  # the question went: never resent
    [question] = fake.sent
    assert question["text"] == QUESTION.text
    assert "share-phone card not sent: -201" in caplog.text


def test_a_zalo_oa_shared_number_reads_as_typed_and_its_redelivery_is_the_same() -> None:
    event = oa.user_submit_info("7001", "84912345678")
    parsed = oa_inbound.parse(event)
    again = oa_inbound.parse(json.loads(json.dumps(event)))
    assert isinstance(parsed, IncomingMessage) and isinstance(again, IncomingMessage)
    assert (parsed.kind, parsed.text, parsed.sender) == (TEXT, "84912345678", "7001")
    assert parsed.message_id == again.message_id  # a redelivery is caught as a repeat
    assert "Nguyễn" not in repr(parsed)  # the name Zalo adds is not kept


def test_a_zalo_oa_share_without_a_phone_is_ignored() -> None:
    assert oa_inbound.parse(oa.user_submit_info("7001", "")) is None
