"""Zalo OA webhooks: verify X-ZEvent-Signature first, then parse the event.

Docs: developers.zalo.me — Official Account API, "Webhook" (event names, X-ZEvent-Signature =
"mac=" + sha256(app_id + raw body + timestamp + OA secret key)).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

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

CHANNEL = "zalo_oa"
SIGNATURE_HEADER = "X-ZEvent-Signature"
_KINDS = {
    "user_send_image": IMAGE,
    "user_send_location": LOCATION,
    "user_send_sticker": STICKER,
}

logger = logging.getLogger(__name__)


def verify(raw_body: bytes, headers: Any, *, app_id: str, secret_key: str) -> bool:
    """Whether the body is signed with our OA secret key for our app (constant-time)."""
    if not secret_key:
        return False
    try:
        data = json.loads(raw_body)
        body_app, timestamp = str(data["app_id"]), str(data["timestamp"])
    except (ValueError, KeyError, TypeError):
        return False
    if app_id and body_app != app_id:
        return False
    digest = hashlib.sha256(
        body_app.encode() + raw_body + timestamp.encode() + secret_key.encode()
    ).hexdigest()
    given = headers.get(SIGNATURE_HEADER, "").strip().removeprefix("mac=")
    return hmac.compare_digest(given.encode(), digest.encode())


def parse(data: Any) -> IncomingMessage | ChannelEvent | None:
    """The message or event in one webhook body; ``None`` for events we ignore (logged)."""
    if not isinstance(data, dict) or not isinstance(data.get("event_name"), str):
        raise ValueError("not a Zalo OA event")
    event, stamp = data["event_name"], str(data.get("timestamp", ""))
    if event.startswith("oa_send_"):  # the echo of our own send
        return None
    if event in ("follow", "unfollow"):
        user = _id(data.get("follower"))
        if event == "unfollow":
            return ChannelEvent(CHANNEL, user, f"unfollow:{user}:{stamp}", "unreachable")
        # A new follower is greeted as if they had said hello.
        return IncomingMessage(
            CHANNEL, user, f"follow:{user}:{stamp}", kind=BUTTON, payload="/greet"
        )
    if not event.startswith("user_send_"):
        logger.info("ignoring zalo oa event %s", event)
        return None
    message = data.get("message") or {}
    user, msg_id = _id(data.get("sender")), str(message.get("msg_id") or f"{event}:{stamp}")
    if event == "user_send_text":
        return IncomingMessage(
            CHANNEL, user, msg_id, text=str(message.get("text") or ""), kind=TEXT
        )
    payload = _first_attachment(message)
    kind = _KINDS.get(event, OTHER)
    extra: dict[str, object] = {}
    if kind == LOCATION:
        extra = dict(payload.get("coordinates") or {})
    elif kind in (IMAGE, STICKER):
        extra = {"url": payload.get("url") or payload.get("thumbnail") or ""}
    return IncomingMessage(
        CHANNEL, user, msg_id, text=str(message.get("text") or ""), kind=kind, data=extra
    )


def _id(party: Any) -> str:
    if not isinstance(party, dict) or not party.get("id"):
        raise ValueError("event without a user id")
    return str(party["id"])


def _first_attachment(message: dict[str, Any]) -> dict[str, Any]:
    attachments = message.get("attachments") or [{}]
    first = attachments[0] if isinstance(attachments, list) and attachments else {}
    payload = first.get("payload") if isinstance(first, dict) else None
    return payload if isinstance(payload, dict) else {}
