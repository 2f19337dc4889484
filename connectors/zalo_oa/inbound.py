"""Zalo OA webhooks: verify X-ZEvent-Signature and the event's time first, then parse it.

Docs: developers.zalo.me — Official Account API, "Webhook" (event names, X-ZEvent-Signature =
"mac=" + sha256(app_id + raw body + timestamp + OA secret key)). The signature covers the
body, so the body is decoded (``connectors.json_body``) before it can be checked.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime, timedelta
from typing import Any

from connectors import fields as f
from connectors.base import (
    BUTTON,
    IMAGE,
    LOCATION,
    OTHER,
    STICKER,
    TEXT,
    UNFOLLOWED,
    ChannelEvent,
    IncomingMessage,
)

CHANNEL = "zalo_oa"
SIGNATURE_HEADER = "X-ZEvent-Signature"
# The signature has no nonce: only its timestamp ties it to a moment. Outside this window a
# correctly signed body is a replay (or a clock gone wrong), not proof of a fresh event.
WINDOW = timedelta(days=1)
_KINDS = {
    "user_send_image": IMAGE,
    "user_send_location": LOCATION,
    "user_send_sticker": STICKER,
}

logger = logging.getLogger(__name__)


def verify(raw_body: bytes, data: Any, headers: Any, *, app_id: str, secret_key: str) -> bool:
    """Whether ``raw_body`` (decoded: ``data``) is signed with our OA secret key for our app;
    constant-time, and never raises, whatever the body."""
    if not secret_key or not isinstance(data, dict):
        return False
    body_app, stamp = data.get("app_id"), data.get("timestamp")
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in (body_app, stamp)):
        return False
    body_app, stamp = str(body_app), str(stamp)
    if app_id and body_app != app_id:
        return False
    try:
        signed = body_app.encode() + raw_body + stamp.encode() + secret_key.encode()
    except UnicodeEncodeError:  # a lone surrogate: Zalo could not have signed it
        return False
    digest = hashlib.sha256(signed).hexdigest()
    given = headers.get(SIGNATURE_HEADER, "").strip().removeprefix("mac=")
    return hmac.compare_digest(given.encode(), digest.encode())


def fresh(data: dict[str, Any], now: datetime) -> bool:
    """Whether a (signed) event's timestamp is within ``WINDOW`` of ``now``."""
    try:
        return f.within(f.millis(data.get("timestamp"), "timestamp"), now, WINDOW)
    except ValueError:
        return False


def parse(data: Any) -> IncomingMessage | ChannelEvent | None:
    """The message or event in one webhook body; ``None`` for events we ignore (logged)."""
    if not isinstance(data, dict):
        raise ValueError("not a Zalo OA event")
    event = f.text(data, "event_name")
    if not event:
        raise ValueError("event_name: missing")
    stamp = str(f.millis(data.get("timestamp"), "timestamp"))
    if event.startswith("oa_send_"):  # the echo of our own send
        return None
    if event in ("follow", "unfollow"):
        user = f.ident(f.need(data, "follower"), "id")
        if event == "unfollow":
            return ChannelEvent(
                CHANNEL, user, f"unfollow:{user}:{stamp}", "unreachable", reason=UNFOLLOWED
            )
        # A new follower is greeted and offered announcements (as Telegram's /start).
        return IncomingMessage(
            CHANNEL, user, f"follow:{user}:{stamp}", kind=BUTTON, payload="/start_chat"
        )
    if event == "user_submit_info":  # the person shared their information (our card asked)
        user = f.ident(f.need(data, "sender"), "id")
        number = f.text(f.need(data, "info"), "phone") or ""
        if not number:
            logger.info("zalo oa user_submit_info without a phone number: ignored")
            return None
        # Only the number is kept (read as typed: the form's phone question takes it); the
        # name and address Zalo adds are not Loa's to store.
        return IncomingMessage(
            CHANNEL, user, f"submit_info:{user}:{stamp}", text=number, kind=TEXT,
            data={"contact": True},
        )  # fmt: skip
    if not event.startswith("user_send_"):
        logger.info("ignoring zalo oa event %s", f.brief(event))
        return None
    user = f.ident(f.need(data, "sender"), "id")
    message = f.obj(data, "message") or {}
    msg_id = f.ident(message, "msg_id") if message.get("msg_id") else f"{event[:40]}:{stamp}"
    words = f.text(message, "text") or ""
    if event == "user_send_text":
        return IncomingMessage(CHANNEL, user, msg_id, text=words, kind=TEXT)
    payload = _first_attachment(message)
    kind = _KINDS.get(event, OTHER)
    extra: dict[str, object] = {}
    if kind == LOCATION:
        where = f.need(payload, "coordinates")
        extra = {
            "latitude": f.number(where, "latitude", limit=90),
            "longitude": f.number(where, "longitude", limit=180),
        }
    elif kind in (IMAGE, STICKER):
        extra = {"url": f.text(payload, "url") or f.text(payload, "thumbnail") or ""}
    return IncomingMessage(CHANNEL, user, msg_id, text=words, kind=kind, data=extra)


def _first_attachment(message: dict[str, Any]) -> dict[str, Any]:
    """The payload of the first attachment ({} when there is none)."""
    attachments = message.get("attachments") or [{}]
    if not isinstance(attachments, list) or not isinstance(attachments[0], dict):
        raise ValueError("attachments: not a list of objects")
    return f.obj(attachments[0], "payload") or {}
