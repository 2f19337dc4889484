"""Telegram housekeeping: register the webhook, or poll locally.

Polling is for development without a public HTTPS address: it fetches updates with
getUpdates and posts each to the app's own /webhooks/telegram with the secret, so they take
exactly the path webhook updates take.
Docs: https://core.telegram.org/bots/api#setwebhook and #getupdates.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
from telegram import Bot

from connectors.telegram.inbound import SECRET_HEADER

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
POLL_TIMEOUT = 25  # seconds getUpdates holds the request open when nothing is new

logger = logging.getLogger(__name__)


async def set_webhook(bot: Bot, url: str, *, secret: str) -> str:
    """Register ``url`` (the public address of /webhooks/telegram) with our secret token;
    the URL Telegram now has."""
    async with bot:
        await bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        info = await bot.get_webhook_info()
    return info.url


class WebhookActive(RuntimeError):
    """The bot has a webhook: polling would delete it, and the server there (production,
    perhaps) would stop receiving updates."""

    def __init__(self, url: str) -> None:
        super().__init__(f"a webhook is registered: {url}")
        self.url = url


async def poll(
    bot: Bot, *, webhook: str, secret: str, once: bool = False, force: bool = False
) -> int:
    """Forward updates to ``webhook`` until stopped (or one round if ``once``); how many.

    Telegram serves getUpdates only without a webhook: a registered one is deleted only when
    ``force``d, else ``WebhookActive`` is raised and nothing changes."""
    headers = {SECRET_HEADER: secret}
    forwarded, offset = 0, 0
    async with bot, httpx.AsyncClient(timeout=30) as client:
        registered = (await bot.get_webhook_info()).url
        if registered and not force:
            raise WebhookActive(registered)
        if registered:
            logger.warning("deleting the webhook %s to poll instead", registered)
        await bot.delete_webhook()
        logger.info("polling Telegram; forwarding updates to %s (Ctrl-C stops)", webhook)
        while True:
            updates = await bot.get_updates(
                offset=offset, timeout=0 if once else POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES
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
