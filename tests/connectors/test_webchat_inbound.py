"""Web chat bodies: a table of what the page may send and what we make of it."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import BUTTON, TEXT
from connectors.webchat.inbound import InvalidMessage, parse

SENDER = "0b6f7a52-8f3c-4d44-9f7e-3a1c2b4d5e6f"
MID = "5c1f0e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b"

VALID = [
    ("text", {"sender": SENDER, "message_id": MID, "text": "xin chào"}, TEXT, "xin chào", None),
    ("empty text", {"sender": SENDER, "message_id": MID, "text": ""}, TEXT, "", None),
    ("no text key", {"sender": SENDER, "message_id": MID}, TEXT, "", None),
    (
        "button",
        {
            "sender": SENDER,
            "message_id": MID,
            "payload": "/ask_hotline",
            "title": "Số đường dây nóng",
        },
        BUTTON,
        "Số đường dây nóng",
        "/ask_hotline",
    ),
    (
        "a sender in the body is ignored",
        {"sender": "0" * 8 + SENDER[8:], "message_id": MID, "text": "hi"},
        TEXT,
        "hi",
        None,
    ),
]


@pytest.mark.parametrize(
    ("label", "body", "kind", "text", "payload"), VALID, ids=[v[0] for v in VALID]
)
def test_valid(label: str, body: dict[str, Any], kind: str, text: str, payload: str | None) -> None:
    message = parse(body, sender=SENDER)
    assert (message.kind, message.text, message.payload) == (kind, text, payload)
    assert message.sender_id == f"webchat:{SENDER}"  # the server's conversation, not the body's


INVALID = [
    ("not an object", ["xin chào"], "not_an_object"),
    ("null", None, "not_an_object"),
    ("no message id", {"sender": SENDER, "text": "a"}, "bad_message_id"),
    ("huge message id", {"sender": SENDER, "message_id": "x" * 129, "text": "a"}, "bad_message_id"),
    (
        "NUL in message id",
        {"sender": SENDER, "message_id": "a\x00b", "text": "a"},
        "bad_message_id",
    ),
    ("text a list", {"sender": SENDER, "message_id": MID, "text": ["a"]}, "bad_text"),
    (
        "payload without slash",
        {"sender": SENDER, "message_id": MID, "payload": "ask"},
        "bad_payload",
    ),
    ("text over 20,000", {"sender": SENDER, "message_id": MID, "text": "a" * 20_001}, "too_long"),
]


@pytest.mark.parametrize(("label", "body", "code"), INVALID, ids=[v[0] for v in INVALID])
def test_invalid(label: str, body: Any, code: str) -> None:
    with pytest.raises(InvalidMessage) as err:
        parse(body, sender=SENDER)
    assert err.value.code == code
