"""Zalo Bot webhooks: check X-Bot-Api-Secret-Token first, then parse the event.

Docs: bot.zapps.me/docs — "Webhook" (setWebhook secret_token, event names
message.text.received, message.image.received, message.sticker.received…).
A message's ``date`` (milliseconds) more than a day from now is refused, as on Zalo OA.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from connectors import fields as f
from connectors.base import IMAGE, OTHER, STICKER, TEXT, IncomingMessage
from connectors.http import secret_matches

CHANNEL = "zalo_bot"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
WINDOW = timedelta(days=1)
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


def parse(data: Any, *, now: datetime) -> IncomingMessage | None:
    """The message in one webhook body (bare, or wrapped in {"ok", "result"})."""
    if isinstance(data, dict) and isinstance(data.get("result"), dict):
        data = data["result"]
    if not isinstance(data, dict):
        raise ValueError("not a Zalo Bot event")
    event = f.text(data, "event_name")
    if not event:
        raise ValueError("event_name: missing")
    kind = _KINDS.get(event)
    if kind is None:
        logger.info("ignoring zalo bot event %s", f.brief(event))
        return None
    message = f.need(data, "message")
    chat_id, message_id = f.ident(f.need(message, "chat"), "id"), f.ident(message, "message_id")
    if "date" in message and not f.within(f.millis(message["date"], "date"), now, WINDOW):
        raise ValueError("date: more than a day from now")
    extra: dict[str, object] = {}
    if kind == IMAGE:
        extra = {"url": f.text(message, "photo_url") or f.text(message, "photo") or ""}
    words = f.text(message, "text") or f.text(message, "caption") or ""
    return IncomingMessage(CHANNEL, chat_id, message_id, text=words, kind=kind, data=extra)
