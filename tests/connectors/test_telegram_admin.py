"""`loa telegram set-webhook` and `loa telegram poll` against the fake Telegram API."""

from __future__ import annotations

from connectors.telegram import admin
from connectors.telegram.outbound import make_bot
from testkit.fakes import telegram as tg
from testkit.fakes.server import serve
from tests.channels_rig import TELEGRAM_SECRET, rig, wait_for


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
