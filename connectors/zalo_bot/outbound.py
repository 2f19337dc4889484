"""Send through the Zalo Bot API over httpx (JSON bodies; Telegram-like answers).

Docs: bot.zapps.me/docs — sendMessage (chat_id, text 1-2000), sendPhoto (photo URL, caption).
The platform has no buttons: they are written under the text as numbered choices.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from connectors.base import IncomingMessage, OutgoingMessage, SendResult, channel_id
from connectors.http import failed_request

MAX_TEXT_LENGTH = 2000  # sendMessage text
PER_SECOND = 20  # undocumented; kept well under Telegram's 30/s
CHAT_INTERVAL = 1.0


class ZaloBotChannel:
    """Sends to ``<base_url>/bot<token>/<method>``."""

    name = "zalo_bot"
    max_text_length = MAX_TEXT_LENGTH
    reply_window: timedelta | None = None

    def __init__(self, *, client: httpx.AsyncClient, token: str, base_url: str) -> None:
        self.client = client
        self.url = f"{base_url.rstrip('/')}/bot{token}"

    async def send(self, recipient: str, message: OutgoingMessage) -> SendResult:
        text = _with_choices(message)
        if message.image_url:
            method, body = (
                "sendPhoto",
                {"chat_id": recipient, "photo": message.image_url, "caption": text},
            )
        else:
            method, body = "sendMessage", {"chat_id": recipient, "text": text}
        try:
            response = await self.client.post(f"{self.url}/{method}", json=body, timeout=15)
            answer: dict[str, Any] = response.json()
        except httpx.HTTPError as exc:
            return failed_request(exc)
        except ValueError:
            return SendResult(ok=False, retryable=True, error=f"HTTP {response.status_code}")
        if answer.get("ok"):
            result = answer.get("result")
            message_id = result.get("message_id") if isinstance(result, dict) else None
            return SendResult(ok=True, channel_message_id=channel_id(message_id))
        error = f"{answer.get('error_code')}: {answer.get('description')}"
        status = response.status_code
        if status == 429:
            retry_after = (answer.get("parameters") or {}).get("retry_after") or 5
            return SendResult(ok=False, retryable=True, retry_after=float(retry_after), error=error)
        if status >= 500 or status == 401:
            return SendResult(
                ok=False, retryable=True, retry_after=60 if status == 401 else None, error=error
            )
        return SendResult(ok=False, reachable=status != 403, error=error)

    async def acknowledge(self, message: IncomingMessage) -> None:
        """Nothing to do once a message is stored."""


def _with_choices(message: OutgoingMessage) -> str:
    if not message.buttons:
        return message.text
    choices = "\n".join(f"• {b.title}" for b in message.buttons)
    return f"{message.text}\n\n{choices}".strip()[:MAX_TEXT_LENGTH]
