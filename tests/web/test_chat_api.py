"""The web chat API over real HTTP: what the page sends, what it gets back, and that a
conversation belongs to the browser holding its cookie (each ``httpx.Client`` is a browser)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import func, select
from starlette.requests import Request

from bot import settings as settings_module
from bot import wording
from bot.storage import conversations as log
from bot.web.app import create_app
from bot.web.body import MAX_BODY_BYTES, read_capped
from bot.web.webchat import COOKIE, Signer
from testkit import http
from testkit.fakes.rasa import FakeRasa
from testkit.fakes.server import serve

DATABASES = ("sqlite", "postgresql")
SECRET = "test-webchat-secret"


def config(database_url: str, rasa_url: str, **overrides: object) -> settings_module.Settings:
    cfg = replace(
        settings_module.Settings(),
        database_url=database_url,
        rasa_url=rasa_url,
        retry_interval=0.2,
        webchat_secret=SECRET,
    )
    return replace(cfg, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def app_url(database_url: str, fake_rasa: tuple[FakeRasa, str]) -> Iterator[str]:
    with serve(create_app(config(database_url, fake_rasa[1]))) as url:
        yield url


@pytest.fixture
def browser(app_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=app_url, timeout=10) as client:
        yield client


def post(client: httpx.Client, body: object, **kw: object) -> httpx.Response:
    return client.post("/api/chat/messages", json=body, **kw)  # type: ignore[arg-type]


def conversation_of(client: httpx.Client) -> str:
    """The conversation id the server signed into this browser's cookie."""
    return str(client.cookies[COOKIE]).partition(".")[0]


def test_chat_page_is_vietnamese_and_phone_sized(app_url: str) -> None:
    page = http.get(f"{app_url}/chat")
    assert page.status_code == 200
    assert '<html lang="vi"' in page.text
    assert 'name="viewport"' in page.text
    home = http.get(f"{app_url}/", follow_redirects=False)  # the province's page (issue 11)
    assert home.status_code == 200 and 'href="/chat"' in home.text


def test_message_and_reply_with_buttons(
    browser: httpx.Client, fake_rasa: tuple[FakeRasa, str]
) -> None:
    fake_rasa[0].buttons = [{"title": "Số đường dây nóng", "payload": "/ask_hotline"}]
    reply = post(browser, {"message_id": "a1", "text": "xin chào"})
    assert reply.status_code == 200
    [answer] = reply.json()["replies"]
    assert answer["text"] == "echo: xin chào"
    assert answer["buttons"] == [{"title": "Số đường dây nóng", "payload": "/ask_hotline"}]
    assert fake_rasa[0].received[0]["sender"] == f"webchat:{conversation_of(browser)}"


def test_the_server_names_the_conversation_in_a_signed_httponly_cookie(
    browser: httpx.Client, fake_rasa: tuple[FakeRasa, str]
) -> None:
    chosen = str(uuid.uuid4())
    reply = post(browser, {"sender": chosen, "message_id": "a1", "text": "xin chào"})
    cookie = reply.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/api/chat" in cookie
    assert reply.headers["cache-control"] == "no-store"
    conversation = conversation_of(browser)
    assert conversation != chosen  # a sender in the body is ignored
    assert str(browser.cookies[COOKIE]) == Signer(SECRET.encode()).sign(conversation)
    # The same browser keeps its conversation and gets no new cookie.
    again = post(browser, {"message_id": "a2", "text": "còn gì nữa"})
    assert "set-cookie" not in again.headers
    assert {r["sender"] for r in fake_rasa[0].received} == {f"webchat:{conversation}"}


def test_resending_the_same_message_id_does_not_answer_twice(
    browser: httpx.Client, fake_rasa: tuple[FakeRasa, str]
) -> None:
    first = post(browser, {"message_id": "a1", "text": "alo"}).json()
    again = post(browser, {"message_id": "a1", "text": "alo"}).json()
    assert first == again
    assert len(fake_rasa[0].received) == 1


def test_html_is_stored_and_returned_as_text(browser: httpx.Client) -> None:
    text = "<script>alert(1)</script>"
    [answer] = post(browser, {"message_id": "h", "text": text}).json()["replies"]
    assert answer["text"] == f"echo: {text}"  # the page shows it with textContent


BAD = [
    ("invalid JSON", b"{nope", 422, "web_invalid"),
    ("not an object", b"[1, 2]", 422, "web_invalid"),
    ("deeply nested JSON", b"[" * 120_000 + b"]" * 120_000, 422, "web_invalid"),
    ("message id not text", b'{"message_id": 5, "text": "a"}', 422, "web_invalid"),
    ("NUL bytes in JSON", b'{"message_id": "1", "text": "a\\u0000b"}', 200, None),
    ("1 MB body", b'{"text": "' + b"a" * 1_000_000 + b'"}', 413, "web_too_long"),
]


@pytest.mark.parametrize(("label", "raw", "status", "detail"), BAD, ids=[b[0] for b in BAD])
def test_bad_bodies_get_a_clear_answer(
    browser: httpx.Client, label: str, raw: bytes, status: int, detail: str | None
) -> None:
    response = browser.post(
        "/api/chat/messages", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    if detail:
        assert response.json() == {"detail": wording.system(detail)}


def test_a_chunked_body_over_the_cap_is_refused(browser: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap must count as it reads
        yield b'{"message_id": "c", "text": "'
        yield from (b"a" * 1024 for _ in range(2048))
        yield b'"}'

    response = browser.post(
        "/api/chat/messages", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json() == {"detail": wording.system("web_too_long")}


async def test_the_cap_stops_reading_a_stream_at_the_limit() -> None:
    """What the app takes from a 64 MB chunked upload: a little over the cap, not all of it."""
    taken = 0

    async def receive() -> dict[str, object]:
        nonlocal taken
        taken += 1
        return {"type": "http.request", "body": b"a" * 1024, "more_body": taken < 64 * 1024}

    scope = {"type": "http", "method": "POST", "headers": [], "path": "/", "query_string": b""}
    assert await read_capped(Request(scope, receive)) is None
    assert taken * 1024 <= MAX_BODY_BYTES + 1024


def test_only_json_from_our_own_pages_is_accepted(browser: httpx.Client) -> None:
    plain = browser.post(
        "/api/chat/messages",
        content=b'{"message_id": "p", "text": "a"}',
        headers={"content-type": "text/plain"},
    )
    assert plain.status_code == 415  # a cross-site form or "simple" fetch cannot post
    elsewhere = post(
        browser, {"message_id": "o", "text": "a"}, headers={"origin": "https://evil.example"}
    )
    assert elsewhere.status_code == 403
    ours = post(
        browser,
        {"message_id": "o", "text": "a"},
        headers={"origin": str(browser.base_url).rstrip("/")},
    )
    assert ours.status_code == 200
    # Behind a proxy that rewrites Host, the browser's own word still lets our page in.
    proxied = post(
        browser,
        {"message_id": "q", "text": "a"},
        headers={"origin": "https://covid.example.gov.vn", "sec-fetch-site": "same-origin"},
    )
    assert proxied.status_code == 200
    cross = post(
        browser, {"message_id": "r", "text": "a"}, headers={"sec-fetch-site": "cross-site"}
    )
    assert cross.status_code == 403


def test_another_browser_reads_nothing_of_a_conversation(
    app_url: str, browser: httpx.Client, fake_rasa: tuple[FakeRasa, str]
) -> None:
    post(browser, {"message_id": "m", "text": "số điện thoại của tôi là 0912 345 678"})
    mine = browser.get("/api/chat/messages", params={"after": 0}).json()["replies"]
    assert [r["text"] for r in mine] == ["echo: số điện thoại của tôi là 0912 345 678"]
    conversation = conversation_of(browser)
    with httpx.Client(base_url=app_url, timeout=10) as stranger:
        assert stranger.get("/api/chat/messages", params={"after": 0}).json() == {"replies": []}
        # Knowing the id is not enough: unsigned, or signed with another key.
        for forged in (conversation, Signer(b"another key").sign(conversation)):
            cookie = {"cookie": f"{COOKIE}={forged}"}
            found = stranger.get("/api/chat/messages", params={"after": 0}, headers=cookie)
            assert found.json() == {"replies": []}
            # Posting with it starts a new conversation; it does not join this one.
            post(stranger, {"message_id": "x", "text": "alo"}, headers=cookie)
            assert conversation_of(stranger) != conversation
            stranger.cookies.clear()
        # The old query-string id reads nothing either.
        by_url = stranger.get("/api/chat/messages", params={"sender": conversation, "after": 0})
        assert by_url.json() == {"replies": []}


def test_clearing_the_conversation_starts_a_new_one(
    browser: httpx.Client, fake_rasa: tuple[FakeRasa, str]
) -> None:
    post(browser, {"message_id": "1", "text": "tôi ở Chi Lăng"})
    before = conversation_of(browser)
    cleared = browser.post("/api/chat/reset")
    assert cleared.status_code == 200
    assert COOKIE not in browser.cookies
    assert browser.get("/api/chat/messages", params={"after": 0}).json() == {"replies": []}
    post(browser, {"message_id": "2", "text": "xin chào"})
    assert conversation_of(browser) != before
    assert [r["sender"] for r in fake_rasa[0].received] == [
        f"webchat:{before}",
        f"webchat:{conversation_of(browser)}",
    ]


@pytest.mark.parametrize("after", ["1" + "0" * 30, "-1", "abc", "1e3", "٣", ""])
def test_reading_with_a_bad_position_is_refused(browser: httpx.Client, after: str) -> None:
    response = browser.get("/api/chat/messages", params={"after": after})
    assert response.status_code == 422
    assert response.json() == {"detail": wording.system("web_invalid")}


@pytest.fixture
def stopped(database_url: str, fake_rasa: tuple[FakeRasa, str]) -> Iterator[str]:
    """The app with its throttles' clock stopped: buckets never refill during the test; client
    addresses come from X-Forwarded-For (as behind the province's proxy)."""
    cfg = config(
        database_url,
        fake_rasa[1],
        trusted_proxy_header="X-Forwarded-For",
        webchat_nlu_per_second=5.0,
    )
    with serve(create_app(cfg, clock=lambda: 0.0)) as url:
        yield url


def from_address(address: str) -> dict[str, str]:
    return {"x-forwarded-for": f"203.0.113.250, {address}"}


def test_a_flood_from_one_conversation_is_throttled_politely(stopped: str) -> None:
    with httpx.Client(base_url=stopped, timeout=10) as flooder:
        statuses = [
            post(flooder, {"message_id": f"f{i}", "text": "spam"}).status_code for i in range(12)
        ]
        assert statuses == [200] * 8 + [429] * 4
        limited = post(flooder, {"message_id": "f99", "text": "spam"})
        assert limited.json() == {"detail": wording.system("web_too_fast")}
    with httpx.Client(base_url=stopped, timeout=10) as other:
        answered = post(
            other, {"message_id": "o", "text": "xin chào"}, headers=from_address("198.51.100.7")
        )
        assert answered.status_code == 200  # other people are unaffected


def test_new_conversations_from_one_address_are_limited_before_any_account_exists(
    stopped: str, session_factory, fake_rasa: tuple[FakeRasa, str]
) -> None:
    statuses = []
    for i in range(20):  # a new browser (no cookie) each time, as a script rotating ids would
        with httpx.Client(base_url=stopped, timeout=10) as fresh:
            response = post(
                fresh, {"message_id": f"n{i}", "text": "spam"}, headers=from_address("198.51.100.1")
            )
            statuses.append(response.status_code)
    assert statuses == [200] * 6 + [429] * 14
    with session_factory() as session:
        accounts = session.scalar(select(func.count()).select_from(log.ChannelAccount))
    assert accounts == 6  # the refused ones created nobody
    assert len(fake_rasa[0].received) == 6


def test_the_whole_site_cap_holds_against_rotating_addresses(
    stopped: str, fake_rasa: tuple[FakeRasa, str]
) -> None:
    statuses = []
    for i in range(30):
        with httpx.Client(base_url=stopped, timeout=10) as fresh:
            response = post(
                fresh, {"message_id": "x", "text": "spam"}, headers=from_address(f"10.0.{i}.1")
            )
            statuses.append(response.status_code)
    assert statuses == [200] * 10 + [429] * 20  # burst = 2 s of WEBCHAT_NLU_PER_SECOND=5
    assert len(fake_rasa[0].received) == 10
    assert response.json() == {"detail": wording.system("web_busy")}


def test_replies_made_later_are_fetched_by_polling(
    browser: httpx.Client, fake_rasa: tuple[FakeRasa, str]
) -> None:
    fake_rasa[0].mode = "error"
    [busy] = post(browser, {"message_id": "p1", "text": "hết gạo"}).json()["replies"]
    assert busy["text"] == wording.system("busy")
    fake_rasa[0].mode = "ok"
    deadline = time.monotonic() + 10
    later: list[dict[str, object]] = []
    while not later and time.monotonic() < deadline:
        time.sleep(0.2)
        later = browser.get("/api/chat/messages", params={"after": busy["id"]}).json()["replies"]
    assert [r["text"] for r in later] == ["echo: hết gạo"]


def test_health_names_what_is_down(app_url: str) -> None:
    response = http.get(f"{app_url}/healthz")
    assert response.status_code == 503  # no action server in this test
    assert response.json() == {"database": "ok", "rasa": "ok", "actions": "down"}
