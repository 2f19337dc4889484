"""What the gateway, the desk and broadcasts need from a channel: messages in, messages out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

# Kinds of inbound message.
TEXT = "text"
BUTTON = "button"  # a button press: ``payload`` holds what the button carries
LOCATION = "location"
IMAGE = "image"
STICKER = "sticker"
OTHER = "other"


@dataclass(frozen=True)
class IncomingMessage:
    """One message from a person, whatever the channel."""

    channel: str
    sender: str  # the person's id on that channel
    message_id: str  # the channel's id for this message or update: the deduplication key
    text: str = ""
    kind: str = TEXT
    payload: str | None = None
    data: dict[str, object] = field(default_factory=dict)

    @property
    def sender_id(self) -> str:
        """The id Rasa knows the person by: ``<channel>:<id on that channel>``."""
        return f"{self.channel}:{self.sender}"


@dataclass(frozen=True)
class ChannelEvent:
    """Something about a person rather than a message: followed, blocked, unfollowed…"""

    channel: str
    sender: str
    event_id: str  # the channel's id for the event: the deduplication key
    name: str  # "reachable" (follow, unblock) or "unreachable" (unfollow, block)
    reason: str | None = None  # why unreachable: BLOCKED or UNFOLLOWED

    @property
    def sender_id(self) -> str:
        return f"{self.channel}:{self.sender}"


# Why a person became unreachable (``ChannelEvent.reason``); the same words as the reasons a
# subscription ends for (bot.storage.alerts).
BLOCKED = "blocked"  # the person blocked the bot (Telegram my_chat_member "kicked")
UNFOLLOWED = "unfollowed"  # the person unfollowed the Zalo OA


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


# A button that asks the channel for the person's own phone number: Telegram's contact button,
# Zalo OA's request for user information (a card). Its payload may carry, as Rasa's payloads
# carry entities, {"detail": "…"}: the words a channel shows with the request where it can
# (the card's subtitle). A channel that cannot ask leaves the button out; the number shared
# comes back as a text message holding the number, read like one the person typed.
SHARE_PHONE = "/share_phone"


def share_phone_detail(payload: str) -> str | None:
    """The detail of a share-phone button's payload ("" when it has none); None when the
    payload is not a share-phone button's."""
    if not payload.startswith(SHARE_PHONE):
        return None
    rest = payload[len(SHARE_PHONE) :]
    if not rest:
        return ""
    try:
        found = json.loads(rest)
    except ValueError:
        return None
    detail = found.get("detail") if isinstance(found, dict) else None
    return detail if isinstance(detail, str) else ""


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to a person: text, optional buttons, optional image."""

    text: str = ""
    buttons: tuple[Button, ...] = ()
    image_url: str | None = None


@dataclass(frozen=True)
class SendResult:
    """What a channel said about one send.

    Exactly one of: ``ok``; ``retryable`` (not delivered, try again — after ``retry_after``
    seconds if given); ``uncertain`` (it may have been delivered: never resend); otherwise a
    final failure, with ``reachable`` False when the person cannot be reached this way now —
    and ``blocked`` True when that is because they blocked the bot (or left the platform).
    """

    ok: bool
    channel_message_id: str | None = None
    retryable: bool = False
    uncertain: bool = False
    reachable: bool = True
    blocked: bool = False
    retry_after: float | None = None
    error: str | None = None


def channel_id(value: object) -> str | None:
    """The channel's id for a sent message as we store it: None when the answer had none
    (never the string "None", which would collide with the next missing one)."""
    if value is None or value == "":
        return None
    return str(value)


class Channel(Protocol):
    """A channel Loa can send on: the gateway, the desk and broadcasts use only this."""

    name: str
    max_text_length: int
    # How long after a person's last message we may still write to them (None: no limit).
    reply_window: timedelta | None

    async def send(self, recipient: str, message: OutgoingMessage) -> SendResult:
        """Send one message (text within ``max_text_length``, buttons, image) to one person."""
        ...

    async def acknowledge(self, message: IncomingMessage) -> None:
        """What the channel wants once an inbound message is stored (Telegram: stop a
        pressed button's spinner); never raises."""
        ...
