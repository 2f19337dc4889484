"""Request bodies as JSON, decoded so that nothing a client sends can raise anything but a
``ValueError`` with a one-line reason: strict UTF-8, bounded nesting, finite numbers."""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Real updates nest about 6 deep (Telegram: update → callback_query → message → chat); a
# decoder recursing into 100,000 brackets would raise RecursionError instead.
MAX_DEPTH = 32
MAX_DIGITS = 40  # real ids have at most 20; int() of a 100,000-digit token costs seconds
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)  # linear: the alternatives are disjoint
_OPEN, _CLOSE = frozenset(b"[{"), frozenset(b"]}")


def decode(raw: bytes) -> Any:
    """The JSON value in ``raw``; ``ValueError`` (a short reason) for anything else."""
    try:
        text = raw.decode("utf-8")  # strict: no encoded surrogates, no stray bytes
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte {exc.start})") from None
    if _depth(raw) > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH}")
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite, parse_int=_short)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at {exc.pos})") from None
    except RecursionError:  # cannot happen under MAX_DEPTH; kept as a last guard
        raise ValueError("nested too deep") from None


def _depth(raw: bytes) -> int:
    """How deep arrays and objects nest, strings left out (a quick count first: most bodies
    have fewer brackets than the limit)."""
    if sum(raw.count(c) for c in b"[{") <= MAX_DEPTH:
        return 0
    depth = deepest = 0
    for byte in _STRING.sub(b"", raw):
        if byte in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif byte in _CLOSE:
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _short(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"an integer of more than {MAX_DIGITS} digits")
    return int(text)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number too large for a float")
    return value
