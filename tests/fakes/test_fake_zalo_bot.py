"""The fake Zalo Bot API answers like the real one: string ids, millisecond dates, HTTP errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from testkit.fakes.server import serve
from testkit.fakes.zalo_bot import TOKEN, FakeZaloBot, event_text


@pytest.fixture
def zalo_bot() -> Iterator[tuple[FakeZaloBot, str]]:
    fake = FakeZaloBot()
    with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture
async def client(zalo_bot: tuple[FakeZaloBot, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{zalo_bot[1]}/bot{TOKEN}") as client:
        yield client


async def test_get_me(client: httpx.AsyncClient) -> None:
    answer = await client.post("/getMe", json={})
    assert answer.status_code == 200
    result = answer.json()["result"]
    assert answer.json()["ok"] is True
    assert result["id"] == "2000000001" and result["account_type"] == "BASIC"


async def test_send_message_json_and_form(
    zalo_bot: tuple[FakeZaloBot, str], client: httpx.AsyncClient
) -> None:
    fake, _ = zalo_bot
    by_json = await client.post("/sendMessage", json={"chat_id": "abc.xyz", "text": "xin chào"})
    by_form = await client.post("/sendMessage", data={"chat_id": "abc.xyz", "text": "lần hai"})
    for answer in (by_json, by_form):
        assert answer.status_code == 200 and answer.json()["ok"] is True
        result = answer.json()["result"]
        assert isinstance(result["message_id"], str) and result["date"] > 10**12  # milliseconds
    assert [m["text"] for m in fake.sent] == ["xin chào", "lần hai"]
    assert fake.sent[0]["chat_id"] == "abc.xyz"
    assert fake.sent[0]["message_id"] == by_json.json()["result"]["message_id"]
    assert fake.sent[0]["at"] <= fake.sent[1]["at"]
    assert [(r["method"], r["status"]) for r in fake.requests] == [("sendMessage", 200)] * 2


async def test_send_photo_sticker_and_chat_action(
    zalo_bot: tuple[FakeZaloBot, str], client: httpx.AsyncClient
) -> None:
    fake, _ = zalo_bot
    photo = {"chat_id": "c1", "photo": "https://example.org/map.png", "caption": "Bản đồ"}
    assert (await client.post("/sendPhoto", json=photo)).json()["ok"] is True
    assert (await client.post("/sendSticker", json={"chat_id": "c1", "sticker": "0e07"})).is_success
    typing = await client.post("/sendChatAction", json={"chat_id": "c1", "action": "typing"})
    assert typing.json() == {"ok": True}
    assert fake.sent[0]["photo"] == photo["photo"] and fake.sent[0]["caption"] == "Bản đồ"
    assert fake.sent[1]["sticker"] == "0e07"
    assert fake.actions == [{"chat_id": "c1", "action": "typing"}]


async def test_errors_carry_the_http_status(
    zalo_bot: tuple[FakeZaloBot, str], client: httpx.AsyncClient
) -> None:
    fake, url = zalo_bot
    async with httpx.AsyncClient() as other:
        unauthorized = await other.post(f"{url}/bot1:wrong/sendMessage", json={})
    assert unauthorized.status_code == 401
    assert unauthorized.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    bad = [
        await client.post("/sendMessage", json={"chat_id": "c1", "text": ""}),
        await client.post("/sendMessage", json={"chat_id": "c1", "text": "x" * 2001}),
        await client.post("/sendMessage", json={"text": "no chat"}),
        await client.post("/sendPhoto", json={"chat_id": "c1"}),
        await client.post("/sendChatAction", json={"chat_id": "c1", "action": "dancing"}),
    ]
    for answer in bad:
        assert answer.status_code == 400
        assert answer.json()["ok"] is False and answer.json()["error_code"] == 400
    assert (await client.post("/sendTelepathy", json={})).status_code == 404
    ok = await client.post("/sendMessage", json={"chat_id": "c1", "text": "x" * 2000})
    assert ok.status_code == 200 and len(fake.sent) == 1


async def test_injected_failures(
    zalo_bot: tuple[FakeZaloBot, str], client: httpx.AsyncClient
) -> None:
    fake, _ = zalo_bot
    fake.retry_after_seconds = 2
    fake.fail_next(1, "429")
    fake.fail_next(1, "500")
    message = {"chat_id": "c1", "text": "a"}
    limited = await client.post("/sendMessage", json=message)
    assert limited.status_code == 429 and limited.json()["error_code"] == 429
    assert limited.json()["parameters"]["retry_after"] == 2
    assert (await client.post("/sendMessage", json=message)).status_code == 500
    assert fake.sent == []
    assert (await client.post("/sendMessage", json=message)).status_code == 200


async def test_timeout_accepts_then_answers_late(
    zalo_bot: tuple[FakeZaloBot, str], client: httpx.AsyncClient
) -> None:
    fake, _ = zalo_bot
    fake.slow_seconds = 1.0
    fake.fail_next(1, "timeout")
    with pytest.raises(httpx.ReadTimeout):
        await client.post("/sendMessage", json={"chat_id": "c1", "text": "đã gửi"}, timeout=0.2)
    assert [m["text"] for m in fake.sent] == ["đã gửi"]


async def test_monthly_quota(zalo_bot: tuple[FakeZaloBot, str], client: httpx.AsyncClient) -> None:
    fake, _ = zalo_bot
    fake.monthly_quota = 2
    codes = [
        (await client.post("/sendMessage", json={"chat_id": "c1", "text": "a"})).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    assert [v["rule"] for v in fake.violations] == ["monthly_quota"]


async def test_webhook_lifecycle(
    zalo_bot: tuple[FakeZaloBot, str], client: httpx.AsyncClient
) -> None:
    fake, _ = zalo_bot
    short = await client.post(
        "/setWebhook", json={"url": "https://loa.example/z", "secret_token": "1234567"}
    )
    plain = await client.post(
        "/setWebhook", json={"url": "http://loa.example/z", "secret_token": "12345678"}
    )
    assert short.status_code == 400 and plain.status_code == 400 and fake.webhook is None
    good = await client.post(
        "/setWebhook", json={"url": "https://loa.example/z", "secret_token": "12345678"}
    )
    assert good.json()["result"]["url"] == "https://loa.example/z"
    assert fake.webhook is not None and fake.webhook["secret_token"] == "12345678"
    info = await client.post("/getWebhookInfo")
    assert info.json()["result"]["url"] == "https://loa.example/z"
    assert (await client.post("/getUpdates")).status_code == 409
    deleted = await client.post("/deleteWebhook")
    assert deleted.json()["result"]["url"] == "" and fake.webhook is None


async def test_get_updates_gives_one_update_or_408(
    zalo_bot: tuple[FakeZaloBot, str], client: httpx.AsyncClient
) -> None:
    fake, _ = zalo_bot
    fake.updates.append(event_text("u1", "xin chào", "m1"))
    first = await client.post("/getUpdates", json={"timeout": "30"})
    assert first.json()["result"]["message"]["text"] == "xin chào"
    assert (await client.post("/getUpdates", json={"timeout": "30"})).status_code == 408


def test_event_text_shape() -> None:
    event = event_text("u1", "xin chào", "m1")
    assert event["event_name"] == "message.text.received"
    message = event["message"]
    assert message["from"]["id"] == "u1" and message["from"]["display_name"] == "An"
    assert message["chat"] == {"id": "u1", "chat_type": "PRIVATE"}
    assert message["text"] == "xin chào" and message["message_id"] == "m1"
    assert message["date"] > 10**12
