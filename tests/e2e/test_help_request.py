"""A help request end to end through the web chat: the form asked one question at a time,
a wrong phone asked again, the summary, "Gửi yêu cầu" pressed twice (one request), then its
status by "yêu cầu của tôi" and by the code as people type it. And make bench-desk's scripted
conversation (testkit/help_conversation.py) over the Telegram webhook, so the bench's script
keeps working."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from sqlalchemy import select

from bot.storage import conversations as log
from bot.storage.engine import sessions
from bot.storage.helpdesk import HelpRequest
from testkit import help_conversation as script
from testkit import http as one_off
from testkit.fakes import telegram as tg
from testkit.fakes.telegram import FakeTelegram
from tests.channels_rig import TELEGRAM_SECRET, wait_for
from tests.e2e.chat import joined, say
from tests.e2e.conftest import ChannelFakes, RunningStack
from tests.e2e.responses import response_texts

pytestmark = pytest.mark.slow


def press(choice: str) -> str:
    return f'/help_request_choose{{"help_request_choice":"{choice}"}}'


def opening(response: str) -> str:
    return response_texts()[response][0].split("{")[0]


def test_a_request_filed_in_the_web_chat_then_its_status(
    http: httpx.Client, stack: RunningStack
) -> None:
    me = str(uuid.uuid4())

    def turn(text: str | None = None, payload: str | None = None) -> tuple[str, list[str]]:
        replies = say(http, text, sender=me, payload=payload, patient=True)
        return joined(replies), [b["payload"] for r in replies for b in r["buttons"]]

    started, buttons = turn("nhà tôi hết gạo rồi")
    assert started.startswith(opening("utter_help_request_start")), started
    assert "Đã chọn: Lương thực, thực phẩm." in started and press("done") in buttons
    asked, _ = turn(payload=press("done"))
    assert asked == response_texts()["utter_ask_help_request_description"][0]
    asked, _ = turn("Nhà 2 người đang cách ly, hết gạo từ hôm qua <b>gấp</b>")
    assert asked == response_texts()["utter_ask_help_request_place"][0]
    asked, buttons = turn("phường Đông Kinh")
    assert asked.startswith(opening("utter_ask_help_request_address")) and press("skip") in buttons
    asked, _ = turn("bỏ qua")
    assert asked == response_texts()["utter_ask_help_request_people"][0]
    asked, _ = turn("2 người")
    assert asked.startswith(opening("utter_ask_help_request_consent"))
    asked, _ = turn(payload=press("yes"))
    assert asked.startswith(opening("utter_ask_help_request_phone"))
    again, _ = turn("0987 654")  # too short: asked again, with the reason and an example
    assert "còn thiếu chữ số" in again and "0912 345 678" in again, again
    summary, buttons = turn("0987.654.321")
    assert summary.startswith(opening("utter_help_request_summary")), summary
    for shown in ("Lương thực", "<b>gấp</b>", "Phường Đông Kinh", "Số người: 2", "0987 654 321"):
        assert shown in summary
    assert buttons[0] == press("send") and buttons[-1] == press("cancel")

    filed, _ = turn(payload=press("send"))
    assert filed.startswith(opening("utter_help_request_filed")), filed
    code = re.search(r"HT-\d{2}-\d{6}", filed)
    assert code is not None
    replayed, _ = turn(payload=press("send"))  # the confirmation again: the same request
    assert replayed.startswith(opening("utter_help_request_replayed")) and code[0] in replayed
    with sessions(stack.database_url)() as session:
        rows = list(session.scalars(select(HelpRequest).where(HelpRequest.phone == "0987654321")))
    assert [(r.code, r.people_count, r.address_detail) for r in rows] == [(code[0], 2, None)]

    for question in ("yêu cầu của tôi", f"mã {code[0].lower().replace('-', ' ')} sao rồi"):
        status, _ = turn(question)
        assert status.startswith(f"Yêu cầu {code[0]} (Lương thực, thực phẩm)"), status
        assert "đã tiếp nhận, đang chờ cán bộ nhận xử lý" in status

    stranger = str(uuid.uuid4())
    theirs = joined(say(http, f"mã {code[0]} sao rồi", sender=stranger))
    assert theirs.startswith("Loa không tìm thấy yêu cầu mã"), theirs


def telegram_turn(stack: RunningStack, fake: FakeTelegram, update: dict, chat: int) -> list[dict]:
    """POST ``update`` to the webhook; the messages the bot then sent to ``chat``."""
    before = len([m for m in fake.sent if m["chat_id"] == chat])
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    answer = one_off.post(f"{stack.app_url}/webhooks/telegram", json=update, headers=headers)
    assert answer.status_code == 200
    return wait_for(lambda: [m for m in fake.sent if m["chat_id"] == chat][before:], timeout=30)


def test_the_bench_conversation_over_telegram(
    stack: RunningStack, channel_fakes: ChannelFakes
) -> None:
    # Its own chat and update ids: the e2e tests share one stack, and a repeated update id is
    # dropped as a webhook retry (test_subscription uses chat 93001 and 9300101…).
    fake, chat = channel_fakes.telegram, 94101
    expected = script.openings(script.response_texts())
    texts: list[str] = []
    for index, turn in enumerate(script.TURNS):
        update = script.update(turn, 9410100 + index, chat, person=chat)
        texts = [m["text"] for m in telegram_turn(stack, fake, update, chat)]
        assert script.reply_problem(turn, texts, expected[turn.name]) is None
    code = re.search(r"HT-\d{2}-\d{6}", texts[-1])
    assert code is not None
    with sessions(stack.database_url)() as session:
        account = log.find_account(session=session, channel="telegram", external_id=str(chat))
        assert account is not None
        query = select(HelpRequest.code).where(HelpRequest.account_id == account.id)
        assert list(session.scalars(query)) == [code[0]]


def test_the_phone_shared_with_telegrams_contact_button(
    stack: RunningStack, channel_fakes: ChannelFakes
) -> None:
    """The phone question comes with Telegram's "share my number" button (a reply keyboard:
    the real API refuses it inline, and so does the fake); the contact Telegram then sends is
    taken as the number, read back in the summary and stored with the request."""
    fake, chat = channel_fakes.telegram, 94102  # chat 94101 and 94101xx: the test above
    expected = script.openings(script.response_texts())
    sent: list[dict] = []
    for index, turn in enumerate(script.TURNS):
        update_id = 9410200 + index
        if turn.name == "phone":
            update = tg.update_contact(update_id, chat, "+84987654321")
        else:
            update = script.update(turn, update_id, chat, person=chat)
        sent = telegram_turn(stack, fake, update, chat)
        texts = [m["text"] for m in sent]
        assert script.reply_problem(turn, texts, expected[turn.name]) is None, texts
        if turn.name == "consent":  # the phone question
            keyboard = sent[-1]["reply_markup"]["keyboard"]
            assert keyboard[0][0]["request_contact"] is True, keyboard
        if turn.name == "phone":  # the summary reads the shared number back
            assert "0987 654 321" in texts[-1], texts
    code = re.search(r"HT-\d{2}-\d{6}", sent[-1]["text"])
    assert code is not None
    with sessions(stack.database_url)() as session:
        phone = session.scalar(select(HelpRequest.phone).where(HelpRequest.code == code[0]))
    assert phone == "0987654321"
