"""The web chat API: a conversation belongs to the browser that holds its signed cookie.

The server chooses the conversation id and signs it into an HttpOnly, SameSite cookie; the id
never travels in a URL or a body, so knowing it reads nothing. Every post passes the abuse
limits before anything is stored or reaches Rasa: per client address, new conversations per
address, per conversation, a cap on web chat messages per second for the whole site, and a
bulkhead of a few web chat turns in Rasa at once (the channels' webhooks have their own
throttle, so Telegram and Zalo keep their share of Rasa however slow it gets).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from bot import wording
from bot.gateway import Gateway
from bot.settings import Settings
from bot.storage import conversations as log
from bot.web.body import read_capped
from bot.web.throttle import Throttle
from connectors import json_body
from connectors.webchat import inbound as webchat

logger = logging.getLogger(__name__)

COOKIE = "loa_chat"
COOKIE_PATH = "/api/chat"
EMBED_HEADER = "x-loa-embed"  # sent by /chat?embed=1, the widget's frame
COOKIE_DAYS = 30  # a conversation's cookie lives this long; "Xóa cuộc trò chuyện" ends it sooner
MAX_AFTER = 2**63 - 1  # message ids are 64-bit at most
_ERRORS = {
    "not_an_object": "web_invalid",
    "bad_message_id": "web_invalid",
    "bad_payload": "web_invalid",
    "bad_text": "web_invalid",
    "too_long": "web_too_long",
}


class Signer:
    """Signs conversation ids into cookie values and reads them back (HMAC-SHA256)."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def _mac(self, conversation: str) -> str:
        digest = hmac.new(self.key, b"webchat:" + conversation.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, conversation: str) -> str:
        return f"{conversation}.{self._mac(conversation)}"

    def read(self, value: str | None) -> str | None:
        """The conversation id in a cookie value, or None if it is missing or not ours."""
        conversation, _, mac = (value or "").partition(".")
        if not webchat.is_uuid(conversation) or conversation != conversation.lower():
            return None
        return conversation if hmac.compare_digest(mac, self._mac(conversation)) else None


def cookie_key(cfg: Settings) -> bytes:
    """WEBCHAT_SECRET, or a random key made once in var/webchat.key (owner-only), so cookies
    survive a restart and every app process agrees."""
    if cfg.webchat_secret:
        return cfg.webchat_secret.encode()
    path = Path(cfg.var_dir) / "webchat.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(48))
    return path.read_bytes().strip()


class Bulkhead:
    """At most ``size`` web chat turns in Rasa at once; a turn waits up to ``wait`` seconds
    for a place, and at most ``queue`` turns wait (the rest are refused at once)."""

    def __init__(self, size: int, *, wait: float = 5.0, queue: int = 32) -> None:
        self._places = asyncio.Semaphore(max(1, size))
        self.wait = wait
        self.queue = queue
        self.waiting = 0

    async def enter(self) -> bool:
        if self.waiting >= self.queue:
            return False
        self.waiting += 1
        try:
            await asyncio.wait_for(self._places.acquire(), timeout=self.wait)
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1
        return True

    def leave(self) -> None:
        self._places.release()


def client_address(request: Request, proxy_header: str) -> str:
    """The client's address: the last entry of the trusted proxy's header (the one our proxy
    added; earlier ones are whatever the client claimed), else the connection's address."""
    if proxy_header:
        given = request.headers.get(proxy_header, "").split(",")[-1].strip()
        if given:
            return given[:64]
    return request.client.host if request.client else "unknown"


def router(
    *,
    cfg: Settings,
    gateway: Gateway,
    sessions: sessionmaker[Session],
    clock: Callable[[], float] = time.monotonic,
) -> APIRouter:
    """POST and GET /api/chat/messages, POST /api/chat/reset."""
    api = APIRouter()
    signer = Signer(cookie_key(cfg))
    per_address = Throttle(
        burst=min(20, cfg.webchat_per_address_per_minute),
        per_minute=cfg.webchat_per_address_per_minute,
        clock=clock,
    )
    new_per_address = Throttle(
        burst=cfg.webchat_new_per_address_per_minute,
        per_minute=cfg.webchat_new_per_address_per_minute,
        clock=clock,
    )
    per_conversation = Throttle(burst=8, per_minute=30, clock=clock)
    site = Throttle(
        burst=max(1, round(2 * cfg.webchat_nlu_per_second)),
        per_minute=cfg.webchat_nlu_per_second * 60,
        max_keys=1,
        clock=clock,
    )

    turns = Bulkhead(cfg.webchat_rasa_concurrency)

    def refused(code: int, message: str, reason: str, address: str) -> Response:
        logger.warning("web chat %s from %s: %s", code, address, reason)
        return _error(code, message)

    def new_conversation(address: str) -> str | None:
        if not new_per_address.allow(address):
            return None
        return str(uuid.uuid4())

    @api.post("/api/chat/messages")
    async def post_message(request: Request) -> Response:
        address = client_address(request, cfg.trusted_proxy_header)
        if not _same_origin(request):
            return refused(403, "web_invalid", "posted from another site", address)
        if not _is_json(request):
            return refused(415, "web_invalid", "not JSON", address)
        raw = await read_capped(request)
        if raw is None:
            return refused(413, "web_too_long", "body too large", address)
        try:
            message = webchat.parse(_json(raw), sender="")  # its sender is known below
        except webchat.InvalidMessage as exc:
            return refused(
                413 if exc.code == "too_long" else 422, _ERRORS[exc.code], exc.code, address
            )
        if not per_address.allow(address):
            return refused(429, "web_too_fast", "address over its limit", address)
        conversation = signer.read(request.cookies.get(COOKIE))
        fresh = conversation is None
        if fresh:
            conversation = new_conversation(address)
            if conversation is None:
                return refused(429, "web_too_fast", "too many new conversations", address)
        assert conversation is not None
        if not per_conversation.allow(conversation):
            return refused(429, "web_too_fast", "conversation over its limit", address)
        if not site.allow("all"):
            return refused(429, "web_busy", "site-wide web chat cap reached", address)
        if not await turns.enter():
            return refused(429, "web_busy", "no free web chat turn in Rasa", address)
        try:
            replies = await gateway.handle(replace(message, sender=conversation))
        finally:
            turns.leave()
        response = _json_response({"replies": [_reply_json(m) for m in replies]})
        if fresh:
            _set_cookie(response, request, signer.sign(conversation))
        return response

    @api.get("/api/chat/messages")
    async def get_messages(request: Request) -> Response:
        after = _whole_number(request.query_params.get("after", "0"))
        if after is None:
            return _error(422, "web_invalid")
        conversation = signer.read(request.cookies.get(COOKIE))
        if conversation is None:
            return _json_response({"replies": []})
        with sessions() as session:
            account = log.find_account(
                session=session, channel=webchat.CHANNEL, external_id=conversation
            )
            found = (
                log.outbound_after(session=session, account_id=account.id, after_id=after)
                if account
                else []
            )
            return _json_response({"replies": [_reply_json(m) for m in found]})

    @api.post("/api/chat/reset")
    async def reset(request: Request) -> Response:
        """ "Xóa cuộc trò chuyện": this browser starts a new conversation; the old one stays
        in the log for staff but this browser can no longer read it."""
        address = client_address(request, cfg.trusted_proxy_header)
        if not _same_origin(request):
            return refused(403, "web_invalid", "reset from another site", address)
        response = _json_response({"replies": []})
        # Both kinds: the conversation may have begun in the widget's frame on our own site.
        response.delete_cookie(COOKIE, path=COOKIE_PATH)
        _set_cookie(response, request, "", max_age=0, partitioned=True)
        return response

    return api


def _reply_json(message: log.Message) -> dict[str, Any]:
    return {"id": message.id, "text": message.text, "buttons": message.data.get("buttons") or []}


def _json_response(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _error(status: int, message: str) -> JSONResponse:
    return _json_response({"detail": wording.system(message)}, status)


def _embedded(request: Request) -> bool:
    """Whether the chat page in the portal's widget frame made the request (it says so)."""
    return request.headers.get(EMBED_HEADER) == "1"


def _set_cookie(
    response: Response,
    request: Request,
    value: str,
    *,
    max_age: int = COOKIE_DAYS * 86400,
    partitioned: bool = False,
) -> None:
    """The conversation's cookie: SameSite=Strict on our own page; in the widget's frame,
    where the portal may be another site and a Strict (or Lax) cookie is neither stored nor
    sent, a partitioned one (CHIPS: SameSite=None; Secure; Partitioned), kept by the browser
    for that portal only. https://developer.mozilla.org/docs/Web/Privacy/Guides/Privacy_sandbox/Partitioned_cookies
    """
    framed = partitioned or _embedded(request)
    response.set_cookie(
        COOKIE,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="none" if framed else "strict",
        secure=framed or request.url.scheme == "https",
    )
    if framed:  # Starlette writes Partitioned only on Python >= 3.14: added to its header
        name, header = response.raw_headers[-1]
        response.raw_headers[-1] = (name, header + b"; Partitioned")


def _is_json(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json"


def _same_origin(request: Request) -> bool:
    """Whether a browser page of ours made the request. Browsers say so in Sec-Fetch-Site
    (reliable behind any proxy); older ones send Origin, compared with the host asked for
    (Host, or X-Forwarded-Host from a proxy that rewrites Host). No Origin at all: not a page
    on another site (e.g. curl) — the other limits still apply."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = origin.partition("://")[2]
    asked = {
        request.headers.get("host"),
        request.headers.get("x-forwarded-host", "").split(",")[0].strip(),
    }
    return bool(host) and host in asked


def _whole_number(raw: str) -> int | None:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if value <= MAX_AFTER else None


def _json(raw: bytes) -> Any:
    """The decoded body, or None for anything that is not JSON we accept (the webhooks'
    decoder: strict UTF-8, bounded nesting, finite numbers)."""
    try:
        return json_body.decode(raw)
    except ValueError:
        return None
