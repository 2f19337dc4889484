"""The fake Telegram Bot API answers like the real one, to httpx and to python-telegram-bot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut

from testkit.fakes.server import serve
from testkit.fakes.telegram import (
    TOKEN,
    FakeTelegram,
    update_callback,
    update_message,
    update_my_chat_member,
)


@pytest.fixture
def telegram() -> Iterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram()
    with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture
async def bot(telegram: tuple[FakeTelegram, str]) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=f"{telegram[1]}/bot") as bot:  # initialize() calls getMe
        yield bot


# PTB 22 warns (even inside RetryAfter.__init__) that retry_after will become a timedelta.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")


def seconds(error: RetryAfter) -> float:
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else value


async def test_ptb_initializes_and_sends_with_inline_keyboard(
    telegram: tuple[FakeTelegram, str], bot: Bot
) -> None:
    fake, _ = telegram
    assert bot.username == "loa_test_bot"
    assert bot.id == 123456
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Có", callback_data="yes")]])
    first = await bot.send_message(chat_id=123, text="xin chào", reply_markup=keyboard)
    second = await bot.send_message(chat_id=123, text="lần hai")
    assert first.text == "xin chào" and first.chat.id == 123 and first.chat.type == "private"
    assert first.from_user is not None and first.from_user.is_bot
    assert first.reply_markup == keyboard
    assert second.message_id > first.message_id
    assert [m["text"] for m in fake.sent] == ["xin chào", "lần hai"]
    assert fake.sent[0]["chat_id"] == 123
    assert fake.sent[0]["reply_markup"] == {
        "inline_keyboard": [[{"text": "Có", "callback_data": "yes"}]]
    }
    assert fake.sent[0]["message_id"] == first.message_id
    assert fake.sent[0]["at"] <= fake.sent[1]["at"]
    assert [r["method"] for r in fake.requests] == ["getMe", "sendMessage", "sendMessage"]
    assert all(r["status"] == 200 for r in fake.requests)


async def test_ptb_raises_retry_after_on_injected_429(
    telegram: tuple[FakeTelegram, str], bot: Bot
) -> None:
    fake, _ = telegram
    fake.retry_after_seconds = 2
    fake.fail_next(1, "429")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(chat_id=123, text="một")
    assert seconds(caught.value) == 2
    assert fake.sent == [] and fake.requests[-1]["status"] == 429
    assert fake.violations == []  # an injected failure is not our client's fault
    await bot.send_message(chat_id=123, text="hai")
    assert [m["text"] for m in fake.sent] == ["hai"]


async def test_ptb_raises_forbidden_and_bad_request(
    telegram: tuple[FakeTelegram, str], bot: Bot
) -> None:
    fake, _ = telegram
    fake.blocked.add(5)
    fake.deactivated.add(6)
    fake.never_started.add(7)
    fake.missing.add(8)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(chat_id=5, text="a")
    with pytest.raises(Forbidden, match="user is deactivated"):
        await bot.send_message(chat_id=6, text="a")
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await bot.send_message(chat_id=7, text="a")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(chat_id=8, text="a")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(chat_id=9, text="x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(chat_id=9, text="")
    await bot.send_message(chat_id=9, text="x" * 4096)
    assert [m["chat_id"] for m in fake.sent] == [9]
    assert [r["status"] for r in fake.requests[1:]] == [403, 403, 403, 400, 400, 400, 200]


async def test_ptb_sees_500_as_network_error(telegram: tuple[FakeTelegram, str], bot: Bot) -> None:
    fake, _ = telegram
    fake.fail_next(2, "500")
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(chat_id=1, text="a")
    await bot.send_message(chat_id=1, text="b")
    assert [m["text"] for m in fake.sent] == ["b"]


async def test_timeout_accepts_the_message_but_answers_late(
    telegram: tuple[FakeTelegram, str], bot: Bot
) -> None:
    fake, _ = telegram
    fake.slow_seconds = 1.0
    fake.fail_next(1, "timeout")
    with pytest.raises(TimedOut):
        await bot.send_message(chat_id=1, text="đã gửi", read_timeout=0.2)
    assert [m["text"] for m in fake.sent] == ["đã gửi"]  # delivered although we never heard


async def test_wrong_token_is_401_and_ptb_calls_it_invalid(
    telegram: tuple[FakeTelegram, str],
) -> None:
    _, url = telegram
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{url}/bot999:nope/getMe")
    assert answer.status_code == 401
    assert answer.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    with pytest.raises(InvalidToken):
        await Bot("999:nope", base_url=f"{url}/bot").initialize()


async def test_unknown_method_is_404_and_names_ignore_case(
    telegram: tuple[FakeTelegram, str],
) -> None:
    _, url = telegram
    async with httpx.AsyncClient(base_url=f"{url}/bot{TOKEN}") as client:
        missing = await client.post("/sendTelepathy", json={})
        me = await client.get("/GETME")
    assert missing.status_code == 404
    assert missing.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert me.json()["result"]["is_bot"] is True
    assert me.json()["result"]["first_name"] == "Loa"
    assert me.json()["result"]["can_join_groups"] is True


async def test_accepts_json_query_form_and_multipart(telegram: tuple[FakeTelegram, str]) -> None:
    fake, url = telegram
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    async with httpx.AsyncClient(base_url=f"{url}/bot{TOKEN}") as client:
        by_json = await client.post("/sendMessage", json={"chat_id": 1, "text": "json"})
        by_query = await client.get("/sendMessage", params={"chat_id": "2", "text": "query"})
        form = {"chat_id": "3", "text": "form", "reply_markup": json.dumps(markup)}
        by_form = await client.post("/sendMessage", data=form)
        by_multipart = await client.post(
            "/sendPhoto",
            data={"chat_id": "4", "caption": "ảnh"},
            files={"photo": ("map.png", b"\x89PNG-bytes", "image/png")},
        )
    assert [a.status_code for a in (by_json, by_query, by_form, by_multipart)] == [200] * 4
    assert [m["chat_id"] for m in fake.sent] == [1, 2, 3, 4]
    assert fake.sent[2]["reply_markup"] == markup
    assert fake.sent[3]["text"] == "ảnh"
    assert fake.sent[3]["photo"] == {"filename": "map.png", "size": 10}
    assert by_multipart.json()["result"]["caption"] == "ảnh"


async def test_send_photo_by_url_and_caption_limit(
    telegram: tuple[FakeTelegram, str], bot: Bot
) -> None:
    fake, _ = telegram
    message = await bot.send_photo(chat_id=1, photo="https://example.org/map.png", caption="Bản đồ")
    assert message.photo and message.caption == "Bản đồ"
    assert fake.sent[0]["photo"] == "https://example.org/map.png"
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(chat_id=1, photo="https://example.org/map.png", caption="x" * 1025)


async def test_per_chat_limit_allows_a_burst_of_three_then_one_per_second(
    telegram: tuple[FakeTelegram, str], bot: Bot
) -> None:
    fake, _ = telegram
    for i in range(3):
        await bot.send_message(chat_id=42, text=f"{i}")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(chat_id=42, text="quá nhanh")
    assert seconds(caught.value) == 1
    assert [(v["rule"], v["chat_id"]) for v in fake.violations] == [("per_chat", 42)]
    await bot.send_message(chat_id=43, text="chat khác vẫn được")
    await asyncio.sleep(1.05)
    await bot.send_message(chat_id=42, text="sau một giây")
    assert len(fake.sent) == 5 and len(fake.violations) == 1


async def test_global_limit_is_thirty_per_second(telegram: tuple[FakeTelegram, str]) -> None:
    fake, url = telegram
    async with httpx.AsyncClient(base_url=f"{url}/bot{TOKEN}") as client:
        answers = [
            await client.post("/sendMessage", json={"chat_id": 1000 + i, "text": "cảnh báo"})
            for i in range(31)
        ]
    assert [a.status_code for a in answers[:30]] == [200] * 30
    assert answers[30].status_code == 429
    body = answers[30].json()
    assert body["error_code"] == 429 and body["parameters"]["retry_after"] >= 1
    assert body["description"].startswith("Too Many Requests: retry after ")
    assert [v["rule"] for v in fake.violations] == ["global"]


async def test_webhook_lifecycle(telegram: tuple[FakeTelegram, str], bot: Bot) -> None:
    fake, url = telegram
    async with httpx.AsyncClient(base_url=f"{url}/bot{TOKEN}") as client:
        plain = await client.post("/setWebhook", data={"url": "http://loa.example/tg"})
        bad = await client.post(
            "/setWebhook", data={"url": "https://loa.example/tg", "secret_token": "có dấu"}
        )
    assert plain.status_code == 400 and "HTTPS URL" in plain.json()["description"]
    assert bad.status_code == 400
    assert bad.json()["description"].startswith("Bad Request: bad webhook: ")
    assert fake.webhook is None
    assert await bot.set_webhook("https://loa.example/tg", secret_token="s3cret_-A")
    assert fake.webhook is not None and fake.webhook["secret_token"] == "s3cret_-A"
    info = await bot.get_webhook_info()
    assert info.url == "https://loa.example/tg" and info.pending_update_count == 0
    assert await bot.delete_webhook()
    assert fake.webhook is None
    assert (await bot.get_webhook_info()).url == ""


async def test_answer_callback_query_is_recorded(
    telegram: tuple[FakeTelegram, str], bot: Bot
) -> None:
    fake, _ = telegram
    assert await bot.answer_callback_query("q1", text="Đã nhận")
    assert fake.callback_answers[0]["callback_query_id"] == "q1"


async def test_update_helpers_build_updates_ptb_understands(bot: Bot) -> None:
    message = Update.de_json(update_message(10, 77, "/start", first_name="Bình"), bot)
    assert message.update_id == 10 and message.message is not None
    assert message.message.text == "/start" and message.effective_chat.id == 77
    assert message.effective_user.first_name == "Bình"
    assert message.message.entities[0].type == "bot_command"
    press = Update.de_json(update_callback(11, 77, "yes"), bot)
    assert press.callback_query is not None and press.callback_query.data == "yes"
    assert press.effective_chat.id == 77
    blocked = Update.de_json(update_my_chat_member(12, 77), bot)
    assert blocked.my_chat_member is not None
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    unblocked = Update.de_json(update_my_chat_member(13, 77, status="member"), bot)
    assert unblocked.my_chat_member.old_chat_member.status == "kicked"
