"""A fake Telegram Bot API over real HTTP: validates, rate-limits and fails like the real one."""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TOKEN = "123456:TEST-token"
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
SENDS = {"sendmessage", "sendphoto"}
FAILURE_KINDS = {"500", "timeout", "429"}
# PTB sends every non-string value as JSON text; these are the ones worth decoding.
JSON_FIELDS = ("reply_markup", "entities", "allowed_updates", "link_preview_options")
FORBIDDEN = {
    "blocked": "bot was blocked by the user",
    "deactivated": "user is deactivated",
    "never_started": "bot can't initiate conversation with a user",
}

Answer = tuple[int, dict[str, Any]]


async def read_params(request: Request) -> dict[str, Any]:
    """Query string plus body, whichever encoding the client chose (JSON, urlencoded, multipart)."""
    params: dict[str, Any] = dict(request.query_params)
    body, ctype = await request.body(), request.headers.get("content-type", "")
    if "multipart/form-data" in ctype:
        # python-multipart is not installed; the stdlib MIME parser reads form-data fine.
        head = f"Content-Type: {ctype}\r\n\r\n".encode()
        for part in BytesParser(policy=HTTP).parsebytes(head + body).iter_parts():
            payload, filename = part.get_payload(decode=True) or b"", part.get_filename()
            data = payload if isinstance(payload, bytes) else str(payload).encode()
            value = {"filename": filename, "size": len(data)} if filename else data.decode()
            params[str(part.get_param("name", header="content-disposition"))] = value
    elif "x-www-form-urlencoded" in ctype:
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    elif body and isinstance(data := maybe_json(body.decode(errors="replace")), dict):
        params.update(data)
    return params


def maybe_json(value: Any) -> Any:
    """Decode a value that arrived as JSON text; leave anything else as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def bot_user(token: str = TOKEN) -> dict[str, Any]:
    prefix = token.split(":")[0]
    user_id = int(prefix) if prefix.isdigit() else 1
    return {"id": user_id, "is_bot": True, "first_name": "Loa", "username": "loa_test_bot"}


def _error(status: int, description: str, retry_after: int | None = None) -> Answer:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return status, body


def _ok(result: Any, description: str | None = None) -> Answer:
    return 200, {
        "ok": True,
        "result": result,
        **({"description": description} if description else {}),
    }


def _chat(chat_id: int, first_name: str = "An") -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "first_name": first_name, "type": "private"}
    kind = "supergroup" if str(chat_id).startswith("-100") else "group"
    return {"id": chat_id, "title": "Nhóm thử", "type": kind}


@dataclass
class FakeTelegram:
    """Chats in ``blocked``/``deactivated``/``never_started`` answer 403, ``missing`` 400.

    Rate limits, the fake's reading of "about 1/s per chat, short bursts tolerated": each chat
    has a token bucket of ``per_chat_burst`` (3) refilled at ``per_chat_rate`` (1/s), and at most
    ``global_per_second`` (30) sends are accepted in any sliding second. A refused send answers
    429, is listed in ``violations`` and uses no allowance. ``GET /_fake/stats`` sums up what
    arrived (``python -m testkit.fakes.telegram_server`` serves one in its own process).
    """

    tokens: set[str] = field(default_factory=lambda: {TOKEN})
    blocked: set[int] = field(default_factory=set)
    deactivated: set[int] = field(default_factory=set)
    never_started: set[int] = field(default_factory=set)
    missing: set[int] = field(default_factory=set)
    require_https: bool = True
    slow_seconds: float = 3.0
    retry_after_seconds: int = 1
    per_chat_burst: int = 3
    per_chat_rate: float = 1.0
    global_per_second: int = 30
    sent: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    violations: list[dict[str, Any]] = field(default_factory=list)
    callback_answers: list[dict[str, Any]] = field(default_factory=list)
    webhook: dict[str, Any] | None = None
    updates: list[dict[str, Any]] = field(default_factory=list)  # served by getUpdates
    failures: deque[str] = field(default_factory=deque)
    last_message_id: int = 0
    _buckets: dict[int, tuple[float, float]] = field(default_factory=dict, init=False)
    _recent: deque[float] = field(default_factory=deque, init=False)

    def fail_next(self, n: int, kind: str) -> None:
        """The next ``n`` send calls fail: "500", "429" or "timeout" (accepted, answered late)."""
        if kind not in FAILURE_KINDS:
            raise ValueError(f"kind must be one of {sorted(FAILURE_KINDS)}")
        self.failures.extend([kind] * n)

    def _methods(self) -> dict[str, Callable[[str, dict[str, Any]], Answer]]:
        return {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "answercallbackquery": self._answer_callback,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._webhook_info,
            "deletewebhook": self._delete_webhook,
            "getupdates": self._get_updates,
        }

    async def handle(self, request: Request) -> JSONResponse:
        token, method = request.path_params["token"], request.path_params["method"]
        params = await read_params(request)
        params.update({key: maybe_json(params[key]) for key in JSON_FIELDS if key in params})
        handler = self._methods().get(method.lower())  # Telegram method names ignore case
        delay, wait = 0.0, self.retry_after_seconds
        if token not in self.tokens:
            status, body = _error(401, "Unauthorized")
        elif handler is None:
            status, body = _error(404, "Not Found")
        else:
            kind = self.failures.popleft() if method.lower() in SENDS and self.failures else None
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
        flags = {"can_join_groups": True, "can_read_all_group_messages": False}
        return _ok({**bot_user(token), **flags, "supports_inline_queries": False})

    def _send_message(self, token: str, p: dict[str, Any]) -> Answer:
        text = str(p.get("text") or "")
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return _error(400, "Bad Request: message is too long")
        if (problem := _markup_problem(p.get("reply_markup"))) is not None:
            return _error(400, f"Bad Request: {problem}")
        return self._deliver(token, "sendMessage", p, {"text": text})

    def _send_photo(self, token: str, p: dict[str, Any]) -> Answer:
        if not p.get("photo"):
            return _error(400, "Bad Request: there is no photo in the request")
        caption = str(p.get("caption") or "")
        if len(caption) > 1024:
            return _error(400, "Bad Request: message caption is too long")
        size = {"file_id": "AgACAgUAAxk", "file_unique_id": "AQADx", "width": 800, "height": 600}
        return self._deliver(token, "sendPhoto", p, {"photo": [size], "caption": caption})

    def _deliver(self, token: str, method: str, p: dict[str, Any], content: dict) -> Answer:
        if p.get("chat_id") in (None, ""):
            return _error(400, "Bad Request: chat_id is empty")
        try:
            chat_id = int(p["chat_id"])
        except (TypeError, ValueError):
            return _error(400, "Bad Request: chat not found")  # an @username nobody has
        if chat_id in self.missing:
            return _error(400, "Bad Request: chat not found")
        for attr, reason in FORBIDDEN.items():
            if chat_id in getattr(self, attr):
                return _error(403, f"Forbidden: {reason}")
        now = time.monotonic()
        if (limit := self._limit(chat_id, now)) is not None:
            rule, wait = limit
            self.violations.append(
                {"rule": rule, "chat_id": chat_id, "method": method, "at": now, "wall": time.time()}
            )
            return _error(429, f"Too Many Requests: retry after {wait}", wait)
        self.last_message_id += 1
        content = {key: value for key, value in content.items() if value}
        message = {"message_id": self.last_message_id, "from": bot_user(token)}
        message.update(chat=_chat(chat_id), date=int(time.time()), **content)
        markup = p.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes inline keyboards only
        text = content.get("text", content.get("caption"))
        entry = {"method": method, "chat_id": chat_id, "text": text, "reply_markup": markup}
        entry.update(photo=p.get("photo"), at=now, message_id=self.last_message_id, params=p)
        entry["wall"] = time.time()  # for timings across processes (a benchmark's fake)
        self.sent.append(entry)
        return _ok(message)

    def _limit(self, chat_id: int, now: float) -> tuple[str, int] | None:
        """Which rule this send breaks and the whole seconds to wait; None takes an allowance."""
        recent = self._recent
        while recent and now - recent[0] >= 1:
            recent.popleft()
        if len(recent) >= self.global_per_second:
            return "global", max(1, math.ceil(recent[0] + 1 - now))
        tokens, at = self._buckets.get(chat_id, (float(self.per_chat_burst), now))
        tokens = min(float(self.per_chat_burst), tokens + (now - at) * self.per_chat_rate)
        if tokens < 1:
            return "per_chat", max(1, math.ceil((1 - tokens) / self.per_chat_rate))
        self._buckets[chat_id] = (tokens - 1, now)
        recent.append(now)
        return None

    def _answer_callback(self, token: str, p: dict[str, Any]) -> Answer:
        if not p.get("callback_query_id"):
            return _error(400, "Bad Request: query is too old and response timeout expired")
        self.callback_answers.append(p)
        return _ok(True)

    def _set_webhook(self, token: str, p: dict[str, Any]) -> Answer:
        url, secret = str(p.get("url") or ""), p.get("secret_token")
        if not url:  # an empty url removes the webhook, as Telegram does
            return self._delete_webhook(token, p)
        if self.require_https and not url.startswith("https://"):
            return _error(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        if secret is not None and not SECRET_TOKEN.fullmatch(str(secret)):
            return _error(
                400, "Bad Request: bad webhook: secret token contains unallowed characters"
            )
        hook = {"url": url, "secret_token": secret, "allowed_updates": p.get("allowed_updates")}
        hook["max_connections"] = int(p.get("max_connections") or 40)
        hook["drop_pending_updates"] = str(p.get("drop_pending_updates")).lower() == "true"
        self.webhook = hook
        return _ok(True, "Webhook was set")

    def _webhook_info(self, token: str, p: dict[str, Any]) -> Answer:
        hook = self.webhook or {}
        info = {
            "url": hook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
        if hook:
            info["max_connections"] = hook["max_connections"]
            if hook["allowed_updates"]:
                info["allowed_updates"] = hook["allowed_updates"]
        return _ok(info)

    def _delete_webhook(self, token: str, p: dict[str, Any]) -> Answer:
        had, self.webhook = self.webhook is not None, None
        return _ok(True, "Webhook was deleted" if had else "Webhook is already deleted")

    def _get_updates(self, token: str, p: dict[str, Any]) -> Answer:
        """Queued ``updates`` from ``offset`` on (earlier ones are confirmed and dropped);
        409 while a webhook is set, as Telegram does. Answers at once (no long polling)."""
        if self.webhook is not None:
            return _error(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(p.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        return _ok(self.updates[: int(p.get("limit") or 100)])

    async def stats(self, request: Request) -> JSONResponse:
        """What a test or benchmark in another process asks: counts and arrival times of the
        messages that arrived since ``?since=`` (wall seconds; default: all)."""
        since = float(request.query_params.get("since") or 0)
        sent = [m for m in self.sent if m["wall"] >= since]
        per_chat = Counter(m["chat_id"] for m in sent)
        walls = [m["wall"] for m in sent]
        return JSONResponse(
            {
                "sent": len(sent),
                "chats": len(per_chat),
                "most_to_one_chat": max(per_chat.values(), default=0),
                "violations": sum(1 for v in self.violations if v["wall"] >= since),
                "first_wall": min(walls, default=None),
                "last_wall": max(walls, default=None),
            }
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self.handle, methods=["GET", "POST"]),
                Route("/_fake/stats", self.stats),
            ]
        )


def _markup_problem(markup: Any) -> str | None:
    """What Telegram would refuse in a reply_markup (the checks Loa's keyboards could fail):
    contact requests exist only on reply-keyboard buttons, and every button needs text."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        return "can't parse reply keyboard markup JSON object"
    for kind in ("inline_keyboard", "keyboard"):
        rows = markup.get(kind)
        if rows is None:
            continue
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            return f'field "{kind}" of the markup must be an Array of Arrays'
        for button in (b for row in rows for b in row):
            label = button if isinstance(button, str) else (button or {}).get("text")
            if not isinstance(label, str) or not label:
                return (
                    "text buttons are unallowed in the inline keyboard"
                    if kind[0] == "i"
                    else "keyboard button text must be non-empty"
                )
            if (
                kind == "inline_keyboard"
                and isinstance(button, dict)
                and "request_contact" in button
            ):
                return 'can\'t parse inline keyboard button: Field "request_contact" is unallowed'
    return None


def _user(chat_id: int, first_name: str) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": first_name, "language_code": "vi"}


def update_message(update_id: int, chat_id: int, text: str, *, first_name: str = "An") -> dict:
    """A private text message as Telegram POSTs it to a webhook (a command carries its entity)."""
    message = {"message_id": update_id, "from": _user(chat_id, first_name)}
    message.update(chat=_chat(chat_id, first_name), date=int(time.time()), text=text)
    if text.startswith("/"):
        length = len(text.split()[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"update_id": update_id, "message": message}


def update_contact(
    update_id: int, chat_id: int, phone_number: str, *, first_name: str = "An", own: bool = True
) -> dict:
    """A contact sent in a private chat: the person's own (the "share my phone number" button:
    ``user_id`` is theirs) or, ``own`` False, someone else's card from their address book."""
    contact: dict[str, Any] = {"phone_number": phone_number, "first_name": first_name}
    if own:
        contact["user_id"] = chat_id
    message = {"message_id": update_id, "from": _user(chat_id, first_name)}
    message.update(chat=_chat(chat_id, first_name), date=int(time.time()), contact=contact)
    return {"update_id": update_id, "message": message}


def update_callback(update_id: int, chat_id: int, data: str, *, first_name: str = "An") -> dict:
    """A press on an inline button under one of the bot's messages."""
    message = {"message_id": update_id, "from": bot_user(), "chat": _chat(chat_id, first_name)}
    message.update(date=int(time.time()), text="Chọn một mục:")
    query = {"id": f"{chat_id}{update_id}", "from": _user(chat_id, first_name), "data": data}
    query.update(message=message, chat_instance=str(-7 * abs(chat_id)))
    return {"update_id": update_id, "callback_query": query}


def update_my_chat_member(update_id: int, chat_id: int, status: str = "kicked") -> dict:
    """The user blocked ("kicked") or unblocked ("member") the bot in their private chat."""

    def member(state: str) -> dict[str, Any]:
        return {
            "user": bot_user(),
            "status": state,
            **({"until_date": 0} if state == "kicked" else {}),
        }

    change = {"chat": _chat(chat_id), "from": _user(chat_id, "An"), "date": int(time.time())}
    old = "member" if status == "kicked" else "kicked"
    change.update(old_chat_member=member(old), new_chat_member=member(status))
    return {"update_id": update_id, "my_chat_member": change}
