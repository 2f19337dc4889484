"""The web chat API fed hostile bodies, cookies and query strings over real HTTP: never a 5xx,
nothing half-stored, and the next normal message is still answered (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.web.body import MAX_BODY_BYTES
from bot.web.webchat import COOKIE, Signer
from testkit import http
from tests.channels_rig import Rig, rig
from tests.fuzz import rig_checks
from tests.fuzz.strategies import FUZZ, Transport, hostile_body, hostile_text, transports

DATABASES = ("sqlite", "postgresql")
SECRET = "test-webchat-secret"  # the channels rig signs web chat cookies with it
UNLIMITED = dict(
    webchat_per_address_per_minute=1_000_000,
    webchat_new_per_address_per_minute=1_000_000,
    webchat_nlu_per_second=1_000_000.0,
)  # the limits have their own tests: here every body should reach the parser and the database


@pytest.fixture
def app(database_url, session_factory) -> Iterator[Rig]:
    with rig(database_url, session_factory, **UNLIMITED) as r:
        yield r


# Real bodies the page sends; the same ids each time, so Hypothesis can replay an example
# (a repeat in one conversation is answered from the log, which is fine too).
DOCUMENTS = (
    {"message_id": "m1", "text": "tôi bị sốt"},
    {"message_id": "m2", "payload": "/ask_hotline", "title": "Số đường dây nóng"},
)
bodies = st.sampled_from(DOCUMENTS).flatmap(hostile_body)


cookies = st.one_of(
    st.none(),
    st.just("valid"),  # replaced by a correctly signed cookie
    hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass").decode("latin-1")),
    st.sampled_from(
        [
            "x" * 5000,
            "00000000-0000-4000-8000-000000000000.AAAA",
            Signer(b"another key").sign("00000000-0000-4000-8000-000000000000"),
            "..",
            "%00",
        ]
    ),
)


def _cookie_header(value: str | None) -> dict[str, str]:
    if value is None:
        return {}
    if value == "valid":
        value = Signer(SECRET.encode()).sign("11111111-1111-4111-8111-111111111111")
    cleaned = "".join(c for c in value if c not in "\r\n;" and 32 < ord(c) < 127)
    return {"cookie": f"{COOKIE}={cleaned}"}  # what an HTTP client can put in a header


def _post(client: httpx.Client, body: bytes, how: Transport, headers: dict[str, str]) -> int:
    request = how.request(body)
    headers = request["headers"] | headers | {"connection": "close"}
    try:
        return client.post(
            "/api/chat/messages", content=request["content"], headers=headers
        ).status_code
    except httpx.TransportError:
        assert len(body) > MAX_BODY_BYTES, "the connection broke on a body under the cap"
        return 413


def test_hostile_posts_get_a_4xx_or_are_stored_whole(
    app: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        httpx.Client(base_url=app.url, timeout=30) as client,
        rig_checks.tracebacks(caplog) as found,
    ):

        @FUZZ
        @given(body=bodies, how=transports, cookie=cookies)
        def post(body: bytes, how: Transport, cookie: str | None) -> None:
            before = rig_checks.counts(app.sessions)
            status = _post(client, body, how, _cookie_header(cookie))
            assert status in {200, 403, 413, 415, 422}, (status, body[:300])
            after = rig_checks.counts(app.sessions)
            if status >= 400:
                assert after == before, "a refused body stored something"
            else:
                assert after[0] <= before[0] + 1
                if after != before:
                    rig_checks.newest_inbound_is_complete(app.sessions, "webchat")

        post()

        # The next normal message, from a new browser, is answered.
        client.cookies.clear()
        normal = client.post("/api/chat/messages", json={"message_id": "n", "text": "xin chào"})
        assert normal.status_code == 200
        assert [r["text"] for r in normal.json()["replies"]] == ["echo: xin chào"]
    assert found == [], [r.getMessage() for r in found]


positions = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    hostile_text,
    st.sampled_from(["", "1e9", "0x10", "١٢", "+5", " 5", "5 ", "9" * 5000, "NaN"]),
)


def test_hostile_reads_get_a_4xx_or_a_list(app: Rig, caplog: pytest.LogCaptureFixture) -> None:
    with (
        httpx.Client(base_url=app.url, timeout=30) as client,
        rig_checks.tracebacks(caplog) as found,
    ):

        @FUZZ
        @given(after=positions, cookie=cookies)
        def read(after: str, cookie: str | None) -> None:
            # Every byte percent-encoded, lone surrogates as their raw UTF-8 bytes.
            query = "after=" + quote(after.encode("utf-8", "surrogatepass"), safe="")
            response = client.get(f"/api/chat/messages?{query}", headers=_cookie_header(cookie))
            assert response.status_code in {200, 422}, (response.status_code, after[:100])
            if response.status_code == 200:
                assert isinstance(response.json()["replies"], list)
                assert response.headers["cache-control"] == "no-store"

        read()
    assert found == [], [r.getMessage() for r in found]


def test_a_raw_json_number_too_big_for_an_id_is_refused(app: Rig) -> None:
    raw = json.dumps({"message_id": "x", "text": "a"}).replace('"x"', "1e400").encode()
    response = http.post(
        f"{app.url}/api/chat/messages", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
