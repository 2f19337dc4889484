"""Announcement templates: the placeholders officers may use, and checking a template's form.

A template is Vietnamese text with ``{name}`` placeholders (names without diacritics, so an
officer types them on any keyboard); ``{{`` and ``}}`` are literal braces. A template is
checked when it is saved — by the desk, the CLI or a content import — so a wrong one is never
found out at sending time.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from bot import wording
from connectors.telegram.outbound import MAX_TEXT_LENGTH as TELEGRAM_MAX
from connectors.zalo_oa.outbound import MAX_TEXT_LENGTH as ZALO_OA_MAX

MESSAGES = Path(__file__).resolve().parent / "messages.yml"
# The smallest text limit of the channels a broadcast goes out on: every text must fit all.
MAX_RENDERED = min(TELEGRAM_MAX, ZALO_OA_MAX)


def words() -> dict[str, Any]:
    """The alerts' Vietnamese (``messages.yml``), read once."""
    return wording.load(MESSAGES)


def say(name: str, /, **values: Any) -> str:
    """A piece of ``messages.yml`` with ``values`` filled in."""
    return str(words()[name]).format(**values)


def error_text(name: str, /, **values: Any) -> str:
    """An error sentence of ``messages.yml`` with ``values`` filled in."""
    return str(words()["errors"][name]).format(**values)


@cache
def placeholders() -> dict[str, str]:
    """Placeholder name → what it is, in Vietnamese, as officers see it."""
    return dict(words()["placeholders"])


def problem(template: str) -> tuple[str, dict[str, Any]] | None:
    """What is wrong with a template's form, as (error key, values); None when it is fine.

    Only bare names are placeholders: ``{0}``, ``{khu_vuc.x}``, ``{cap_do!r}`` or
    ``{cap_do:>5}`` are refused like unknown names (``str.format`` would run them)."""
    if not template.strip():
        return "template_empty", {}
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return "template_braces", {}
    known = placeholders()
    bad = [
        "{" + (name or "") + ("!" + conv if conv else "") + (":" + spec if spec else "") + "}"
        for _, name, spec, conv in parsed
        if name is not None and (name not in known or spec or conv)
    ]
    if bad:
        allowed = ", ".join("{" + name + "}" for name in known)
        return "template_unknown", {"names": ", ".join(dict.fromkeys(bad)), "allowed": allowed}
    return None


def render(template: str, values: Mapping[str, str]) -> str:
    """The template with every placeholder filled (check ``problem`` first)."""
    return template.format_map({name: values.get(name, "") for name in placeholders()}).strip()
