"""End to end on the channels: webhook in → gateway → real Rasa → reply at the fake API."""

from __future__ import annotations

import json

import pytest

from testkit import http
from testkit.fakes import telegram as tg
from testkit.fakes import zalo_oa as oa
from tests.channels_rig import TELEGRAM_SECRET, wait_for
from tests.e2e.conftest import PHONES, ChannelFakes, RunningStack
from tests.e2e.responses import response_texts

pytestmark = pytest.mark.slow
SECRET = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


def test_telegram_greeting_with_buttons_then_a_button_press(
    stack: RunningStack, channel_fakes: ChannelFakes
) -> None:
    fake, chat = channel_fakes.telegram, 91001

    def to_chat() -> list[dict]:
        return [m for m in fake.sent if m["chat_id"] == chat]

    update = tg.update_message(9100101, chat, "xin chào")
    response = http.post(f"{stack.app_url}/webhooks/telegram", json=update, headers=SECRET)
    assert response.status_code == 200
    [greeting] = wait_for(to_chat, timeout=30)  # the greeting and the menu in one message
    texts = response_texts()
    assert greeting["text"] == texts["utter_greet"][0] + "\n\n" + texts["utter_menu"][0]
    keyboard = greeting["reply_markup"]["inline_keyboard"]
    assert "/ask_hotline" in [b["callback_data"] for row in keyboard for b in row]

    press = tg.update_callback(9100102, chat, "/ask_hotline")
    http.post(f"{stack.app_url}/webhooks/telegram", json=press, headers=SECRET)
    wait_for(lambda: len(to_chat()) >= 2, timeout=30)
    assert to_chat()[1]["text"].startswith(texts["utter_hotline_intro"][0])
    assert "115" in to_chat()[1]["text"]
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
    response = http.post(
        f"{stack.app_url}/webhooks/zalo-oa",
        content=raw,
        headers={"X-ZEvent-Signature": signature, "content-type": "application/json"},
    )
    assert response.status_code == 200
    [reply] = wait_for(lambda: [m for m in fake.sent if m["user_id"] == user], timeout=30)
    # 115 first, and the whole answer in one message (its help button last)
    assert reply["text"].startswith(response_texts()["utter_triage_emergency"][0].split("{")[0])
    assert "Khó thở là dấu hiệu nguy hiểm" in reply["text"] and "chẩn đoán" in reply["text"]


def test_a_phone_number_sent_on_every_channel_reaches_no_log(
    stack: RunningStack, channel_fakes: ChannelFakes
) -> None:
    """People give their number; the answers come back, and the stack's teardown (conftest)
    finds none of these numbers in any process's log."""
    telegram, chat = channel_fakes.telegram, 91002
    text = f"nhà tôi hết gạo, số điện thoại của tôi là {PHONES[0]}"
    update = tg.update_message(9100201, chat, text)
    assert http.post(f"{stack.app_url}/webhooks/telegram", json=update, headers=SECRET).is_success
    zalo, user = channel_fakes.zalo_oa, "9200002"
    event = oa.user_send_text(user, f"gọi cho tôi theo số {PHONES[2]} nhé")
    raw = json.dumps(event).encode()
    key = channel_fakes.env["ZALO_OA_SECRET_KEY"]
    signature = oa.sign_event(oa.APP_ID, raw, event["timestamp"], key)
    headers = {"X-ZEvent-Signature": signature, "content-type": "application/json"}
    assert http.post(f"{stack.app_url}/webhooks/zalo-oa", content=raw, headers=headers).is_success
    web = http.post(
        f"{stack.app_url}/api/chat/messages",
        json={"message_id": "phone-1", "text": f"số tôi {PHONES[1]}, cần giúp đỡ"},
        timeout=60,
    )
    assert web.status_code == 200 and web.json()["replies"]
    wait_for(lambda: [m for m in telegram.sent if m["chat_id"] == chat], timeout=30)
    wait_for(lambda: [m for m in zalo.sent if m["user_id"] == user], timeout=30)
