"""The words people read that are not the assistant's own sentences, loaded from data.

``bot/wording.yml``: the small pieces the actions and the content importer put together (zone
kinds, citations, date phrases, the importer's errors). ``bot/system_messages.yml``: what the
gateway says when a message never reaches the assistant (busy, empty, too fast…). The
assistant's sentences are Rasa responses in ``bot/assistant/domain/``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
WORDING = HERE / "wording.yml"
SYSTEM_MESSAGES = HERE / "system_messages.yml"


@cache
def load(path: Path) -> dict[str, Any]:
    """A YAML file of words, read once (also for the word lists of other modules)."""
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def phrase(name: str, **values: Any) -> str:
    """The piece called ``name`` with ``values`` filled in; KeyError if the file lacks it."""
    return str(load(WORDING)[name]).format(**values)


def table(name: str) -> dict[str, str]:
    """A named table of pieces (``zone_kinds``, ``errors``)."""
    found: dict[str, str] = load(WORDING)[name]
    return found


def error(name: str, **values: Any) -> str:
    """A message to the content editor about a refused file."""
    return table("errors")[name].format(**values)


def system(name: str) -> str:
    """What the gateway says itself (``busy``, ``empty``…); KeyError names a missing one."""
    return str(load(SYSTEM_MESSAGES)[name])
