"""Telegram webhooks: check the secret token first, then parse the Update with PTB.

Docs: https://core.telegram.org/bots/api#setwebhook (secret_token → header
X-Telegram-Bot-Api-Secret-Token) and https://core.telegram.org/bots/api#update.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update

from connectors.base import (
    BUTTON,
    IMAGE,
    LOCATION,
    OTHER,
    STICKER,
    TEXT,
    ChannelEvent,
    IncomingMessage,
)
from connectors.http import secret_matches

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Commands become the payloads the assistant already understands.
COMMANDS = {"/start": "/greet", "/help": "/greet", "/stop": "/unsubscribe_alerts"}

logger = logging.getLogger(__name__)


def verify(headers: Any, secret: str) -> bool:
    """Whether the request carries our webhook secret (constant-time compare)."""
    return secret_matches(headers, SECRET_HEADER, secret)


def parse(data: Any) -> IncomingMessage | ChannelEvent | None:
    """The message or event in one Update; ``None`` for updates we ignore (logged)."""
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise ValueError("not a Telegram update")
    update = Update.de_json(data, None)
    uid = str(update.update_id)
    if update.callback_query is not None:
        query = update.callback_query
        return IncomingMessage(
            channel=CHANNEL,
            sender=str(query.from_user.id),
            message_id=uid,
            text=query.data or "",
            kind=BUTTON,
            payload=query.data or None,
            data={"callback_query_id": query.id},
        )
    if update.my_chat_member is not None and update.my_chat_member.chat.type == "private":
        status = update.my_chat_member.new_chat_member.status
        return ChannelEvent(
            channel=CHANNEL,
            sender=str(update.my_chat_member.chat.id),
            event_id=uid,
            name="unreachable" if status in ("kicked", "left") else "reachable",
        )
    message = update.message
    if message is None or message.chat.type != "private" or message.from_user is None:
        logger.info("ignoring telegram update %s (%s)", uid, ",".join(sorted(data)))
        return None
    chat = str(message.chat.id)

    def make(**fields: Any) -> IncomingMessage:
        return IncomingMessage(channel=CHANNEL, sender=chat, message_id=uid, **fields)

    if message.text is not None:
        command = message.text.strip().split("@")[0].split(" ")[0].lower()
        if command in COMMANDS:
            return make(text=message.text, kind=BUTTON, payload=COMMANDS[command])
        return make(text=message.text, kind=TEXT)
    if message.location is not None:
        where: dict[str, object] = {
            "latitude": message.location.latitude,
            "longitude": message.location.longitude,
        }
        return make(kind=LOCATION, data=where)
    if message.photo:
        photo = {"file_id": message.photo[-1].file_id}
        return make(text=message.caption or "", kind=IMAGE, data=photo)
    if message.sticker is not None:
        return make(kind=STICKER, data={"emoji": message.sticker.emoji or ""})
    return make(text=message.caption or "", kind=OTHER)
