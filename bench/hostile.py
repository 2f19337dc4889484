"""Hostile requests for the abuse soak, drawn from a seeded ``random.Random``.

Bench never imports tests (nor Hypothesis strategies from them); this small generator gives
the same kinds of values — valid-looking updates with one hostile field, random JSON, deep
nesting, invalid UTF-8, lone surrogates, huge numbers and strings, wrong content types, bad or
missing signatures and forged cookies — and a seed reproduces a run's requests exactly.
"""

from __future__ import annotations

import json
import random
import string
import uuid
from dataclasses import dataclass, field
from typing import Any

from bench.common import QUESTIONS
from testkit.fakes import telegram as tg
from testkit.fakes import zalo_oa as oa
from testkit.fakes.env import TELEGRAM_SECRET, ZALO_BOT_SECRET, ZALO_OA_SECRET_KEY

STRINGS = [
    "",
    " ",
    "\x00",
    "\ud800",  # a lone surrogate: valid as a JSON escape, not encodable as UTF-8
    "a\udfffb",
    "\u202eabc",
    "😷" * 50,
    "%s%s%n",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "\r\n\r\nX-Injected: 1",
    "null",
    "/restart",
    "/",
    '/ask_lockdown_status{"location": {"$gt": 1}}',
    "/greet" + "{" * 200,
    "Hà Nội",
]
# Written into the JSON text as they are: numbers Python reads as inf, huge ints, a number
# past int()'s digit limit, and the non-standard constants Python's json accepts.
RAW_NUMBERS = ["1e400", "-1e400", "1" + "0" * 30, "9" * 5000, "-0", "NaN", "Infinity", "1.5e-400"]
NUMBERS: list[Any] = [0, -1, 2**31, 2**63, 2**64, -(2**63) - 1, 0.5, 1e308, True]
CONTENT_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/json; charset=latin-1",
    "application/jsonx",
    "",
]
MAX_BODY = 256 * 1024  # the app's cap; bodies just under and just over it are both drawn


class Raw(str):
    """A JSON token written into the body as it is (see ``dump``)."""


@dataclass
class Shot:
    """One request: what the soak sends and, for a 5xx, what it reports."""

    label: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None


def dump(value: Any) -> str:
    """JSON text of ``value``, with ``Raw`` tokens written as they are."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value)


def text(rng: random.Random) -> str:
    """A hostile string: a listed one, random code points (surrogates included), or long."""
    roll = rng.random()
    if roll < 0.5:
        return rng.choice(STRINGS)
    if roll < 0.8:
        return "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randrange(1, 40)))
    return rng.choice(string.ascii_letters) * rng.choice([5_000, 25_000, 100_000])


def value(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value, hostile at every level."""
    roll = rng.random()
    if depth > 3 or roll < 0.35:
        return text(rng)
    if roll < 0.5:
        return rng.choice(NUMBERS)
    if roll < 0.6:
        return Raw(rng.choice(RAW_NUMBERS))
    if roll < 0.65:
        return None
    if roll < 0.8:
        return [value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {text(rng)[:20]: value(rng, depth + 1) for _ in range(rng.randrange(4))}


def mutate(rng: random.Random, template: Any) -> Any:
    """``template`` with one field replaced by a hostile value, removed, or added."""
    if not isinstance(template, dict | list) or not template or rng.random() < 0.25:
        return value(rng)
    copy = dict(template) if isinstance(template, dict) else list(template)
    key: Any = rng.choice(list(copy)) if isinstance(copy, dict) else rng.randrange(len(copy))
    roll = rng.random()
    if roll < 0.5 and isinstance(copy[key], dict | list):
        copy[key] = mutate(rng, copy[key])
    elif roll < 0.85:
        copy[key] = value(rng)
    elif isinstance(copy, dict):
        if rng.random() < 0.5:
            del copy[key]
        else:
            copy[text(rng)[:20]] = value(rng)
    return copy


def nested(rng: random.Random) -> bytes:
    """Deep nesting (the recursion that once gave 500s), under the body cap."""
    depth = rng.choice([100, 1_000, 10_000, 100_000])
    if rng.random() < 0.5:
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def body(rng: random.Random, template: Any) -> bytes:
    """A hostile body for an endpoint whose valid body looks like ``template``."""
    roll = rng.random()
    if roll < 0.45:
        return dump(mutate(rng, template)).encode()
    if roll < 0.55:
        return dump(value(rng)).encode()
    if roll < 0.65:
        return nested(rng)
    if roll < 0.75:  # invalid UTF-8 inside an otherwise valid body
        raw = dump(template).encode()
        cut = rng.randrange(len(raw) + 1)
        bad = rng.choice([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xfe\xff"])
        return raw[:cut] + bad + raw[cut:]
    if roll < 0.82:  # a huge string, just under or just over the cap
        size = MAX_BODY - 200 if rng.random() < 0.5 else MAX_BODY + 10
        padded = dict(template) if isinstance(template, dict) else {}
        padded["text"] = "a" * size
        return dump(padded).encode()[: MAX_BODY + 100]
    if roll < 0.9:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
    return rng.choice([b"", b"null", b"[]", b"{}", b'"x"', b"0", b"{"])


def telegram_update(rng: random.Random, update_id: int, chat_id: int) -> dict[str, Any]:
    if rng.random() < 0.7:
        return tg.update_message(update_id, chat_id, rng.choice(QUESTIONS))
    return tg.update_callback(update_id, chat_id, "/greet")


def zalo_event(rng: random.Random, user_id: str) -> dict[str, Any]:
    return oa.user_send_text(user_id, rng.choice(QUESTIONS))


def zalo_signature(raw: bytes) -> str | None:
    """The signature Zalo would put on ``raw``, if it has the fields the signature covers."""
    try:
        data = json.loads(raw)
        return oa.sign_event(str(data["app_id"]), raw, str(data["timestamp"]), ZALO_OA_SECRET_KEY)
    except (ValueError, KeyError, TypeError, RecursionError, UnicodeDecodeError):
        return None


def forged_cookie(rng: random.Random) -> str:
    """A ``loa_chat`` value the server never issued."""
    conversation = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return rng.choice(
        [
            conversation,
            f"{conversation}.{'A' * 43}",
            f"{conversation.upper()}.x",
            text(rng)[:200].encode("utf-8", "replace").decode("latin-1"),
            "." * 4000,
        ]
    )


def header_safe(value: str) -> str:
    """What of ``value`` a client can put in a header: printable ASCII (others become "?")."""
    return "".join(c if " " <= c <= "~" else "?" for c in value).strip()


def fuzz(rng: random.Random, serial: int) -> Shot:
    """One fuzzed request to a webhook or the web chat API, signed or not."""
    target = rng.choice(["telegram", "zalo_oa", "zalo_bot", "web_post", "web_get", "web_reset"])
    label = f"fuzz_{target}"
    if target == "telegram":
        raw = body(rng, telegram_update(rng, 2_000_000_000 + serial, 600_000 + serial % 5000))
        headers = {"content-type": "application/json"}
        if rng.random() < 0.7:
            headers["X-Telegram-Bot-Api-Secret-Token"] = TELEGRAM_SECRET
        elif rng.random() < 0.5:
            headers["X-Telegram-Bot-Api-Secret-Token"] = header_safe(text(rng)[:300]) or "x"
        return Shot(label, "POST", "/webhooks/telegram", headers, raw)
    if target == "zalo_oa":
        raw = body(rng, zalo_event(rng, str(500_000 + serial % 5000)))
        headers = {"content-type": "application/json"}
        signature = zalo_signature(raw)
        if signature and rng.random() < 0.7:
            headers["X-ZEvent-Signature"] = signature
        elif rng.random() < 0.5:
            headers["X-ZEvent-Signature"] = f"mac={rng.getrandbits(256):064x}"
        return Shot(label, "POST", "/webhooks/zalo-oa", headers, raw)
    if target == "zalo_bot":  # not configured in the soak: its route must still answer 4xx
        raw = body(rng, {"ok": True, "result": {"message": {"text": "xin chào"}}})
        headers = {"X-Bot-Api-Secret-Token": ZALO_BOT_SECRET, "content-type": "application/json"}
        return Shot(label, "POST", "/webhooks/zalo-bot", headers, raw)
    headers = {"X-Forwarded-For": f"198.51.{rng.randrange(256)}.{rng.randrange(256)}"}
    if rng.random() < 0.3:
        headers["Cookie"] = f"loa_chat={header_safe(forged_cookie(rng))}"
    if rng.random() < 0.1:
        headers["Origin"] = rng.choice(["https://evil.example", "null", "http://", "x"])
    if target == "web_get":
        after = rng.choice(["0", "-1", "1" + "0" * 30, "1e3", "abc", "", "٣", "9" * 19, "1.5"])
        return Shot(label, "GET", f"/api/chat/messages?after={after}", headers)
    if target == "web_reset":
        return Shot(label, "POST", "/api/chat/reset", headers, body(rng, {}))
    headers["content-type"] = (
        "application/json" if rng.random() < 0.7 else rng.choice(CONTENT_TYPES)
    )
    template = {"message_id": str(uuid.uuid4()), "text": rng.choice(QUESTIONS)}
    if rng.random() < 0.3:
        template = {"message_id": str(uuid.uuid4()), "payload": "/greet", "title": "Chào"}
    return Shot(label, "POST", "/api/chat/messages", headers, body(rng, template))
