"""A fake Zalo OA API v3 and OAuth v4 over real HTTP: tokens, 7-day window, caps, failures."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from testkit.fakes.telegram import maybe_json, read_params

APP_ID = "1234567890123456789"
APP_SECRET = "TEST-app-secret"
ACCESS_TOKEN = "TEST-oa-access-token"
REFRESH_TOKEN = "TEST-oa-refresh-token"
OA_ID = "579745863508352884"
WINDOW_SECONDS = 7 * 24 * 3600
MESSAGES = {
    -32: "Request exceeds the rate limit of the app, please retry later",
    -100: "Unknown error, please retry later",
    -201: "Parameters are invalid",
    -213: "User has not followed the OA",
    -216: "Access token is invalid",
    -217: "User has rejected this type of message",
    -230: "User has not interacted with the OA in the last 7 days",
}
NO_EXPIRES_IN = object()  # FakeZaloOA.expires_in: the OAuth answer leaves the field out
OAUTH_FAILURES = {"500", "html"}  # what fail_next_refresh can do instead of refreshing
# A gateway error page, as a proxy in front of openapi.zalo.me answers when the backend fails.
GATEWAY_ERROR = "<html><head><title>500 Internal Server Error</title></head><body></body></html>"


def sign_event(app_id: str, raw_body: bytes, timestamp: str, secret_key: str) -> str:
    """The ``X-ZEvent-Signature`` value Zalo puts on a webhook call."""
    payload = app_id.encode() + raw_body + timestamp.encode() + secret_key.encode()
    return f"mac={hashlib.sha256(payload).hexdigest()}"


def user_send_text(user_id: str, text: str, *, app_id: str = APP_ID, oa_id: str = OA_ID) -> dict:
    """A ``user_send_text`` webhook event as Zalo POSTs it (timestamp: milliseconds, a string)."""
    message = {"text": text, "msg_id": secrets.token_hex(16)}
    event: dict[str, object] = {
        "app_id": app_id,
        "event_name": "user_send_text",
        "user_id_by_app": user_id,
    }
    event.update(sender={"id": user_id}, recipient={"id": oa_id}, message=message)
    return {**event, "timestamp": str(int(time.time() * 1000))}


def user_submit_info(
    user_id: str,
    phone: str,
    *,
    name: str = "Nguyễn Văn An",
    app_id: str = APP_ID,
    oa_id: str = OA_ID,
) -> dict:
    """A ``user_submit_info`` event: the person pressed "share" on a request for user
    information; Zalo sends what they shared (the phone as 84…, without a plus)."""
    info = {"name": name, "phone": phone, "address": "", "city": "", "district": "", "ward": ""}
    event: dict[str, object] = {"app_id": app_id, "event_name": "user_submit_info"}
    event.update(sender={"id": user_id}, recipient={"id": oa_id}, info=info)
    return {**event, "user_id_by_app": user_id, "timestamp": str(int(time.time() * 1000))}


def _user_info_problem(elements: list[dict[str, Any]]) -> str | None:
    """What Zalo refuses in a request for user information: one element, a title of 1-100
    characters, a subtitle of 1-500, and a .png or .jpg image."""
    if len(elements) != 1:
        return "request_user_info needs exactly one element"
    element = elements[0]
    for key, limit in (("title", 100), ("subtitle", 500)):
        value = element.get(key)
        if not isinstance(value, str) or not 0 < len(value) <= limit:
            return f"{key} must be 1-{limit} characters"
    image = element.get("image_url")
    if not isinstance(image, str) or not image.lower().endswith((".png", ".jpg", ".jpeg")):
        return "image_url must be a .png or .jpg file"
    return None


def _error(code: int, message: str | None = None) -> dict[str, Any]:
    return {"error": code, "message": message or MESSAGES.get(code, "Error")}


def _oauth_error(code: int, name: str, description: str) -> dict[str, Any]:
    return {
        "error": code,
        "error_name": name,
        "error_reason": name,
        "error_description": description,
    }


@dataclass
class FakeZaloOA:
    """Users in ``not_followers`` get -213, in ``refuses`` -217; ``last_interaction`` (unix s,
    missing = just now) older than 7 days gives -230 on cs/transaction (promotion ignores it).

    The cap counts every authenticated send request in a sliding minute (``per_minute_cap``,
    "about 4000/min per app"); over it the answer is -32 and the call goes into ``violations``.

    A successful send answers ``data.message_id``: a new one each time, the same
    ``fixed_message_id`` every time if set, or none at all with ``omit_message_id``. The OAuth
    answer carries ``expires_in`` as given (``NO_EXPIRES_IN``: left out).
    """

    app_id: str = APP_ID
    app_secret: str = APP_SECRET
    access_tokens: set[str] = field(default_factory=lambda: {ACCESS_TOKEN})
    refresh_token: str = REFRESH_TOKEN  # the one valid refresh token; each refresh replaces it
    per_minute_cap: int = 4000
    not_followers: set[str] = field(default_factory=set)
    refuses: set[str] = field(default_factory=set)
    last_interaction: dict[str, float] = field(default_factory=dict)
    slow_seconds: float = 3.0
    retry_after_seconds: int = 1
    sent: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    violations: list[dict[str, Any]] = field(default_factory=list)
    expired: set[str] = field(default_factory=set)
    used_refresh_tokens: set[str] = field(default_factory=set)
    refresh_count: int = 0
    failures: deque[str] = field(default_factory=deque)
    fixed_message_id: str | None = None
    omit_message_id: bool = False
    expires_in: object = "90000"  # a string, as Zalo sends it
    oauth_failures: deque[str] = field(default_factory=deque)
    _recent: deque[float] = field(default_factory=deque, init=False)

    def fail_next_refresh(self, n: int, kind: str) -> None:
        """The next ``n`` token refreshes fail before the refresh token is spent: "500" (a
        gateway error page with status 500) or "html" (status 200, an HTML page)."""
        if kind not in OAUTH_FAILURES:
            raise ValueError(f"kind must be one of {sorted(OAUTH_FAILURES)}")
        self.oauth_failures.extend([kind] * n)

    def fail_next(self, n: int, kind: str) -> None:
        """The next ``n`` sends fail: "500" (HTTP 500 page), "timeout" (accepted, answered after
        ``slow_seconds``), "-32"/"429" (rate limit), or any other "-NNN" Zalo error code."""
        if kind not in {"500", "timeout", "429"} and not kind.lstrip("-").isdigit():
            raise ValueError(f"unknown failure kind {kind!r}")
        self.failures.extend([kind] * n)

    def expire(self, token: str) -> None:
        """The access token stops working, as it does after 25 hours."""
        self.access_tokens.discard(token)
        self.expired.add(token)

    async def send(self, request: Request) -> Response:
        endpoint = request.url.path.rsplit("/", 1)[1]
        params = await read_params(request)
        token = request.headers.get("access_token", "")
        response: Response | None = None
        delay, status = 0.0, 200
        if token not in self.access_tokens:
            body = _error(-216)
        else:
            kind = self.failures.popleft() if self.failures else None
            if kind == "500":
                response, status, body = HTMLResponse(GATEWAY_ERROR, 500), 500, {}
            elif kind in ("429", "-32"):
                body = _error(-32, f"{MESSAGES[-32]} (after {self.retry_after_seconds} s)")
            elif kind and kind != "timeout":
                body = _error(int(kind))
            else:
                body = self._send(endpoint, params)
                delay = self.slow_seconds if kind == "timeout" else 0.0
        path = request.url.path
        self.requests.append({"method": "POST", "path": path, "params": params, "status": status})
        self.requests[-1]["error"] = body.get("error")
        # On "timeout" the message is already in ``sent``: only the answer comes late.
        await asyncio.sleep(delay)
        return response or JSONResponse(body)  # Zalo answers HTTP 200 even on errors

    def _send(self, endpoint: str, p: dict[str, Any]) -> dict[str, Any]:
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 60:
            self._recent.popleft()
        if len(self._recent) >= self.per_minute_cap:
            self.violations.append({"rule": "per_minute", "endpoint": endpoint, "at": now})
            return _error(-32)
        self._recent.append(now)
        recipient, message = maybe_json(p.get("recipient")), maybe_json(p.get("message"))
        if not isinstance(recipient, dict) or not isinstance(message, dict):
            return _error(-201, "Parameters are invalid: recipient and message are required")
        user_id, text = str(recipient.get("user_id") or ""), message.get("text")
        attachment = message.get("attachment")
        if not user_id or not (text or attachment) or not isinstance(text, str | None):
            return _error(
                -201, "Parameters are invalid: need recipient.user_id and text/attachment"
            )
        if text and len(text) > 2000:
            return _error(-201, "Parameter text is invalid: at most 2000 characters")
        if user_id in self.not_followers:
            return _error(-213)
        if user_id in self.refuses:
            return _error(-217)
        last = self.last_interaction.get(user_id, time.time())
        if endpoint != "promotion" and time.time() - last > WINDOW_SECONDS:
            return _error(-230)
        payload = attachment.get("payload") if isinstance(attachment, dict) else None
        payload = payload if isinstance(payload, dict) else {}
        elements = [e for e in payload.get("elements") or [] if isinstance(e, dict)]
        if payload.get("template_type") == "request_user_info" and (
            problem := _user_info_problem(elements)
        ):
            return _error(-201, f"Parameters are invalid: {problem}")
        image = next((e.get("url") for e in elements if e.get("media_type") == "image"), None)
        message_id, sent_time = secrets.token_hex(16), int(time.time() * 1000)
        entry = {"endpoint": endpoint, "user_id": user_id, "text": text, "attachment": attachment}
        entry.update(buttons=list(payload.get("buttons") or []), image_url=image, at=now)
        self.sent.append({**entry, "message_id": message_id, "sent_time": sent_time})
        data: dict[str, Any] = {"message_id": self.fixed_message_id or message_id}
        data.update(user_id=user_id, sent_time=sent_time)
        if self.omit_message_id:
            del data["message_id"]
        return {"error": 0, "message": "Success", "data": data}

    async def access_token(self, request: Request) -> Response:
        params = await read_params(request)
        old = str(params.get("refresh_token") or "")
        path = request.url.path
        if self.oauth_failures:
            kind = self.oauth_failures.popleft()
            status = 500 if kind == "500" else 200
            self.requests.append({"method": "POST", "path": path, "params": params})
            self.requests[-1].update(status=status, error=kind)
            return HTMLResponse(GATEWAY_ERROR, status)
        if str(params.get("app_id")) != self.app_id or (
            request.headers.get("secret_key") != self.app_secret
        ):
            body = _oauth_error(-14002, "Invalid app", "app_id or secret_key is wrong")
        elif params.get("grant_type") != "refresh_token":
            # The fake's choice of code: the brief's flows only ever use refresh_token.
            body = _oauth_error(-14001, "Invalid parameter", "grant_type must be refresh_token")
        elif not old or old != self.refresh_token:
            why = "already used" if old in self.used_refresh_tokens else "unknown"
            body = _oauth_error(-14014, "Invalid refresh token", f"Refresh token is {why}")
        else:
            self.used_refresh_tokens.add(old)
            access, self.refresh_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
            self.access_tokens.add(access)
            self.refresh_count += 1
            body = {"access_token": access, "refresh_token": self.refresh_token}
            if self.expires_in is not NO_EXPIRES_IN:
                body["expires_in"] = self.expires_in
        self.requests.append({"method": "POST", "path": path, "params": params, "status": 200})
        self.requests[-1]["error"] = body.get("error")
        return JSONResponse(body)

    def app(self) -> Starlette:
        routes = [
            Route(f"/v3.0/oa/message/{endpoint}", self.send, methods=["POST"])
            for endpoint in ("cs", "transaction", "promotion")
        ]
        routes.append(Route("/v4/oa/access_token", self.access_token, methods=["POST"]))
        return Starlette(routes=routes)
