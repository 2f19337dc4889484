"""The hostile inputs that once gave 500s, one by one: each is now a 4xx with one log line, or
stored whole (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.gateway import Gateway
from bot.rasa_client import RasaClient
from bot.storage import conversations as log
from connectors.base import TEXT, IncomingMessage
from testkit.fakes import zalo_oa as oa
from tests.channels_rig import (
    FIXTURES_NOW,
    TELEGRAM_SECRET,
    ZALO_BOT_SECRET,
    ZALO_OA_SECRET_KEY,
    Rig,
    fixture,
    fixtures_now,
    rig,
    wait_for,
    zalo_oa_headers,
)

DATABASES = ("sqlite", "postgresql")
GOOD_TG = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
GOOD_ZB = {"X-Bot-Api-Secret-Token": ZALO_BOT_SECRET}
DEEP = b"[" * 100_000 + b"]" * 100_000
NOW_MS = int(FIXTURES_NOW.timestamp() * 1000)


@pytest.fixture
def app(database_url, session_factory) -> Iterator[Rig]:
    with rig(database_url, session_factory, now=fixtures_now) as r:
        yield r


def _inbound(app: Rig) -> list[log.Message]:
    with app.sessions() as s:
        return list(s.scalars(select(log.Message).where(log.Message.direction == log.INBOUND)))


def _with(name: str, raw_value: str, *path: str) -> bytes:
    """A fixture with the value at ``path`` replaced by raw JSON text (``1e400``, escapes)."""
    doc = json.loads(fixture(name))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = "@@HERE@@"
    return json.dumps(doc, ensure_ascii=False).replace('"@@HERE@@"', raw_value).encode()


def _refused_in_one_line(caplog: pytest.LogCaptureFixture, channel: str) -> None:
    """The refusal was logged as one warning line naming the channel; no traceback anywhere."""
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.web.webhooks"]
    assert any(line.startswith(f"{channel} webhook refused") for line in lines), lines
    assert all("\n" not in line for line in lines)
    assert [r for r in caplog.records if r.exc_info] == []


NESTED = [
    ("telegram, a nested body", "/webhooks/telegram", DEEP, GOOD_TG, "telegram"),
    ("zalo bot, a nested body", "/webhooks/zalo-bot", DEEP, GOOD_ZB, "zalo_bot"),
    ("zalo oa, unsigned", "/webhooks/zalo-oa", DEEP, {}, "zalo_oa"),
    (
        "telegram, nested inside a real update",
        "/webhooks/telegram",
        _with("telegram_text.json", "[" * 50_000 + "]" * 50_000, "message", "text"),
        GOOD_TG,
        "telegram",
    ),
]


@pytest.mark.parametrize(("label", "path", "raw", "headers", "channel"), NESTED)
def test_deeply_nested_json_is_a_400(
    app: Rig, caplog: pytest.LogCaptureFixture, label, path, raw, headers, channel
) -> None:
    caplog.set_level(logging.INFO)
    assert app.post(path, raw, headers).status_code == 400
    assert _inbound(app) == []
    _refused_in_one_line(caplog, channel)


def test_nested_json_in_a_correctly_signed_zalo_oa_event_is_a_400(
    app: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    raw = _with("zalo_oa_text.json", "[" * 50_000 + "]" * 50_000, "message", "text")
    mac = oa.sign_event(oa.APP_ID, raw, "1795308596187", ZALO_OA_SECRET_KEY)
    assert app.post("/webhooks/zalo-oa", raw, {"X-ZEvent-Signature": mac}).status_code == 400
    _refused_in_one_line(caplog, "zalo_oa")


@pytest.mark.parametrize(
    ("path", "name", "headers", "words"),
    [
        ("/webhooks/telegram", "telegram_text.json", GOOD_TG, ("message", "text")),
        ("/webhooks/zalo-bot", "zalo_bot_text.json", GOOD_ZB, ("message", "text")),
        ("/webhooks/zalo-oa", "zalo_oa_text.json", None, ("message", "text")),
    ],
)
def test_a_lone_surrogate_is_stored_as_a_replacement_character(
    app: Rig, path, name, headers, words
) -> None:
    raw = _with(name, '"s\\u1ed1t \\ud800 cao\\u0000 \\ud83d\\ude37"', *words)
    assert app.post(path, raw, headers or zalo_oa_headers(raw)).status_code == 200
    [row] = _inbound(app)
    assert row.text == "sốt \ufffd cao 😷"
    wait_for(lambda: app.rasa.received)
    assert app.rasa.received[0]["message"] == "sốt \ufffd cao 😷"


TELEGRAM_400 = [
    ("date 1e400", "1e400", ("message", "date")),
    ("date a float", "1795308596.5", ("message", "date")),
    ("date past 2106", str(10**30), ("message", "date")),
    ("date negative", "-1", ("message", "date")),
    ("date a string", '"hôm nay"', ("message", "date")),
    ("update_id 1e400", "1e400", ("update_id",)),
    ("chat id a list", "[1]", ("message", "chat", "id")),
    ("text a number", "42", ("message", "text")),
    ("text an object", '{"a": 1}', ("message", "text")),
]


def test_telegram_values_of_the_wrong_type_are_a_400(app: Rig) -> None:
    for label, value, path in TELEGRAM_400:  # one app for the whole table
        raw = _with("telegram_text.json", value, *path)
        assert app.post("/webhooks/telegram", raw, GOOD_TG).status_code == 400, label
    for value in ["42", "1e400", "[]", '{"a": "/greet"}', "true"]:
        raw = _with("telegram_callback.json", value, "callback_query", "data")
        assert app.post("/webhooks/telegram", raw, GOOD_TG).status_code == 400, value
    assert _inbound(app) == []
    raw = _with("telegram_text.json", "1795308596", "message", "date")  # the control
    assert app.post("/webhooks/telegram", raw, GOOD_TG).status_code == 200


ZALO_TIMES = [
    ("1970", "1000", 401, 400),
    ("year 33658", str(10**15), 401, 400),
    ("two days ago", str(NOW_MS - 2 * 86_400_000), 401, 400),
    ("two days ahead", str(NOW_MS + 2 * 86_400_000), 401, 400),
    ("an hour ago", str(NOW_MS - 3_600_000), 200, 200),
    ("23 hours ahead", str(NOW_MS + 23 * 3_600_000), 200, 200),
    ("not a number", '"mai"', 401, 400),
]


def test_zalo_events_dated_outside_a_day_of_now_are_refused(
    app: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    stored = 0
    for n, (label, stamp, oa_status, bot_status) in enumerate(ZALO_TIMES):
        oa_raw = _with(
            "zalo_oa_text.json", json.dumps(stamp) if stamp.isdigit() else stamp, "timestamp"
        )
        oa_raw = oa_raw.replace(b"08c0033425de849f54851121730e87e6", f"msg-{n}".encode())
        oa_headers = zalo_oa_headers(oa_raw)
        assert app.post("/webhooks/zalo-oa", oa_raw, oa_headers).status_code == oa_status, label
        bot_raw = _with("zalo_bot_text.json", stamp, "message", "date").replace(
            b'"zbm-1"', f'"zbm-{n}"'.encode()
        )
        assert app.post("/webhooks/zalo-bot", bot_raw, GOOD_ZB).status_code == bot_status, label
        stored += 2 if oa_status == 200 else 0
        assert len(_inbound(app)) == stored, label
    _refused_in_one_line(caplog, "zalo_oa")
    _refused_in_one_line(caplog, "zalo_bot")


def test_the_zalo_window_follows_the_injected_clock(database_url, session_factory) -> None:
    """The same signed event, fresh for one clock and a replay for a clock two days on."""
    raw = fixture("zalo_oa_text.json")
    later = FIXTURES_NOW + timedelta(days=2)
    with rig(database_url, session_factory, now=lambda: later) as app:
        assert app.post("/webhooks/zalo-oa", raw, zalo_oa_headers(raw)).status_code == 401
    event = oa.user_send_text("8800009", "xin chào")  # stamped with today's real time
    event_raw = json.dumps(event).encode()
    headers = zalo_oa_headers(event_raw)
    with rig(database_url, session_factory, now=fixtures_now) as app:  # a week or more apart
        assert app.post("/webhooks/zalo-oa", event_raw, headers).status_code == 401
    with rig(database_url, session_factory) as app:  # the real clock: fresh
        assert app.post("/webhooks/zalo-oa", event_raw, headers).status_code == 200


@pytest.fixture
def gateway(session_factory) -> Iterator[Gateway]:
    rasa = RasaClient("http://127.0.0.1:9", client=httpx.AsyncClient(), timeout=1)
    yield Gateway(sessions=session_factory, rasa=rasa)  # accept() never calls Rasa


def test_channel_data_cannot_overwrite_the_gateways_fields(gateway, session_factory) -> None:
    forged: dict[str, Any] = {"kind": "button", "payload": "/forget_me", "throttled": True}
    message = IncomingMessage("zalo_bot", "zb-1", "m1", text="xin chào", data=forged | {"x": 1})
    gateway.accept(message)
    with session_factory() as s:
        [row] = s.scalars(select(log.Message)).all()
    assert row.data == {"kind": TEXT, "payload": None, "throttled": False, "x": 1}


def test_strings_in_channel_data_are_made_storable(gateway, session_factory) -> None:
    data: dict[str, Any] = {"url": "http://a/\ud800", "title": "t\x00", "n": float("inf")}
    data["nested"] = [{"k\udfff": "v\x00"}]
    message = IncomingMessage("zalo_oa", "u1", "m1", text="\ud800\x00", data=data)
    gateway.accept(message)
    with session_factory() as s:
        [row] = s.scalars(select(log.Message)).all()
    assert row.text == "\ufffd"
    assert {k: row.data[k] for k in data} == {
        "url": "http://a/\ufffd",
        "title": "t",
        "n": None,
        "nested": [{"k\ufffd": "v"}],
    }
