"""Webhooks of every channel, as tables: (label, fixture, headers, status, what reaches Rasa)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.storage import conversations as log
from tests.channels_rig import (
    TELEGRAM_SECRET,
    ZALO_BOT_SECRET,
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


@pytest.fixture
def app(database_url, session_factory) -> Iterator[Rig]:
    with rig(database_url, session_factory, now=fixtures_now) as r:
        yield r


TELEGRAM = [
    ("text", "telegram_text.json", GOOD_TG, 200, "số đường dây nóng"),
    ("/start greets and offers news", "telegram_start.json", GOOD_TG, 200, "/start_chat"),
    ("/stop unsubscribes", "telegram_stop.json", GOOD_TG, 200, "/unsubscribe_alerts"),
    ("button press", "telegram_callback.json", GOOD_TG, 200, "/ask_hotline"),
    ("NUL bytes", "telegram_nul.json", GOOD_TG, 200, "tôi bị sốt"),
    ("edited message ignored", "telegram_edited.json", GOOD_TG, 200, None),
    ("group chat ignored", "telegram_group.json", GOOD_TG, 200, None),
    ("missing secret", "telegram_text.json", {}, 401, None),
    ("wrong secret", "telegram_text.json", {"X-Telegram-Bot-Api-Secret-Token": "nope"}, 401, None),
    (
        "secret of other case",
        "telegram_text.json",
        {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET.upper()},
        401,
        None,
    ),
    ("no update_id", "telegram_no_update_id.json", GOOD_TG, 400, None),
]

ZALO_BOT = [
    ("text", "zalo_bot_text.json", GOOD_ZB, 200, "số đường dây nóng"),
    ("wrapped in ok/result", "zalo_bot_wrapped.json", GOOD_ZB, 200, "xin chào"),
    ("unknown event ignored", "zalo_bot_unknown.json", GOOD_ZB, 200, None),
    ("wrong secret", "zalo_bot_text.json", {"X-Bot-Api-Secret-Token": "zb-secret-124"}, 401, None),
]


def _check(
    app: Rig, path: str, raw: bytes, headers: dict[str, str], status: int, reaches: str | None
) -> None:
    """Post ``raw``; check the status and what (if anything) reached the assistant."""
    response = app.post(path, raw, headers)
    assert response.status_code == status, response.text
    if reaches is None:
        app.settle()
        assert app.rasa.received == []
    else:
        wait_for(lambda: app.rasa.received)
        assert app.rasa.received[0]["message"] == reaches


@pytest.mark.parametrize(
    ("label", "name", "headers", "status", "reaches"), TELEGRAM, ids=[t[0] for t in TELEGRAM]
)
def test_telegram_webhook(app: Rig, label, name, headers, status, reaches) -> None:
    _check(app, "/webhooks/telegram", fixture(name), headers, status, reaches)
    if status == 401:
        with app.sessions() as s:
            assert s.scalars(select(log.Message)).all() == []  # nothing stored


@pytest.mark.parametrize(
    ("label", "name", "headers", "status", "reaches"), ZALO_BOT, ids=[t[0] for t in ZALO_BOT]
)
def test_zalo_bot_webhook(app: Rig, label, name, headers, status, reaches) -> None:
    _check(app, "/webhooks/zalo-bot", fixture(name), headers, status, reaches)


ZALO_OA = [
    ("text", "zalo_oa_text.json", None, 200, "số đường dây nóng"),
    ("follow greets and offers news", "zalo_oa_follow.json", None, 200, "/start_chat"),
    ("our own echo ignored", "zalo_oa_echo.json", None, 200, None),
    ("unknown event ignored", "zalo_oa_unknown.json", None, 200, None),
    ("no sender", "zalo_oa_no_sender.json", None, 400, None),
    ("forged signature", "zalo_oa_text.json", "forged", 401, None),
    ("signed with another key", "zalo_oa_text.json", "other-key", 401, None),
    ("no signature", "zalo_oa_text.json", "none", 401, None),
]


@pytest.mark.parametrize(
    ("label", "name", "signing", "status", "reaches"), ZALO_OA, ids=[t[0] for t in ZALO_OA]
)
def test_zalo_oa_webhook(app: Rig, label, name, signing, status, reaches) -> None:
    raw = fixture(name)
    headers = {
        None: zalo_oa_headers(raw),
        "forged": {"X-ZEvent-Signature": "mac=" + "0" * 64},
        "other-key": zalo_oa_headers(raw, "another-secret"),
        "none": {},
    }[signing]
    _check(app, "/webhooks/zalo-oa", raw, headers, status, reaches)


BAD_BODIES = [
    ("invalid JSON", b"{not json", 400),
    ("1 MB body", b'{"update_id": 1, "x": "' + b"a" * 1_000_000 + b'"}', 413),
    ("a list", b"[1, 2, 3]", 400),
]


@pytest.mark.parametrize(("label", "raw", "status"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_bodies(app: Rig, label: str, raw: bytes, status: int) -> None:
    assert app.post("/webhooks/telegram", raw, GOOD_TG).status_code == status
    assert app.post("/webhooks/zalo-bot", raw, GOOD_ZB).status_code == status


def test_a_replayed_update_is_processed_once(app: Rig) -> None:
    for _ in range(3):
        assert (
            app.post("/webhooks/telegram", fixture("telegram_text.json"), GOOD_TG).status_code
            == 200
        )
    wait_for(lambda: app.telegram.sent)
    app.settle()
    assert len(app.rasa.received) == 1
    assert [m["text"] for m in app.telegram.sent] == ["echo: số đường dây nóng"]


def test_reply_reaches_each_channel(app: Rig) -> None:
    app.post("/webhooks/telegram", fixture("telegram_text.json"), GOOD_TG)
    raw = fixture("zalo_oa_text.json")
    app.post("/webhooks/zalo-oa", raw, zalo_oa_headers(raw))
    app.post("/webhooks/zalo-bot", fixture("zalo_bot_text.json"), GOOD_ZB)
    assert wait_for(lambda: app.telegram.sent)[0]["chat_id"] == 555001
    assert wait_for(lambda: app.zalo_oa.sent)[0]["user_id"] == "8800001"
    assert wait_for(lambda: app.zalo_bot.sent)[0]["chat_id"] == "zb-7001"
    assert app.rasa.received[0]["sender"].split(":")[0] in {"telegram", "zalo_oa", "zalo_bot"}


def test_button_press_is_acknowledged_to_telegram(app: Rig) -> None:
    app.post("/webhooks/telegram", fixture("telegram_callback.json"), GOOD_TG)
    wait_for(lambda: app.telegram.callback_answers)


@pytest.mark.parametrize(
    ("path", "name", "headers"),
    [
        ("/webhooks/telegram", "telegram_kicked.json", GOOD_TG),
        ("/webhooks/zalo-oa", "zalo_oa_unfollow.json", None),
    ],
)
def test_block_or_unfollow_makes_the_person_unreachable(app: Rig, path, name, headers) -> None:
    raw = fixture(name)
    assert app.post(path, raw, headers or zalo_oa_headers(raw)).status_code == 200
    with app.sessions() as s:
        [account] = s.scalars(select(log.ChannelAccount)).all()
        assert account.reachable is False
    app.settle()
    assert app.rasa.received == []


def test_a_channel_that_is_off_answers_404(database_url, session_factory) -> None:
    with rig(
        database_url, session_factory, now=fixtures_now, telegram_bot_token="", zalo_bot_token=""
    ) as off:
        assert (
            off.post("/webhooks/telegram", fixture("telegram_text.json"), GOOD_TG).status_code
            == 404
        )
        assert (
            off.post("/webhooks/zalo-bot", fixture("zalo_bot_text.json"), GOOD_ZB).status_code
            == 404
        )


def test_a_flood_from_one_sender_is_kept_but_answered_once_with_a_notice(
    database_url, session_factory
) -> None:
    from bot import wording
    from testkit.fakes.telegram import update_message

    # A stopped clock: the buckets never refill, however slowly the machine posts. Replies
    # unpaced: eleven to one chat at Telegram's 1/s would hold the app's shutdown for 10 s.
    unpaced = {"telegram_chat_interval": 0.0}
    with rig(
        database_url,
        session_factory,
        now=fixtures_now,
        clock=lambda: 0.0,
        rate_limits=unpaced,
    ) as app:
        app.telegram.per_chat_burst = 100
        _flood(app, wording.system("too_fast"), update_message)


def _flood(app: Rig, too_fast: str, update_message: Any) -> None:
    for i in range(25):
        app.post("/webhooks/telegram", update_message(2000 + i, 777, f"spam {i}"), GOOD_TG)
    app.post("/webhooks/telegram", update_message(3000, 888, "xin chào"), GOOD_TG)
    wait_for(lambda: any(m["chat_id"] == 888 for m in app.telegram.sent))  # others unaffected
    wait_for(lambda: len([r for r in app.rasa.received if r["sender"] == "telegram:777"]) == 10)
    app.settle()  # no eleventh answer still on its way
    with app.sessions() as s:
        inbound = s.scalars(select(log.Message).where(log.Message.direction == log.INBOUND)).all()
        notices = s.scalars(select(log.Message.text).where(log.Message.text == too_fast)).all()
    assert len(inbound) == 26  # every message is kept
    assert len(notices) == 1  # one polite notice, not one per message
    assert len([r for r in app.rasa.received if r["sender"] == "telegram:777"]) == 10
