"""The gateway's own words (busy, empty message…), read from system_messages.yml."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

_FILE = Path(__file__).with_name("system_messages.yml")


@cache
def _all() -> dict[str, str]:
    loaded: dict[str, str] = yaml.safe_load(_FILE.read_text(encoding="utf-8"))
    return loaded


def text(name: str) -> str:
    """The message called ``name``; a KeyError names a message missing from the file."""
    return _all()[name]
