"""A fake Zalo Bot API (the Telegram-like one) over real HTTP: validates and fails on demand."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from testkit.fakes.telegram import read_params

TOKEN = "2000000001:TEST-zalo-bot-secret"
SENDS = {"sendMessage", "sendPhoto", "sendSticker"}
FAILURE_KINDS = {"500", "timeout", "429"}

Answer = tuple[int, dict[str, Any]]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _error(status: int, description: str, retry_after: int | None = None) -> Answer:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}  # Telegram's shape; Zalo's is unknown
    return status, body


def event_text(chat_id: str, text: str, message_id: str, *, display_name: str = "An") -> dict:
    """A ``message.text.received`` webhook body as the Zalo Bot platform POSTs it."""
    message: dict[str, object] = {
        "from": {"id": chat_id, "display_name": display_name, "is_bot": False}
    }
    message.update(chat={"id": chat_id, "chat_type": "PRIVATE"}, text=text)
    message.update(message_id=message_id, date=_now_ms())
    return {"event_name": "message.text.received", "message": message}


@dataclass
class FakeZaloBot:
    """``monthly_quota`` is the free plan's 3,000 messages a month, counted over the fake's life;
    over it a send answers 429 and goes into ``violations`` (the real error text is unknown).
    ``updates`` feeds getUpdates, which answers 408 at once when it is empty."""

    tokens: set[str] = field(default_factory=lambda: {TOKEN})
    monthly_quota: int = 3000
    slow_seconds: float = 3.0
    retry_after_seconds: int = 1
    sent: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    violations: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    updates: deque[dict[str, Any]] = field(default_factory=deque)
    webhook: dict[str, Any] | None = None
    failures: deque[str] = field(default_factory=deque)

    def fail_next(self, n: int, kind: str) -> None:
        """The next ``n`` send calls fail: "500", "429" or "timeout" (accepted, answered late)."""
        if kind not in FAILURE_KINDS:
            raise ValueError(f"kind must be one of {sorted(FAILURE_KINDS)}")
        self.failures.extend([kind] * n)

    def _methods(self) -> dict[str, Callable[[str, dict[str, Any]], Answer]]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendSticker": self._send_sticker,
            "sendChatAction": self._send_chat_action,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._webhook_info,
            "deleteWebhook": self._delete_webhook,
        }

    async def handle(self, request: Request) -> JSONResponse:
        token, method = request.path_params["token"], request.path_params["method"]
        params = await read_params(request)
        handler = self._methods().get(method)
        delay, wait = 0.0, self.retry_after_seconds
        if token not in self.tokens:
            status, body = _error(401, "Unauthorized")
        elif handler is None:
            status, body = _error(404, "Not Found")
        else:
            kind = self.failures.popleft() if method in SENDS and self.failures else None
            if kind == "500":
                status, body = _error(500, "Internal Server Error")
            elif kind == "429":
                status, body = _error(429, f"Too Many Requests: retry after {wait}", wait)
            else:
                status, body = handler(token, params)
                delay = self.slow_seconds if kind == "timeout" else 0.0
        path = request.url.path
        self.requests.append({"method": method, "path": path, "params": params, "status": status})
        # On "timeout" the message is already in ``sent``: only the answer comes late.
        await asyncio.sleep(delay)
        return JSONResponse(body, status_code=status)

    def _get_me(self, token: str, p: dict[str, Any]) -> Answer:
        bot = {"id": token.split(":")[0], "account_name": "bot.LoaTest", "account_type": "BASIC"}
        return 200, {"ok": True, "result": {**bot, "can_join_groups": False}}

    def _get_updates(self, token: str, p: dict[str, Any]) -> Answer:
        if self.webhook:
            return _error(409, "Conflict: webhook is active, delete it to use getUpdates")
        if not self.updates:
            return _error(408, "Request timeout")  # the fake does not hold the long poll
        return 200, {"ok": True, "result": self.updates.popleft()}  # one update, not a list

    def _send_message(self, token: str, p: dict[str, Any]) -> Answer:
        text = str(p.get("text") or "")
        if not text.strip() or len(text) > 2000:
            return _error(400, "Bad Request: text must be 1 to 2000 characters")
        return self._deliver("sendMessage", p, {"text": text})

    def _send_photo(self, token: str, p: dict[str, Any]) -> Answer:
        caption = str(p.get("caption") or "")
        if not p.get("photo") or len(caption) > 2000:
            return _error(400, "Bad Request: photo is required, caption at most 2000 characters")
        return self._deliver("sendPhoto", p, {"photo": p["photo"], "caption": caption or None})

    def _send_sticker(self, token: str, p: dict[str, Any]) -> Answer:
        if not p.get("sticker"):
            return _error(400, "Bad Request: sticker is required")
        return self._deliver("sendSticker", p, {"sticker": p["sticker"]})

    def _deliver(self, method: str, p: dict[str, Any], content: dict[str, Any]) -> Answer:
        chat_id = str(p.get("chat_id") or "")
        if not chat_id:
            return _error(400, "Bad Request: chat_id is required")
        now = time.monotonic()
        if len(self.sent) >= self.monthly_quota:
            self.violations.append({"rule": "monthly_quota", "chat_id": chat_id, "at": now})
            return _error(429, "Too Many Requests: monthly message quota exceeded")
        message_id, date = secrets.token_hex(10), _now_ms()
        entry = {"method": method, "chat_id": chat_id, "text": content.get("text")}
        entry.update(content, at=now, message_id=message_id, date=date, params=p)
        self.sent.append(entry)
        return 200, {"ok": True, "result": {"message_id": message_id, "date": date}}

    def _send_chat_action(self, token: str, p: dict[str, Any]) -> Answer:
        if not p.get("chat_id") or p.get("action") not in ("typing", "upload_photo"):
            return _error(400, "Bad Request: chat_id and action (typing) are required")
        self.actions.append({"chat_id": str(p["chat_id"]), "action": p["action"]})
        return 200, {"ok": True}

    def _set_webhook(self, token: str, p: dict[str, Any]) -> Answer:
        url, secret = str(p.get("url") or ""), str(p.get("secret_token") or "")
        if not url.startswith("https://"):
            return _error(400, "Bad Request: url must be an HTTPS URL")
        if not 8 <= len(secret) <= 256:
            return _error(400, "Bad Request: secret_token must be 8 to 256 characters")
        self.webhook = {"url": url, "secret_token": secret, "updated_at": _now_ms()}
        return self._webhook_info(token, p)

    def _webhook_info(self, token: str, p: dict[str, Any]) -> Answer:
        hook = self.webhook or {"url": "", "updated_at": _now_ms()}
        return 200, {"ok": True, "result": {"url": hook["url"], "updated_at": hook["updated_at"]}}

    def _delete_webhook(self, token: str, p: dict[str, Any]) -> Answer:
        self.webhook = None
        return self._webhook_info(token, p)

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/bot{token}/{method}", self.handle, methods=["GET", "POST"])]
        )
