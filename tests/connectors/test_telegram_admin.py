"""`loa telegram set-webhook` and `loa telegram poll` against the fake Telegram API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.telegram import admin
from connectors.telegram.outbound import make_bot
from testkit.fakes import telegram as tg
from testkit.fakes.server import serve
from tests.channels_rig import TELEGRAM_SECRET, rig, wait_for

ROOT = Path(__file__).resolve().parents[2]


async def test_set_webhook_registers_url_and_secret() -> None:
    fake = tg.FakeTelegram()
    with serve(fake.app()) as url:
        bot = make_bot(tg.TOKEN, url)
        await admin.set_webhook(
            bot, "https://loa.example.gov.vn/webhooks/telegram", secret=TELEGRAM_SECRET
        )
    assert fake.webhook is not None
    assert fake.webhook["url"] == "https://loa.example.gov.vn/webhooks/telegram"
    assert fake.webhook["secret_token"] == TELEGRAM_SECRET


async def test_poll_forwards_updates_through_the_webhook_path(
    database_url, session_factory
) -> None:
    with rig(database_url, session_factory) as app:
        app.telegram.updates = [
            tg.update_message(50, 4242, "xin chào"),
            tg.update_message(51, 4242, "cảm ơn"),
        ]
        bot = make_bot(tg.TOKEN, app.telegram_url)
        webhook = f"{app.url}/webhooks/telegram"
        assert await admin.poll(bot, webhook=webhook, secret=TELEGRAM_SECRET, once=True) == 2
        wait_for(lambda: len(app.telegram.sent) == 2)
        assert [r["message"] for r in app.rasa.received] == ["xin chào", "cảm ơn"]
        assert [m["text"] for m in app.telegram.sent] == ["echo: xin chào", "echo: cảm ơn"]


PRODUCTION = "https://loa.example.gov.vn/webhooks/telegram"


async def test_poll_leaves_a_registered_webhook_alone_without_force() -> None:
    fake = tg.FakeTelegram()
    with serve(fake.app()) as url:
        bot = make_bot(tg.TOKEN, url)
        await admin.set_webhook(bot, PRODUCTION, secret=TELEGRAM_SECRET)
        fake.updates = [tg.update_message(60, 4242, "xin chào")]
        with pytest.raises(admin.WebhookActive) as refused:
            await admin.poll(bot, webhook="http://127.0.0.1:9/unused", secret="s", once=True)
    assert refused.value.url == PRODUCTION
    assert fake.webhook is not None and fake.webhook["url"] == PRODUCTION
    called = {r["method"].lower() for r in fake.requests}
    assert "deletewebhook" not in called and "getupdates" not in called


async def test_poll_with_force_deletes_the_webhook_and_forwards(
    database_url, session_factory
) -> None:
    with rig(database_url, session_factory) as app:
        bot = make_bot(tg.TOKEN, app.telegram_url)
        await admin.set_webhook(bot, PRODUCTION, secret=TELEGRAM_SECRET)
        app.telegram.updates = [tg.update_message(70, 4242, "xin chào")]
        webhook = f"{app.url}/webhooks/telegram"
        forwarded = await admin.poll(
            bot, webhook=webhook, secret=TELEGRAM_SECRET, once=True, force=True
        )
        assert forwarded == 1
        assert app.telegram.webhook is None
        wait_for(lambda: app.telegram.sent)


def test_the_command_refuses_with_the_registered_url_and_exit_2() -> None:
    fake = tg.FakeTelegram()
    fake.webhook = {"url": PRODUCTION, "secret_token": "x", "allowed_updates": None}
    fake.webhook.update(max_connections=40, drop_pending_updates=False)
    with serve(fake.app()) as url:
        env = {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": tg.TOKEN,
            "TELEGRAM_API_BASE_URL": url,
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        }
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "telegram", "poll"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2, done.stderr
    assert f"this bot has a webhook, {PRODUCTION}" in done.stderr
    assert "loa telegram poll --force" in done.stderr
    assert tg.TOKEN not in done.stdout + done.stderr
    assert fake.webhook is not None  # still there
