"""Talking to the running stack as a browser does (the web chat API), and asking Rasa's NLU."""

from __future__ import annotations

import sqlite3
import time
import uuid
from contextlib import closing

import httpx

from bot.web.webchat import COOKIE
from testkit import http as one_off
from tests.e2e.conftest import RunningStack


def joined(replies: list[dict]) -> str:
    """The replies' texts as one: Rasa sends each paragraph of a response as its own message."""
    return "\n\n".join(r["text"] for r in replies)


_COOKIES: dict[str, str] = {}  # a named conversation → the cookie the server gave it


def say(
    http: httpx.Client,
    text: str | None = None,
    *,
    sender: str | None = None,
    payload: str | None = None,
    patient: bool = False,
) -> list[dict]:
    """Post as a browser: ``sender`` names a conversation to continue (its cookie is kept);
    without it, every call is a new conversation. ``patient``: a long conversation typed
    faster than a person types is refused (429, one message per 2 s after a burst of 8);
    post it again until the conversation's limit lets it through."""
    body: dict[str, str] = {"message_id": str(uuid.uuid4())}
    if payload:
        body["payload"] = payload
    else:
        body["text"] = text or ""
    http.cookies.clear()
    cookie = _COOKIES.get(sender or "")
    headers = {"cookie": f"{COOKIE}={cookie}"} if cookie else {}
    response = http.post("/api/chat/messages", json=body, headers=headers)
    deadline = time.monotonic() + 30
    while patient and response.status_code == 429 and time.monotonic() < deadline:
        time.sleep(0.25)  # refused before it was stored: the same message again
        response = http.post("/api/chat/messages", json=body, headers=headers)
    assert response.status_code == 200, response.text
    if sender and COOKIE in response.cookies:
        _COOKIES[sender] = response.cookies[COOKIE]
    replies: list[dict] = response.json()["replies"]
    return replies


def parse(rasa: httpx.Client, text: str) -> dict:
    """Rasa's NLU reading of ``text``, through its HTTP API (``rasa``: the ``rasa_api``
    fixture's client, which sends the token and keeps its connection: a new client per call
    costs more than the parse itself)."""
    response = rasa.post("/model/parse", json={"text": text})
    assert response.status_code == 200, response.text
    parsed: dict = response.json()
    return parsed


def test_rasa_api_refuses_a_request_without_the_token(stack: RunningStack) -> None:
    for token in (None, "wrong"):
        params = {"token": token} if token else {}
        response = one_off.post(
            f"{stack.rasa_url}/model/parse", params=params, json={"text": "xin chào"}, timeout=30
        )
        assert response.status_code == 401, response.text


def test_rasa_keeps_conversations_in_the_configured_tracker_store(
    http: httpx.Client, stack: RunningStack
) -> None:
    say(http, "xin chào")
    # Rows in the table, not only a file: `loa run` makes the file (WAL) before Rasa starts,
    # and Rasa falls back to memory, with a warning only, if the store's class cannot load.
    with closing(sqlite3.connect(stack.output.parent / "rasa-tracker.db")) as db:
        said = db.execute("SELECT count(*) FROM events WHERE type_name = 'user'").fetchone()[0]
    assert said > 0


def test_health_is_green(http: httpx.Client) -> None:
    response = http.get("/healthz")
    assert response.json() == {"database": "ok", "rasa": "ok", "actions": "ok"}
    assert response.status_code == 200
