"""End to end on the channels: webhook in → gateway → real Rasa → reply at the fake API."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.channels_rig import TELEGRAM_SECRET, wait_for
from tests.e2e.conftest import ChannelFakes, RunningStack
from tests.e2e.test_stack import response_texts
from tests.fakes import telegram as tg
from tests.fakes import zalo_oa as oa

pytestmark = pytest.mark.slow
SECRET = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


def test_telegram_greeting_with_buttons_then_a_button_press(
    stack: RunningStack, channel_fakes: ChannelFakes
) -> None:
    fake, chat = channel_fakes.telegram, 91001
    response = httpx.post(
        f"{stack.app_url}/webhooks/telegram",
        json=tg.update_message(9100101, chat, "xin chào"),
        headers=SECRET,
    )
    assert response.status_code == 200
    sent = wait_for(
        lambda: (
            [m for m in fake.sent if m["chat_id"] == chat]
            if len([m for m in fake.sent if m["chat_id"] == chat]) >= 2
            else None
        ),
        timeout=30,
    )
    assert sent[0]["text"] == response_texts()["utter_greet"][0]
    buttons = [
        b["callback_data"] for row in sent[1]["reply_markup"]["inline_keyboard"] for b in row
    ]
    assert "/ask_hotline" in buttons

    httpx.post(
        f"{stack.app_url}/webhooks/telegram",
        json=tg.update_callback(9100102, chat, "/ask_hotline"),
        headers=SECRET,
    )
    wait_for(lambda: len([m for m in fake.sent if m["chat_id"] == chat]) >= 3, timeout=30)
    assert [m for m in fake.sent if m["chat_id"] == chat][2]["text"] == response_texts()[
        "utter_hotline_list"
    ][0]
    assert fake.violations == []


def test_zalo_oa_symptoms_without_diacritics(
    stack: RunningStack, channel_fakes: ChannelFakes
) -> None:
    fake, user = channel_fakes.zalo_oa, "9200001"
    event = oa.user_send_text(user, "toi bi sot va kho tho")
    raw = json.dumps(event).encode()
    signature = oa.sign_event(
        oa.APP_ID, raw, event["timestamp"], channel_fakes.env["ZALO_OA_SECRET_KEY"]
    )
    response = httpx.post(
        f"{stack.app_url}/webhooks/zalo-oa",
        content=raw,
        headers={"X-ZEvent-Signature": signature, "content-type": "application/json"},
    )
    assert response.status_code == 200
    expected = response_texts()["utter_symptoms_report"][0]
    paragraphs = expected.count("\n\n") + 1  # Rasa sends each paragraph as a message
    sent = wait_for(
        lambda: [m for m in fake.sent if m["user_id"] == user][paragraphs - 1 :], timeout=30
    )
    assert "\n\n".join(m["text"] for m in fake.sent if m["user_id"] == user) == expected
    assert sent
