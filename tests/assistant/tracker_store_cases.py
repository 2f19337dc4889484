"""Cases for bot.assistant.tracker_store, run with Rasa's Python 3.10 by test_tracker_store.py.

Each case prints one JSON line ``{"case": name, ...what it saw}``; the test asserts on them.
Turns are written as Rasa writes them (user, action, bot, action_listen) on the real domain,
so no model is needed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.assistant.tracker_store import KEEP_CONTEXT_AFTER, LAST_ID, LoaTrackerStore

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "bot" / "assistant" / "domain"))
BUTTONS = [{"title": "Đồng ý", "payload": "/affirm"}]


def report(case: str, **seen: Any) -> None:
    print(json.dumps({"case": case, **seen}, ensure_ascii=False))


def store(db: Path, **kwargs: Any) -> LoaTrackerStore:
    return LoaTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db), **kwargs)


async def turn(
    s: Any, sender: str, text: str, action: str = "action_reply", extra: list[Event] = ()
) -> None:
    """One finished turn, as Rasa's processor leaves it."""
    tracker = await s.get_or_create_tracker(sender)
    tracker.update(UserUttered(text, intent={"name": "greet", "confidence": 1.0}), DOMAIN)
    tracker.update(ActionExecuted(action), DOMAIN)
    for event in extra:
        tracker.update(event, DOMAIN)
    tracker.update(ActionExecuted("action_listen"), DOMAIN)
    await s.save(tracker)


def user_texts(tracker: Any) -> list[str]:
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


def dicts(tracker: Any) -> list[dict[str, Any]]:
    return [e.as_dict() for e in tracker.events]


async def main(tmp: Path) -> None:
    # Renewal after roll_after messages; slots carried; the table keeps every message once.
    db = tmp / "renew.db"
    s = store(db, roll_after=4)
    with s.engine.connect() as connection:
        report("journal", mode=connection.exec_driver_sql("PRAGMA journal_mode").scalar())
    await turn(s, "a", "m1", extra=[SlotSet("location", "Tam Thanh")])
    for i in range(2, 10):
        await turn(s, "a", f"m{i}")
    rasa_own = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db))
    cached = await s.retrieve("a")
    from_table = await rasa_own.retrieve("a")
    full = await rasa_own.retrieve_full_tracker("a")
    report(
        "renewal",
        session_messages=user_texts(from_table),
        all_messages=user_texts(full),
        sessions=sum(1 for e in full.events if e.type_name == "session_started"),
        location=from_table.get_slot("location"),
        cached_equals_table=dicts(cached) == dicts(from_table),
    )

    # No renewal after a turn that asked (buttons), an action a rule reads the answer of, or
    # while a form is open.
    for name, extra, action in (
        ("buttons", [BotUttered("Bạn đồng ý chứ?", data={"buttons": BUTTONS})], "action_reply"),
        ("context_action", [], sorted(KEEP_CONTEXT_AFTER)[0]),
        ("form", [ActiveLoop("help_request_form")], "help_request_form"),
    ):
        s2 = store(tmp / f"{name}.db", roll_after=2)
        await turn(s2, "b", "m1")
        await turn(s2, "b", "m2", action=action, extra=extra)
        tracker = await SQLTrackerStore(
            domain=DOMAIN, dialect="sqlite", db=str(tmp / f"{name}.db")
        ).retrieve("b")
        report(f"kept_{name}", session_messages=user_texts(tracker))

    # Another writer (a second Rasa process on the same table): the cache is not used.
    db = tmp / "two.db"
    first, second = store(db), store(db)
    await turn(first, "c", "from first")
    await turn(second, "c", "from second")
    report("two_writers", messages=user_texts(await first.retrieve("c")))

    # A turn that failed before saving (the tracker was changed, not saved): the next turn
    # starts from the table, not from the changed object.
    db = tmp / "failed.db"
    s3 = store(db)
    await turn(s3, "d", "saved")
    broken = await s3.retrieve("d")
    broken.update(UserUttered("never saved", intent={"name": "greet"}), DOMAIN)
    again = await s3.retrieve("d")
    report("failed_turn", messages=user_texts(again))

    # A new conversation: its events are written once each, in order, with nothing counted
    # first, and the next turn starts from memory (the newest id is the one saved).
    db = tmp / "new.db"
    s4 = store(db)
    await turn(s4, "e", "first")
    await turn(s4, "e", "second")
    with s4.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT type_name, action_name FROM events WHERE sender_id = 'e' ORDER BY id"
        ).all()
        newest = connection.exec_driver_sql(
            "SELECT max(id) FROM events WHERE sender_id = 'e'"
        ).scalar()
    cached = await s4.retrieve("e")
    table = await SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db)).retrieve("e")
    report(
        "new_conversation",
        rows=[list(row) for row in rows],
        events=[[e.type_name, getattr(e, "action_name", None)] for e in table.events],
        from_memory=getattr(cached, LAST_ID, None) == newest,
    )

    # The rules that read the answer to an action are all in KEEP_CONTEXT_AFTER.
    first_actions = set()
    for path in sorted((ROOT / "stories").glob("*.yml")):
        for rule in yaml.safe_load(path.read_text(encoding="utf-8")).get("rules") or []:
            steps = rule.get("steps") or []
            if steps and "action" in steps[0] and not rule.get("condition"):
                first_actions.add(steps[0]["action"])
    report("context_rules", missing=sorted(first_actions - KEEP_CONTEXT_AFTER))

    # The speed-ups keep Rasa's answers: a bad action response is still refused, an unknown
    # event type still raises, a known one is still found.
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:9"))
    try:
        action._validate_action_result({"events": [{"event": 5}]})
        refused = False
    except ValidationError:
        refused = True
    good = {"event": "slot", "name": "location", "value": "Tam Thanh"}
    ok = action._validate_action_result({"events": [good], "responses": []})
    try:
        Event.resolve_by_type("no_such_event")
        unknown = "found"
    except ValueError:
        unknown = "raised"
    report(
        "speedups",
        refused=refused,
        accepted=ok,
        unknown=unknown,
        default=Event.resolve_by_type("no_such_event", SlotSet) is SlotSet,
        user=Event.resolve_by_type("user") is UserUttered,
    )
    await domain_once()


class ActionServer(ThreadingHTTPServer):
    """An action server that keeps the domain as rasa_sdk ≥ 3.8 does: the last one sent with
    its digest; a call with neither the domain nor that digest is answered 449."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ActionHandler)
        self.digest: str | None = None
        self.calls: list[list[Any]] = []  # [carried the domain, status] per call

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/webhook"


class ActionHandler(BaseHTTPRequestHandler):
    server: ActionServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        digest, domain = body.get("domain_digest"), body.get("domain")
        if domain is None and not (self.server.digest and self.server.digest == digest):
            status, answer = 449, {"error": "domain missing", "action_name": body["next_action"]}
        else:
            if domain is not None:
                self.server.digest = digest
            status, answer = 200, {"events": [], "responses": [{"text": "ok"}]}
        self.server.calls.append([domain is not None, status])
        raw = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


async def domain_once() -> None:
    """The domain goes with the first call only; a server that lost it gets it again."""
    server = ActionServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    action = RemoteAction("action_x", EndpointConfig(server.url))
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    said = []
    for restart in (False, False, True, False):
        if restart:
            server.digest = None  # the action server was restarted
        tracker = DialogueStateTracker("f", DOMAIN.slots)
        events = await action.run(CollectingOutputChannel(), nlg, tracker, DOMAIN)
        said.append([e.text for e in events if isinstance(e, BotUttered)])
    server.shutdown()
    report("domain_once", calls=server.calls, said=said)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(Path(tmp)))
    sys.exit(0)
