"""Telegram housekeeping for the ``loa`` command: register the webhook, or poll locally.

Polling is for development without a public HTTPS address: it fetches updates with
getUpdates and posts each to the app's own /webhooks/telegram with the secret, so they take
exactly the path webhook updates take.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
from telegram import Bot

from bot.settings import Settings
from connectors.telegram.inbound import SECRET_HEADER

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]

logger = logging.getLogger(__name__)


def _bot(settings: Settings) -> Bot:
    if not settings.telegram_bot_token:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set: Telegram is off.")
    return Bot(
        settings.telegram_bot_token, base_url=f"{settings.telegram_api_base_url.rstrip('/')}/bot"
    )


async def set_webhook(settings: Settings, url: str) -> None:
    """Register ``url`` (the public address of /webhooks/telegram) with our secret token."""
    if not settings.telegram_webhook_secret:
        raise SystemExit("Set TELEGRAM_WEBHOOK_SECRET first (1-256 of A-Z a-z 0-9 _ -).")
    async with _bot(settings) as bot:
        await bot.set_webhook(
            url, secret_token=settings.telegram_webhook_secret, allowed_updates=ALLOWED_UPDATES
        )
        info = await bot.get_webhook_info()
    print(f"Telegram webhook set: {info.url}")


async def poll(settings: Settings, *, once: bool = False) -> int:
    """Forward updates to the local app until stopped (or one round if ``once``)."""
    webhook = f"{settings.app_url}/webhooks/telegram"
    headers = {SECRET_HEADER: settings.telegram_webhook_secret}
    forwarded, offset = 0, 0
    async with _bot(settings) as bot, httpx.AsyncClient(timeout=30) as client:
        await bot.delete_webhook()
        while True:
            updates = await bot.get_updates(
                offset=offset, timeout=0 if once else 25, allowed_updates=ALLOWED_UPDATES
            )
            for update in updates:
                response = await client.post(webhook, json=update.to_dict(), headers=headers)
                if response.status_code >= 500:  # the app is down: fetch it again later
                    logger.warning("app answered %s; retrying", response.status_code)
                    await asyncio.sleep(2)
                    break
                offset, forwarded = update.update_id + 1, forwarded + 1
            if once:
                return forwarded
