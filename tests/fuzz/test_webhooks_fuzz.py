"""Every webhook, fed hostile bodies over real HTTP, signed and unsigned: never a 5xx, nothing
half-stored, and the next normal message is still answered (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.web.body import MAX_BODY_BYTES
from testkit.fakes import zalo_oa as oa
from tests.channels_rig import (
    TELEGRAM_SECRET,
    ZALO_BOT_SECRET,
    ZALO_OA_SECRET_KEY,
    Rig,
    fixture,
    fixtures_now,
    rig,
    wait_for,
)
from tests.fuzz import rig_checks
from tests.fuzz.strategies import FUZZ, Transport, hostile_body, transports

DATABASES = ("sqlite", "postgresql")


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(fixture(name))
    return loaded


def _telegram_fresh(doc: dict[str, Any], n: int) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["update_id"] = n
    for key in ("message", "edited_message", "callback_query", "my_chat_member"):
        part = doc.get(key) or {}
        for who in ("chat", "from"):
            if isinstance(part.get(who), dict) and part[who].get("id", 0) > 0:
                part[who]["id"] = n
    return doc


def _zalo_oa_fresh(doc: dict[str, Any], n: int) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for who in ("sender", "follower"):
        if isinstance(doc.get(who), dict):
            doc[who]["id"] = f"88{n}"
    if isinstance(doc.get("message"), dict):
        doc["message"]["msg_id"] = f"fuzz-{n}"
    return doc


def _zalo_bot_fresh(doc: dict[str, Any], n: int) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    message = (doc.get("result") or doc)["message"]
    message["chat"]["id"] = message["from"]["id"] = f"zb-{n}"
    message["message_id"] = f"zbm-{n}"
    return doc


def _zalo_oa_signature(raw: bytes) -> dict[str, str]:
    """The signature Zalo would send, when the body has the fields it is computed from;
    otherwise a made-up one."""
    try:
        data = json.loads(raw)
        app_id, stamp = data["app_id"], data["timestamp"]
        assert not isinstance(app_id, bool) and not isinstance(stamp, bool)
        mac = oa.sign_event(str(app_id), raw, str(stamp), ZALO_OA_SECRET_KEY)
    except Exception:  # not a body Zalo could sign (not JSON, no fields, lone surrogates…)
        return {"X-ZEvent-Signature": "mac=" + "0" * 64}
    return {"X-ZEvent-Signature": mac}


@dataclass(frozen=True)
class Webhook:
    channel: str
    path: str
    fixtures: tuple[str, ...]
    fresh: Callable[[dict[str, Any], int], dict[str, Any]]  # the fixture with new ids
    sign: Callable[[bytes], dict[str, str]]
    unsigned: tuple[dict[str, str], ...]
    signed_in_body: bool  # Zalo OA: the signature covers the body, so it is read first
    recipients: Callable[[Rig], list[str]]  # who the fake channel delivered to


WEBHOOKS = {
    "telegram": Webhook(
        "telegram",
        "/webhooks/telegram",
        (
            "telegram_text.json",
            "telegram_start.json",
            "telegram_callback.json",
            "telegram_kicked.json",
            "telegram_nul.json",
            "telegram_group.json",
        ),
        _telegram_fresh,
        lambda raw: {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        ({}, {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET + "x"}),
        False,
        lambda r: [str(m["chat_id"]) for m in r.telegram.sent],
    ),
    "zalo_oa": Webhook(
        "zalo_oa",
        "/webhooks/zalo-oa",
        ("zalo_oa_text.json", "zalo_oa_follow.json", "zalo_oa_unfollow.json", "zalo_oa_echo.json"),
        _zalo_oa_fresh,
        _zalo_oa_signature,
        ({}, {"X-ZEvent-Signature": "mac=" + "0" * 64}),
        True,
        lambda r: [str(m["user_id"]) for m in r.zalo_oa.sent],
    ),
    "zalo_bot": Webhook(
        "zalo_bot",
        "/webhooks/zalo-bot",
        ("zalo_bot_text.json", "zalo_bot_wrapped.json", "zalo_bot_unknown.json"),
        _zalo_bot_fresh,
        lambda raw: {"X-Bot-Api-Secret-Token": ZALO_BOT_SECRET},
        ({}, {"X-Bot-Api-Secret-Token": "zb-secret-124"}),
        False,
        lambda r: [str(m["chat_id"]) for m in r.zalo_bot.sent],
    ),
}
NORMAL = {"telegram": "telegram_text.json", "zalo_oa": "zalo_oa_text.json"}
NORMAL |= {"zalo_bot": "zalo_bot_text.json"}
RECIPIENT = {"telegram": str, "zalo_oa": lambda n: f"88{n}", "zalo_bot": lambda n: f"zb-{n}"}


@pytest.fixture
def app(database_url, session_factory) -> Iterator[Rig]:
    with rig(database_url, session_factory, now=fixtures_now) as r:
        yield r


def _bodies(hook: Webhook, ids: Iterator[int]) -> st.SearchStrategy[bytes]:
    """Hostile bodies built on each fixture of the channel, each with ids of its own."""
    return st.sampled_from(hook.fixtures).flatmap(
        lambda name: hostile_body(hook.fresh(_load(name), next(ids)))
    )


def _post(client: httpx.Client, hook: Webhook, body: bytes, how: Transport, headers: dict) -> int:
    """The status of one POST on a new connection (a refused body may leave an old one
    half-read, and the server closes it); a body over the cap may be cut off while sent."""
    request = how.request(body)
    headers = request["headers"] | headers | {"connection": "close"}
    try:
        return client.post(hook.path, content=request["content"], headers=headers).status_code
    except httpx.TransportError:
        assert len(body) > MAX_BODY_BYTES, "the connection broke on a body under the cap"
        return 413


def _one(
    app: Rig,
    client: httpx.Client,
    hook: Webhook,
    body: bytes,
    how: Transport,
    headers: dict,
    allowed: set[int],
) -> None:
    before = rig_checks.counts(app.sessions)
    status = _post(client, hook, body, how, headers)
    assert status in allowed, (status, body[:300])
    after = rig_checks.counts(app.sessions)
    if status >= 400:
        assert after == before, "a refused body stored something"
    elif after != before:
        assert after[0] == before[0] + 1
        rig_checks.newest_inbound_is_complete(app.sessions, hook.channel)


@pytest.mark.parametrize("name", sorted(WEBHOOKS))
def test_hostile_bodies_get_a_4xx_or_are_stored_whole(
    app: Rig, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    hook = WEBHOOKS[name]
    ids = itertools.count(10_000_000)
    unsigned_allowed = {400, 401, 413} if hook.signed_in_body else {401, 413}
    signed_allowed = {200, 400, 413} | ({401} if hook.signed_in_body else set())

    with (
        httpx.Client(base_url=app.url, timeout=30) as client,
        rig_checks.tracebacks(caplog) as found,
    ):

        @FUZZ
        @given(body=_bodies(hook, ids), how=transports, which=st.sampled_from(hook.unsigned))
        def unsigned(body: bytes, how: Transport, which: dict[str, str]) -> None:
            _one(app, client, hook, body, how, which, unsigned_allowed)

        @FUZZ
        @given(body=_bodies(hook, ids), how=transports)
        def signed(body: bytes, how: Transport) -> None:
            _one(app, client, hook, body, how, hook.sign(body), signed_allowed)

        unsigned()
        signed()

        # The next normal message, from someone new, is answered on the channel.
        n = next(ids)
        raw = json.dumps(hook.fresh(_load(NORMAL[name]), n), ensure_ascii=False).encode()
        assert _post(client, hook, raw, Transport("application/json", False), hook.sign(raw)) == 200
        recipient = RECIPIENT[name](n)
        wait_for(lambda: any(r["sender"] == f"{name}:{recipient}" for r in app.rasa.received))
        wait_for(lambda: recipient in hook.recipients(app))
        wait_for(lambda: rig_checks.settled(app.sessions), timeout=30)
    assert found == [], [r.getMessage() for r in found]
