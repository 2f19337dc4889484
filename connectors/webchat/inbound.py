"""Parse the web chat page's JSON into an IncomingMessage, or say clearly what is wrong."""

from __future__ import annotations

import uuid
from typing import Any

from connectors.base import BUTTON, TEXT, IncomingMessage

CHANNEL = "webchat"
MAX_TEXT_LENGTH = 20_000  # longer is refused outright; the gateway trims what goes to NLU
MAX_PAYLOAD_LENGTH = 500  # a button payload such as '/ask_lockdown_status{"location": "…"}'
MAX_ID_LENGTH = 128


class InvalidMessage(ValueError):
    """The body is not a web chat message; ``code`` names what is wrong."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def is_uuid(value: object) -> bool:
    """Whether ``value`` is a string holding a UUID (the page's sender id)."""
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def parse(body: Any, *, sender: str) -> IncomingMessage:
    """The message in ``body`` ({message_id, text | payload [, title]}) from ``sender``, the
    conversation the server's cookie names (a ``sender`` in the body is ignored)."""
    if not isinstance(body, dict):
        raise InvalidMessage("not_an_object")
    message_id = body.get("message_id")
    if (
        not isinstance(message_id, str)
        or not 0 < len(message_id) <= MAX_ID_LENGTH
        or not message_id.isprintable()
    ):
        raise InvalidMessage("bad_message_id")
    payload, text = body.get("payload"), body.get("text", "")
    if payload is not None:
        if not isinstance(payload, str) or not payload.startswith("/"):
            raise InvalidMessage("bad_payload")
        if len(payload) > MAX_PAYLOAD_LENGTH:
            raise InvalidMessage("too_long")
        title = body.get("title")
        return IncomingMessage(
            channel=CHANNEL,
            sender=sender,
            message_id=message_id,
            text=title if isinstance(title, str) else payload,
            kind=BUTTON,
            payload=payload,
        )
    if not isinstance(text, str):
        raise InvalidMessage("bad_text")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidMessage("too_long")
    return IncomingMessage(
        channel=CHANNEL, sender=sender, message_id=message_id, text=text, kind=TEXT
    )
