"""Reading untrusted JSON (webhook bodies): every value we use is checked for its type and
range; anything else is a ``ValueError`` that names the field, never echoes the value."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

# Telegram ids are 64-bit integers; Zalo's are ≤ 20 digits or 32 hex characters. Stored in
# 128-character columns, sometimes with a prefix ("follow:<id>:<timestamp>").
MAX_ID_LENGTH = 64
INT64 = 2**63


def obj(parent: dict[str, Any], key: str) -> dict[str, Any] | None:
    """An optional object."""
    value = parent.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise ValueError(f"{key}: not an object")


def need(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """A required object."""
    value = obj(parent, key)
    if value is None:
        raise ValueError(f"{key}: missing")
    return value


def text(parent: dict[str, Any], key: str) -> str | None:
    """An optional string."""
    value = parent.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{key}: not a string")


def integer(parent: dict[str, Any], key: str, *, low: int, high: int) -> int:
    """A required integer in [low, high) (booleans and floats are not integers)."""
    value = parent.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key}: not an integer")
    if not low <= value < high:
        raise ValueError(f"{key}: out of range")
    return value


def number(parent: dict[str, Any], key: str, *, limit: float) -> float:
    """A required finite number within ±limit; Zalo may write it as a string."""
    value = parent.get(key)
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError
        result = float(value)
    except ValueError:
        raise ValueError(f"{key}: not a number") from None
    if not math.isfinite(result) or abs(result) > limit:
        raise ValueError(f"{key}: out of range")
    return result


def ident(parent: dict[str, Any], key: str) -> str:
    """A required id: a 64-bit integer or a short printable string, as a string."""
    value = parent.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and -INT64 < value < INT64:
        return str(value)
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and value.isprintable():
        return value
    raise ValueError(f"{key}: not an id")


def millis(value: Any, key: str) -> int:
    """A time in milliseconds since 1970 (Zalo writes it as a string or a number)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 16:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**16:
        return value
    raise ValueError(f"{key}: not a time in milliseconds")


def within(stamp_ms: int, now: datetime, window: timedelta) -> bool:
    """Whether a time in milliseconds is less than ``window`` away from ``now``."""
    return abs(stamp_ms / 1000 - now.timestamp()) <= window.total_seconds()


def brief(value: object, limit: int = 60) -> str:
    """A value for a one-line log: its repr (escapes newlines and odd characters), cut short."""
    shown = repr(value)
    return shown if len(shown) <= limit else shown[:limit] + "…"
