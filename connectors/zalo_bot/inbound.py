"""Zalo Bot webhooks: check X-Bot-Api-Secret-Token first, then parse the event.

Docs: bot.zapps.me/docs — "Webhook" (setWebhook secret_token, event names
message.text.received, message.image.received, message.sticker.received…).
"""

from __future__ import annotations

import logging
from typing import Any

from connectors.base import IMAGE, OTHER, STICKER, TEXT, IncomingMessage
from connectors.http import secret_matches

CHANNEL = "zalo_bot"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
_KINDS = {
    "message.text.received": TEXT,
    "message.image.received": IMAGE,
    "message.sticker.received": STICKER,
    "message.unsupported.received": OTHER,
}

logger = logging.getLogger(__name__)


def verify(headers: Any, secret: str) -> bool:
    """Whether the request carries our webhook secret (constant-time compare)."""
    return secret_matches(headers, SECRET_HEADER, secret)


def parse(data: Any) -> IncomingMessage | None:
    """The message in one webhook body (bare, or wrapped in {"ok", "result"})."""
    if isinstance(data, dict) and isinstance(data.get("result"), dict):
        data = data["result"]
    if not isinstance(data, dict) or not isinstance(data.get("event_name"), str):
        raise ValueError("not a Zalo Bot event")
    kind = _KINDS.get(data["event_name"])
    if kind is None:
        logger.info("ignoring zalo bot event %s", data["event_name"])
        return None
    message = data.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        raise ValueError("event without a message")
    chat_id, message_id = message["chat"].get("id"), message.get("message_id")
    if not chat_id or not message_id:
        raise ValueError("message without chat or id")
    extra: dict[str, object] = {}
    if kind == IMAGE:
        extra = {"url": message.get("photo_url") or message.get("photo") or ""}
    return IncomingMessage(
        CHANNEL,
        str(chat_id),
        str(message_id),
        text=str(message.get("text") or message.get("caption") or ""),
        kind=kind,
        data=extra,
    )
