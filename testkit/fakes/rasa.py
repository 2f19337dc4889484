"""A fake Rasa REST channel: echoes what it got, or fails the way a down Rasa fails."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


@dataclass
class FakeRasa:
    """``mode``: "ok" answers ``echo: <message>``; "error" answers 500; "garbage" bad JSON.
    A message in ``poison`` gets a 500 whatever the mode (it is counted in ``poisoned``)."""

    mode: str = "ok"
    poison: set[str] = field(default_factory=set)
    poisoned: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[dict[str, str]] = field(default_factory=list)
    reply: str | None = None  # answer this instead of the echo
    in_flight: int = 0
    max_in_flight: int = 0  # how many requests it served at the same time, at most

    async def webhook(self, request: Request) -> Any:
        body = await request.json()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        if body.get("message") in self.poison:
            self.poisoned.append(body)
            return PlainTextResponse("internal error", status_code=500)
        if self.mode == "error":
            return PlainTextResponse("internal error", status_code=500)
        if self.mode == "garbage":
            return PlainTextResponse("<html>not json</html>")
        self.received.append(body)
        text = self.reply if self.reply is not None else f"echo: {body['message']}"
        reply: dict[str, Any] = {"recipient_id": body["sender"], "text": text}
        if self.buttons:
            reply["buttons"] = self.buttons
        return JSONResponse([reply])

    async def root(self, request: Request) -> Any:
        return PlainTextResponse("Hello from Rasa: 3.6.21")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/webhooks/rest/webhook", self.webhook, methods=["POST"]),
                Route("/", self.root),
            ]
        )
