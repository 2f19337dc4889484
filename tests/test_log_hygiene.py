"""No token, webhook secret or phone number in any log line, at any level (bot/logs.py).

The app runs in-process with every channel on; people send their phone number through every
webhook and the web chat, the assistant repeats it, a Zalo token is refreshed and sends fail.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest

from bot import logs
from bot.settings import Settings
from testkit import http
from testkit.fakes import telegram as tg
from testkit.fakes import zalo_bot as zb
from testkit.fakes import zalo_oa as oa
from tests.channels_rig import (
    TELEGRAM_SECRET,
    ZALO_BOT_SECRET,
    ZALO_OA_SECRET_KEY,
    Rig,
    rig,
    wait_for,
    zalo_oa_headers,
)

PHONES = ["0912 345 678", "0912345678", "+84 912 345 678", "024.3825.1234"]
LOUD = ("httpx", "httpcore", "telegram")  # what they print at DEBUG: URLs, bodies, texts
# What the app's process reads from its environment in this run (the rig's channel settings).
PROCESS_SETTINGS = Settings(
    telegram_bot_token=tg.TOKEN,
    telegram_webhook_secret=TELEGRAM_SECRET,
    zalo_oa_app_secret=oa.APP_SECRET,
    zalo_oa_secret_key=ZALO_OA_SECRET_KEY,
    zalo_oa_access_token=oa.ACCESS_TOKEN,
    zalo_oa_refresh_token=oa.REFRESH_TOKEN,
    zalo_bot_token=zb.TOKEN,
    zalo_bot_webhook_secret=ZALO_BOT_SECRET,
)


@pytest.fixture
def quiet() -> Iterator[None]:
    """The library levels every Loa process sets, undone after the test."""
    saved = {name: logging.getLogger(name).level for name in logs.QUIET}
    logs.quiet_libraries()
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def _converse(app: Rig) -> list[str]:
    """Messages with phone numbers through every channel; the secrets that were in play."""
    app.rasa.reply = f"Loa ghi nhận số {PHONES[0]}"
    app.telegram.fail_next(1, "500")
    app.zalo_bot.fail_next(1, "500")
    app.zalo_oa.expire(oa.ACCESS_TOKEN)  # the next send refreshes the token pair
    app.telegram.blocked.add(43)
    for i, phone in enumerate(PHONES):
        text = f"số của tôi là {phone}"
        app.post(
            "/webhooks/telegram",
            tg.update_message(100 + i, 42 + (i == 3), text),
            {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        )
        app.post(
            "/webhooks/zalo-bot",
            zb.event_text("zb-1", text, f"zb-m{i}"),
            {"X-Bot-Api-Secret-Token": ZALO_BOT_SECRET},
        )
        raw = json.dumps(oa.user_send_text("oa-1", text)).encode()
        app.post("/webhooks/zalo-oa", raw, zalo_oa_headers(raw))
        body = {"message_id": str(uuid.uuid4()), "text": text}
        http.post(f"{app.url}/api/chat/messages", json=body, timeout=10)
    wait_for(lambda: len(app.telegram.sent) >= 3 and len(app.zalo_bot.sent) >= 4)
    wait_for(lambda: len(app.zalo_oa.sent) >= 4 and app.zalo_oa.refresh_count == 1)
    return [
        tg.TOKEN,
        zb.TOKEN,
        TELEGRAM_SECRET,
        ZALO_BOT_SECRET,
        ZALO_OA_SECRET_KEY,
        oa.APP_SECRET,
        oa.ACCESS_TOKEN,
        oa.REFRESH_TOKEN,
        *app.zalo_oa.access_tokens,  # the refreshed pair
        app.zalo_oa.refresh_token,
    ]


def _leaks(lines: list[str], secrets: list[str]) -> list[str]:
    digits = [phone.replace(" ", "").replace(".", "") for phone in PHONES]
    words = [*secrets, *PHONES, *digits, "345 678", "3825"]
    return [line for line in lines if any(word in line for word in words)]


def test_no_secret_or_phone_number_is_logged_at_debug(
    database_url, session_factory, caplog: pytest.LogCaptureFixture, quiet: None
) -> None:
    caplog.set_level(logging.DEBUG)
    with rig(database_url, session_factory) as app:
        secrets = _converse(app)
    lines = [record.getMessage() for record in caplog.records]
    lines += [caplog.text]  # tracebacks included
    # The capture works: Loa's own lines about these very conversations are there.
    assert "zalo access token refreshed" in lines
    assert "telegram:43 is unreachable: Forbidden: bot was blocked by the user" in lines
    assert _leaks(lines, secrets) == []


def test_the_process_handler_masks_what_slips_through(database_url, session_factory) -> None:
    """``configure``'s own handler with the HTTP and Telegram libraries at DEBUG: the filter
    alone keeps the secrets and phone numbers out. (Not SQL echo: it shows every value,
    refreshed tokens no filter knows included; only its level keeps it quiet.)"""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure(PROCESS_SETTINGS, level=logging.DEBUG, stream=stream)
        for name in LOUD:
            logging.getLogger(name).setLevel(logging.DEBUG)
        with rig(database_url, session_factory) as app:
            secrets = _converse(app)
        try:
            raise RuntimeError(f"failed at https://api.telegram.org/bot{tg.TOKEN}/getMe")
        except RuntimeError:
            logging.getLogger("loa.test").exception("call %s failed", PHONES[0])
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
        for name in logs.QUIET:
            logging.getLogger(name).setLevel(logging.NOTSET)
    lines = stream.getvalue().splitlines()
    # The refreshed Zalo OA pair is in no setting: it travels in a header, which nothing logs.
    assert _leaks(lines, secrets) == []
    assert any("/bot[secret]/sendMessage" in line for line in lines)  # httpx was heard
    assert any("[phone]" in line for line in lines)  # and Telegram's message bodies


MASKED = [
    ("gọi 0912 345 678 nhé", "gọi [phone] nhé"),
    ("+84912345678", "[phone]"),
    ("máy bàn 024.3825.1234", "máy bàn [phone]"),
    ("0912-345-678.", "[phone]."),
    (
        "POST https://api.telegram.org/bot1:abc/sendMessage",
        "POST https://api.telegram.org/bot[secret]/sendMessage",
    ),
    ("key=topsecret-value-1 end", "key=[secret] end"),
    # Not phone numbers: hotlines, years, ids, timestamps, amounts.
    ("gọi 115 hoặc 1900 9095", "gọi 115 hoặc 1900 9095"),
    ("message 1712345678901 of telegram:84912345", "message 1712345678901 of telegram:84912345"),
    ("hỗ trợ 3.000.000 đồng", "hỗ trợ 3.000.000 đồng"),
]


@pytest.mark.parametrize(("line", "logged"), MASKED, ids=[m[0] for m in MASKED])
def test_redact(line: str, logged: str) -> None:
    assert logs.Redact(["topsecret-value-1"]).redact(line) == logged


def test_short_and_empty_settings_are_not_taken_for_secrets() -> None:
    cfg = Settings(
        telegram_bot_token="abc",
        database_url="postgresql://loa:db-password-1@db/loa",
        zalo_bot_token="zb-long-token-1",
    )
    assert sorted(logs.secrets_of(cfg)) == ["db-password-1", "zb-long-token-1"]
