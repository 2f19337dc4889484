"""`loa telegram set-webhook` and `loa telegram poll` against the fake Telegram API."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlparse

from bot import settings as settings_module
from bot import telegram_admin
from tests.channels_rig import TELEGRAM_SECRET, rig, wait_for
from tests.fakes import telegram as tg
from tests.fakes.server import serve


async def test_set_webhook_registers_url_and_secret() -> None:
    fake = tg.FakeTelegram()
    with serve(fake.app()) as url:
        cfg = replace(
            settings_module.load(),
            telegram_bot_token=tg.TOKEN,
            telegram_webhook_secret=TELEGRAM_SECRET,
            telegram_api_base_url=url,
        )
        await telegram_admin.set_webhook(cfg, "https://loa.example.gov.vn/webhooks/telegram")
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
        cfg = replace(
            settings_module.load(),
            port=urlparse(app.url).port or 0,
            telegram_bot_token=tg.TOKEN,
            telegram_webhook_secret=TELEGRAM_SECRET,
            telegram_api_base_url=app.telegram_url,
        )
        assert await telegram_admin.poll(cfg, once=True) == 2
        wait_for(lambda: len(app.telegram.sent) == 2)
        assert [r["message"] for r in app.rasa.received] == ["xin chào", "cảm ơn"]
        assert [m["text"] for m in app.telegram.sent] == ["echo: xin chào", "echo: cảm ơn"]
