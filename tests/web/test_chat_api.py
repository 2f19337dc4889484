"""The web chat API over real HTTP: what the page sends, what it gets back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from bot import settings as settings_module
from bot import wording
from bot.web.app import create_app
from testkit.fakes.rasa import FakeRasa
from testkit.fakes.server import serve

SENDER = str(uuid.uuid4())


@pytest.fixture
def app_url(database_url: str, fake_rasa: tuple[FakeRasa, str]) -> Iterator[str]:
    cfg = replace(
        settings_module.Settings(),
        database_url=database_url,
        rasa_url=fake_rasa[1],
        retry_interval=0.2,
    )
    with serve(create_app(cfg)) as url:
        yield url


def post(url: str, body: object, **kw: object) -> httpx.Response:
    return httpx.post(f"{url}/api/chat/messages", json=body, timeout=10, **kw)  # type: ignore[arg-type]


def test_chat_page_is_vietnamese_and_phone_sized(app_url: str) -> None:
    page = httpx.get(f"{app_url}/chat")
    assert page.status_code == 200
    assert '<html lang="vi"' in page.text
    assert 'name="viewport"' in page.text
    assert httpx.get(f"{app_url}/", follow_redirects=False).headers["location"] == "/chat"


def test_message_and_reply_with_buttons(app_url: str, fake_rasa: tuple[FakeRasa, str]) -> None:
    fake_rasa[0].buttons = [{"title": "Số đường dây nóng", "payload": "/ask_hotline"}]
    reply = post(app_url, {"sender": SENDER, "message_id": "a1", "text": "xin chào"})
    assert reply.status_code == 200
    [answer] = reply.json()["replies"]
    assert answer["text"] == "echo: xin chào"
    assert answer["buttons"] == [{"title": "Số đường dây nóng", "payload": "/ask_hotline"}]
    assert fake_rasa[0].received[0]["sender"] == f"webchat:{SENDER}"


def test_resending_the_same_message_id_does_not_answer_twice(app_url, fake_rasa) -> None:
    first = post(app_url, {"sender": SENDER, "message_id": "a1", "text": "alo"}).json()
    again = post(app_url, {"sender": SENDER, "message_id": "a1", "text": "alo"}).json()
    assert first == again
    assert len(fake_rasa[0].received) == 1


def test_html_is_stored_and_returned_as_text(app_url: str) -> None:
    text = "<script>alert(1)</script>"
    [answer] = post(app_url, {"sender": SENDER, "message_id": "h", "text": text}).json()["replies"]
    assert answer["text"] == f"echo: {text}"  # the page shows it with textContent


BAD = [
    ("invalid JSON", b"{nope", 422, "web_invalid"),
    ("not an object", b"[1, 2]", 422, "web_invalid"),
    ("sender not a uuid", b'{"sender": "x", "message_id": "1", "text": "a"}', 422, "web_invalid"),
    (
        "NUL bytes in JSON",
        b'{"sender": "' + SENDER.encode() + b'", "message_id": "1", "text": "a\\u0000b"}',
        200,
        None,
    ),
    ("1 MB body", b'{"text": "' + b"a" * 1_000_000 + b'"}', 413, "web_too_long"),
]


@pytest.mark.parametrize(("label", "raw", "status", "detail"), BAD, ids=[b[0] for b in BAD])
def test_bad_bodies_get_a_clear_answer(
    app_url: str, label: str, raw: bytes, status: int, detail: str | None
) -> None:
    response = httpx.post(
        f"{app_url}/api/chat/messages",
        content=raw,
        headers={"content-type": "application/json"},
        timeout=10,
    )
    assert response.status_code == status
    if detail:
        assert response.json() == {"detail": wording.system(detail)}


@pytest.fixture
def stopped_clock_url(database_url: str, fake_rasa: tuple[FakeRasa, str]) -> Iterator[str]:
    """The app with its throttle's clock stopped: buckets never refill during the test."""
    cfg = replace(settings_module.Settings(), database_url=database_url, rasa_url=fake_rasa[1])
    with serve(create_app(cfg, clock=lambda: 0.0)) as url:
        yield url


def test_a_flood_from_one_sender_is_throttled_politely(stopped_clock_url: str) -> None:
    app_url = stopped_clock_url
    statuses = [
        post(app_url, {"sender": SENDER, "message_id": f"f{i}", "text": "spam"}).status_code
        for i in range(12)
    ]
    assert statuses == [200] * 8 + [429] * 4
    other = post(app_url, {"sender": str(uuid.uuid4()), "message_id": "o", "text": "xin chào"})
    assert other.status_code == 200  # other people are unaffected
    limited = post(app_url, {"sender": SENDER, "message_id": "f99", "text": "spam"})
    assert limited.json() == {"detail": wording.system("web_too_fast")}


def test_replies_made_later_are_fetched_by_polling(
    app_url: str, fake_rasa: tuple[FakeRasa, str]
) -> None:
    fake_rasa[0].mode = "error"
    [busy] = post(app_url, {"sender": SENDER, "message_id": "p1", "text": "hết gạo"}).json()[
        "replies"
    ]
    assert busy["text"] == wording.system("busy")
    fake_rasa[0].mode = "ok"
    import time

    deadline = time.monotonic() + 10
    later: list[dict[str, object]] = []
    while not later and time.monotonic() < deadline:
        time.sleep(0.2)
        later = httpx.get(
            f"{app_url}/api/chat/messages", params={"sender": SENDER, "after": busy["id"]}
        ).json()["replies"]
    assert [r["text"] for r in later] == ["echo: hết gạo"]


def test_polling_with_a_bad_sender_is_refused(app_url: str) -> None:
    assert httpx.get(f"{app_url}/api/chat/messages", params={"sender": "../etc"}).status_code == 422
    unknown = httpx.get(f"{app_url}/api/chat/messages", params={"sender": str(uuid.uuid4())})
    assert unknown.json() == {"replies": []}


def test_health_names_what_is_down(app_url: str) -> None:
    response = httpx.get(f"{app_url}/healthz")
    assert response.status_code == 503  # no action server in this test
    assert response.json() == {"database": "ok", "rasa": "ok", "actions": "down"}
