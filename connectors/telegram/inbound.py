"""Telegram webhooks: check the secret token first, then read the few fields of the Update we
use, each checked for its type (a wrong one is a ValueError, so a 400).

Docs: https://core.telegram.org/bots/api#setwebhook (secret_token → header
X-Telegram-Bot-Api-Secret-Token) and https://core.telegram.org/bots/api#update.
Dates are not windowed: the secret is a header, not a signature of the body, so a date proves
nothing, and Telegram redelivers an update for up to 24 hours; a repeat is caught by its
update_id. A date that is not a sane Unix time is still refused.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from connectors import fields as f
from connectors.base import (
    BLOCKED,
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
# /start greets and offers announcements (a channel's start, as a Zalo OA follow).
COMMANDS = {"/start": "/start_chat", "/help": "/greet", "/stop": "/unsubscribe_alerts"}
# The public page's "Nhận thông báo cho xã này" link: t.me/<bot>?start=xa_<commune code>.
SUBSCRIBE_START = re.compile(r"/start(?:@\w+)? xa_([0-9]{1,7})")
SUBSCRIBE_PAYLOAD = "/subscribe_alerts"
MAX_DATE = 2**32  # Unix seconds (year 2106): Telegram's dates are 32-bit

logger = logging.getLogger(__name__)


def verify(headers: Any, secret: str) -> bool:
    """Whether the request carries our webhook secret (constant-time compare)."""
    return secret_matches(headers, SECRET_HEADER, secret)


def parse(data: Any) -> IncomingMessage | ChannelEvent | None:
    """The message or event in one Update; ``None`` for updates we ignore (logged)."""
    if not isinstance(data, dict):
        raise ValueError("not a Telegram update")
    uid = str(f.integer(data, "update_id", low=0, high=f.INT64))
    if (query := f.obj(data, "callback_query")) is not None:
        pressed = f.text(query, "data")  # absent for game buttons
        return IncomingMessage(
            channel=CHANNEL,
            sender=f.ident(f.need(query, "from"), "id"),
            message_id=uid,
            text=pressed or "",
            kind=BUTTON,
            payload=pressed or None,
            data={"callback_query_id": f.ident(query, "id")},
        )
    if (member := f.obj(data, "my_chat_member")) is not None:
        member_chat = f.need(member, "chat")
        if f.text(member_chat, "type") == "private":
            status = f.text(f.need(member, "new_chat_member"), "status")
            gone = status in ("kicked", "left")  # in a private chat: the person blocked the bot
            return ChannelEvent(
                channel=CHANNEL,
                sender=f.ident(member_chat, "id"),
                event_id=uid,
                name="unreachable" if gone else "reachable",
                reason=BLOCKED if gone else None,
            )
    message = f.obj(data, "message")
    if (
        message is None
        or f.text(f.need(message, "chat"), "type") != "private"
        or f.obj(message, "from") is None  # a channel post
    ):
        _ignored(uid, data)
        return None
    f.integer(message, "date", low=0, high=MAX_DATE)
    sender = f.ident(message["chat"], "id")

    def make(**values: Any) -> IncomingMessage:
        return IncomingMessage(channel=CHANNEL, sender=sender, message_id=uid, **values)

    caption = f.text(message, "caption") or ""
    if (words := f.text(message, "text")) is not None:
        command = words.strip().split("@")[0].split(" ")[0].lower()
        if command == "/start" and (wanted := _subscribe_link(words)) is not None:
            return make(text=words, kind=BUTTON, payload=wanted)
        if command in COMMANDS:
            return make(text=words, kind=BUTTON, payload=COMMANDS[command])
        return make(text=words, kind=TEXT)
    if (card := f.obj(message, "contact")) is not None:
        # A number shared with the contact button (or a contact card sent): read as the number
        # typed, so the form's phone question takes it, and parsing checks it the same way.
        return make(text=f.text(card, "phone_number") or "", kind=TEXT, data={"contact": True})
    if (place := f.obj(message, "location")) is not None:
        where: dict[str, object] = {
            "latitude": f.number(place, "latitude", limit=90),
            "longitude": f.number(place, "longitude", limit=180),
        }
        return make(kind=LOCATION, data=where)
    if photos := message.get("photo"):
        if not isinstance(photos, list) or not isinstance(photos[-1], dict):
            raise ValueError("photo: not a list of sizes")
        file_id = f.text(photos[-1], "file_id") or ""  # up to ~100 characters
        return make(text=caption, kind=IMAGE, data={"file_id": file_id})
    if (sticker := f.obj(message, "sticker")) is not None:
        return make(kind=STICKER, data={"emoji": f.text(sticker, "emoji") or ""})
    return make(text=caption, kind=OTHER)


def _subscribe_link(words: str) -> str | None:
    """The subscription offer for a commune when the person came by the public page's link
    ``t.me/<bot>?start=xa_<code>`` (Telegram sends "/start xa_<code>"); None otherwise. The
    offer still asks for consent: the link only names the place."""
    found = SUBSCRIBE_START.fullmatch(words.strip())
    if found is None:
        return None
    return SUBSCRIBE_PAYLOAD + json.dumps({"place_code": f"c:{int(found[1])}"})


def _ignored(uid: str, data: dict[str, Any]) -> None:
    kinds = ",".join(sorted(key for key in data if key.isidentifier())[:5])
    logger.info("ignoring telegram update %s (%s)", uid, f.brief(kinds))
