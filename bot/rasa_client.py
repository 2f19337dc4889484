"""Rasa over HTTP: the REST channel, one conversation turn at a time."""

from __future__ import annotations

from typing import Any

import httpx

from connectors.base import Button, OutgoingMessage


class RasaUnavailable(RuntimeError):
    """Rasa (or the action server behind it) did not answer; the message must be retried."""


class RasaClient:
    """A thin client; pass an ``httpx.AsyncClient`` to share its connection pool."""

    def __init__(self, base_url: str, *, client: httpx.AsyncClient, timeout: float = 20) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.timeout = timeout

    async def converse(self, sender_id: str, message: str) -> list[OutgoingMessage]:
        """Send one message as ``sender_id`` and return the assistant's replies."""
        try:
            response = await self.client.post(
                f"{self.base_url}/webhooks/rest/webhook",
                json={"sender": sender_id, "message": message},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"rasa unreachable: {exc!r}") from exc
        if response.status_code != 200:
            raise RasaUnavailable(f"rasa answered {response.status_code}")
        try:
            return [_outgoing(item) for item in response.json()]
        except (ValueError, TypeError, AttributeError) as exc:
            raise RasaUnavailable(f"rasa answered something unreadable: {exc!r}") from exc


def _outgoing(item: dict[str, Any]) -> OutgoingMessage:
    buttons = tuple(
        Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
        for b in item.get("buttons") or ()
    )
    return OutgoingMessage(
        text=item.get("text") or "", buttons=buttons, image_url=item.get("image")
    )
