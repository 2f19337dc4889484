"""The fake Zalo OA API answers like the real one: HTTP 200 with error codes, single-use refresh."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from testkit.fakes.server import serve
from testkit.fakes.zalo_oa import (
    ACCESS_TOKEN,
    APP_ID,
    APP_SECRET,
    REFRESH_TOKEN,
    FakeZaloOA,
    sign_event,
    user_send_text,
)

CS = "/v3.0/oa/message/cs"


@pytest.fixture
def zalo() -> Iterator[tuple[FakeZaloOA, str]]:
    fake = FakeZaloOA()
    with serve(fake.app()) as url:
        yield fake, url


def text_body(user_id: str, text: str) -> dict:
    return {"recipient": {"user_id": user_id}, "message": {"text": text}}


async def post(url: str, body: dict, token: str = ACCESS_TOKEN, path: str = CS) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(f"{url}{path}", json=body, headers={"access_token": token})


async def test_send_text_succeeds_and_is_recorded(zalo: tuple[FakeZaloOA, str]) -> None:
    fake, url = zalo
    answer = await post(url, text_body("u1", "xin chào"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["error"] == 0 and body["message"] == "Success"
    data = body["data"]
    assert data["user_id"] == "u1" and isinstance(data["sent_time"], int)
    int(data["message_id"], 16)  # hex
    assert fake.sent[0]["user_id"] == "u1" and fake.sent[0]["text"] == "xin chào"
    assert fake.sent[0]["message_id"] == data["message_id"] and fake.sent[0]["endpoint"] == "cs"
    assert fake.requests[0]["path"] == CS and fake.requests[0]["status"] == 200
    assert fake.requests[0]["params"]["recipient"] == {"user_id": "u1"}


async def test_buttons_and_images_are_parsed(zalo: tuple[FakeZaloOA, str]) -> None:
    fake, url = zalo
    buttons = [{"title": "Triệu chứng", "type": "oa.query.show", "payload": "#trieu_chung"}]
    with_buttons = {
        "recipient": {"user_id": "u1"},
        "message": {
            "text": "Chọn:",
            "attachment": {"type": "template", "payload": {"buttons": buttons}},
        },
    }
    image = {"media_type": "image", "url": "https://example.org/map.png"}
    with_image = {
        "recipient": {"user_id": "u1"},
        "message": {
            "attachment": {
                "type": "template",
                "payload": {"template_type": "media", "elements": [image]},
            }
        },
    }
    assert (await post(url, with_buttons)).json()["error"] == 0
    assert (await post(url, with_image, path="/v3.0/oa/message/transaction")).json()["error"] == 0
    assert fake.sent[0]["buttons"] == buttons
    assert fake.sent[1]["image_url"] == "https://example.org/map.png"
    assert fake.sent[1]["text"] is None and fake.sent[1]["endpoint"] == "transaction"


async def test_errors_come_as_http_200_with_codes(zalo: tuple[FakeZaloOA, str]) -> None:
    fake, url = zalo
    fake.not_followers.add("gone")
    fake.refuses.add("no")
    fake.last_interaction["old"] = time.time() - 8 * 24 * 3600
    fake.last_interaction["recent"] = time.time() - 6 * 24 * 3600
    cases = [
        (await post(url, text_body("u1", "x"), token="wrong"), -216),
        (await post(url, text_body("u1", "x" * 2001)), -201),
        (await post(url, text_body("u1", "")), -201),
        (await post(url, {"message": {"text": "x"}}), -201),
        (await post(url, text_body("gone", "x")), -213),
        (await post(url, text_body("no", "x")), -217),
        (await post(url, text_body("old", "x")), -230),
    ]
    for answer, code in cases:
        assert answer.status_code == 200
        assert answer.json()["error"] == code, answer.json()
        assert answer.json()["message"]
    assert cases[0][0].json()["message"] == "Access token is invalid"
    assert "7 days" in cases[-1][0].json()["message"]
    assert fake.sent == []
    assert (await post(url, text_body("recent", "x" * 2000))).json()["error"] == 0
    promo = await post(url, text_body("old", "x"), path="/v3.0/oa/message/promotion")
    assert promo.json()["error"] == 0  # the 7-day window binds consultation messages only


async def test_expired_token_is_invalid(zalo: tuple[FakeZaloOA, str]) -> None:
    fake, url = zalo
    fake.expire(ACCESS_TOKEN)
    assert (await post(url, text_body("u1", "x"))).json()["error"] == -216


async def test_refresh_is_single_use(zalo: tuple[FakeZaloOA, str]) -> None:
    fake, url = zalo
    fake.expire(ACCESS_TOKEN)
    form = {"app_id": APP_ID, "grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN}
    async with httpx.AsyncClient(base_url=url) as client:
        first = await client.post(
            "/v4/oa/access_token", data=form, headers={"secret_key": APP_SECRET}
        )
        again = await client.post(
            "/v4/oa/access_token", data=form, headers={"secret_key": APP_SECRET}
        )
        wrong = await client.post("/v4/oa/access_token", data=form, headers={"secret_key": "nope"})
        other = {**form, "app_id": "1"}
        wrong_app = await client.post(
            "/v4/oa/access_token", data=other, headers={"secret_key": APP_SECRET}
        )
        unknown = {**form, "refresh_token": "never-issued"}
        never = await client.post(
            "/v4/oa/access_token", data=unknown, headers={"secret_key": APP_SECRET}
        )
    tokens = first.json()
    assert set(tokens) == {"access_token", "refresh_token", "expires_in"}
    assert tokens["expires_in"] == "90000"
    assert (
        tokens["refresh_token"] != REFRESH_TOKEN and fake.refresh_token == tokens["refresh_token"]
    )
    assert fake.refresh_count == 1
    for answer in (again, never):
        assert answer.status_code == 200
        assert answer.json()["error"] == -14014
        assert answer.json()["error_name"] == "Invalid refresh token"
        assert answer.json()["error_description"]
    assert wrong.json()["error"] == -14002 and wrong_app.json()["error"] == -14002
    assert wrong.json()["error_name"] == "Invalid app"
    assert (await post(url, text_body("u1", "x"), token=tokens["access_token"])).json()[
        "error"
    ] == 0
    renewed = {**form, "refresh_token": tokens["refresh_token"]}
    async with httpx.AsyncClient(base_url=url) as client:
        second = await client.post(
            "/v4/oa/access_token", data=renewed, headers={"secret_key": APP_SECRET}
        )
    assert second.json()["refresh_token"] != tokens["refresh_token"] and fake.refresh_count == 2


async def test_injected_failures(zalo: tuple[FakeZaloOA, str]) -> None:
    fake, url = zalo
    fake.fail_next(1, "500")
    fake.fail_next(1, "-32")
    fake.fail_next(1, "429")
    fake.fail_next(1, "-100")
    server_error = await post(url, text_body("u1", "a"))
    assert server_error.status_code == 500
    assert [(await post(url, text_body("u1", "a"))).json()["error"] for _ in range(3)] == [
        -32,
        -32,
        -100,
    ]
    assert fake.sent == [] and fake.violations == []
    assert (await post(url, text_body("u1", "b"))).json()["error"] == 0
    with pytest.raises(ValueError):
        fake.fail_next(1, "boom")


async def test_timeout_accepts_then_answers_late(zalo: tuple[FakeZaloOA, str]) -> None:
    fake, url = zalo
    fake.slow_seconds = 1.0
    fake.fail_next(1, "timeout")
    async with httpx.AsyncClient(timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(
                f"{url}{CS}", json=text_body("u1", "đã gửi"), headers={"access_token": ACCESS_TOKEN}
            )
    assert [m["text"] for m in fake.sent] == ["đã gửi"]


async def test_per_minute_cap_answers_minus_32_and_records(zalo: tuple[FakeZaloOA, str]) -> None:
    fake, url = zalo
    fake.per_minute_cap = 3
    codes = [(await post(url, text_body("u1", str(i)))).json()["error"] for i in range(4)]
    assert codes == [0, 0, 0, -32]
    assert len(fake.sent) == 3 and [v["rule"] for v in fake.violations] == ["per_minute"]


async def test_form_and_query_bodies_are_read(zalo: tuple[FakeZaloOA, str]) -> None:
    fake, url = zalo
    form = {"recipient": json.dumps({"user_id": "u9"}), "message": json.dumps({"text": "form"})}
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{url}{CS}", data=form, headers={"access_token": ACCESS_TOKEN})
    assert answer.json()["error"] == 0 and fake.sent[0]["user_id"] == "u9"


def test_sign_event_is_plain_sha256_of_the_concatenation() -> None:
    event = user_send_text("u1", "xin chào")
    raw = json.dumps(event, ensure_ascii=False).encode()
    expected = hashlib.sha256(
        APP_ID.encode() + raw + event["timestamp"].encode() + b"oa-secret"
    ).hexdigest()
    assert sign_event(APP_ID, raw, event["timestamp"], "oa-secret") == f"mac={expected}"
    assert event["event_name"] == "user_send_text" and event["sender"] == {"id": "u1"}
    assert event["message"]["text"] == "xin chào" and event["timestamp"].isdigit()
