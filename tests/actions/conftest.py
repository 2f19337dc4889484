"""Actions run as rasa-sdk runs them: a Tracker in, a dispatcher's messages and events out,
against a real database holding tests/fixtures/content/small.yml."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import common
from actions.guard import INTENT_ACTIONS
from bot.content import files
from bot.storage.engine import sessions

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "tests" / "fixtures" / "content" / "small.yml"


@pytest.fixture
def content_db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The small content file loaded, and the actions pointed at this database."""
    with sessions(database_url).begin() as session:
        files.load(files.read_file(SMALL), session=session, prefer_province="Lạng Sơn")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LOA_PROVINCE", "Lạng Sơn")
    common.settings.cache_clear()
    yield database_url
    common.settings.cache_clear()


def domain_section(name: str) -> dict[str, Any]:
    """One section (responses, forms, slots) of every domain file, merged."""
    found: dict[str, Any] = {}
    for path in sorted((ROOT / "bot" / "assistant" / "domain").glob("*.yml")):
        found |= yaml.safe_load(path.read_text(encoding="utf-8")).get(name) or {}
    return found


def responses() -> dict[str, list[dict[str, Any]]]:
    return domain_section("responses")


# What a form validation action is given as its domain: the forms and the slots.
DOMAIN: dict[str, Any] = {"forms": domain_section("forms"), "slots": domain_section("slots")}


def tracker(
    text: str,
    *,
    intent: str | None = None,
    entities: dict[str, str] | None = None,
    slots: dict[str, Any] | None = None,
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent or "", "confidence": 1.0},
        "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
    }
    return Tracker("test:1", slots or {}, latest, [], False, None, {}, "action_listen")


@dataclass
class Said:
    """What an action said: each message rendered as the person reads it, and its events."""

    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]

    @property
    def names(self) -> list[str]:
        return [m.get("response") or "" for m in self.messages]

    @property
    def texts(self) -> list[str]:
        return [render(m) for m in self.messages]

    @property
    def text(self) -> str:
        return "\n\n".join(self.texts)

    def slot(self, name: str) -> Any:
        sets = [e["value"] for e in self.events if e.get("event") == "slot" and e["name"] == name]
        return sets[-1] if sets else "<not set>"

    def buttons(self) -> list[dict[str, str]]:
        return [b for m in self.messages for b in m.get("buttons") or []]


def render(message: dict[str, Any]) -> str:
    """Fill a domain response the way Rasa does ({name} → value); text messages as they are."""
    if not message.get("response"):
        return str(message.get("text") or "")
    template = str(responses()[message["response"]][0]["text"])
    values = {k: v for k, v in message.items() if k not in ("response", "buttons")}
    missing = set(re.findall(r"{([^\n{}]+?)}", template)) - set(values)
    assert not missing, f"{message['response']} needs {missing}"
    return re.sub(r"{([^\n{}]+?)}", lambda m: str(values[m.group(1)]), template)


# The intent each action answers, for trackers that do not name one.
INTENT_OF = {action: intent for intent, action in INTENT_ACTIONS.items()}


async def run(action: Action, tr: Tracker) -> Said:
    """Run ``action`` on ``tr`` (a tracker without an intent gets the action's own, as Rasa
    would have predicted it)."""
    if not tr.latest_message["intent"]["name"]:
        tr.latest_message["intent"]["name"] = INTENT_OF.get(action.name(), "")
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tr, {})
    return Said(dispatcher.messages, [dict(e) for e in events])
