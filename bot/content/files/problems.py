"""What is wrong with a content file, said in Vietnamese: the refusal and its messages."""

from __future__ import annotations

from typing import Any

from bot import wording

_error = wording.error
_KINDS = {"string_type": "string", "int_type": "int", "int_parsing": "int", "bool_type": "bool"}
_KINDS |= {"bool_parsing": "bool", "list_type": "list"}


class ContentError(Exception):
    """A content file was refused; ``problems`` says where and why, in Vietnamese."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join([_error("summary", count=len(problems)), *problems]))


def describe(error: Any) -> str:
    """A pydantic validation error of one field, in words."""
    kind = str(error["type"])
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _error("missing")
    if kind == "extra_forbidden":
        return _error("extra_forbidden")
    if kind.startswith("date"):  # every date field takes a day or a time: one message
        return _error("date")
    if kind == "string_too_short":
        return _error("empty")
    if kind == "string_too_long":
        return _error("too_long", max=ctx.get("max_length"))
    if kind == "literal_error":
        return _error("choice", allowed=str(ctx.get("expected", "")).replace(" or ", ", "))
    if kind in _KINDS:
        return _error(_KINDS[kind])
    return _error("other", reason=error.get("msg", kind))


def where(section: str, index: int, raw: Any, loc: tuple[Any, ...] = ()) -> str:
    """``zones[2] (key: tt-5) → area``: the item (counted from 1) and the field."""
    label = f"{section}[{index + 1}]"
    if isinstance(raw, dict) and raw.get("key") is not None:
        label += f" (key: {raw['key']})"
    if loc:
        label += " → " + ".".join(str(part) for part in loc)
    return label
