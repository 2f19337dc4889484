"""What the gateway, the desk and broadcasts need from a channel: messages in, messages out."""

from __future__ import annotations

from dataclasses import dataclass, field
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
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to a person: text, optional buttons, optional image."""

    text: str = ""
    buttons: tuple[Button, ...] = ()
    image_url: str | None = None


@dataclass(frozen=True)
class SendResult:
    """What a channel said about one send."""

    ok: bool
    channel_message_id: str | None = None
    reachable: bool = True  # False: blocked, unfollowed, outside the window
    retry_after: float | None = None  # seconds, when the channel asked us to slow down
    error: str | None = None


class Channel(Protocol):
    """A channel Loa can send on."""

    name: str

    async def send(self, recipient: str, message: OutgoingMessage) -> SendResult: ...
