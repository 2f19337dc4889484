"""Channel webhooks: verify, parse, store (deduplicated), acknowledge; answer in the background.

Every channel gets its answer within its deadline (Zalo: 2 s) because only the database write
happens before the 200; Rasa and the send happen afterwards. Updates we ignore get a 200 and a
log line; a channel that is off answers 404; a bad secret or signature 401, nothing stored; a
body that is not an update of the channel 400. Whatever the body, the answer is a 4xx and one
log line with the reason, never a 5xx or a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bot.channels import Channels
from bot.clock import utcnow
from bot.gateway import Gateway
from bot.web.body import read_capped
from bot.web.throttle import Throttle
from connectors import json_body
from connectors.base import ChannelEvent, IncomingMessage
from connectors.telegram import inbound as telegram
from connectors.zalo_bot import inbound as zalo_bot
from connectors.zalo_oa import inbound as zalo_oa

logger = logging.getLogger(__name__)

Parse = Callable[[Any], IncomingMessage | ChannelEvent | None]


def router(
    *,
    channels: Channels,
    gateway: Gateway,
    telegram_secret: str,
    zalo_oa_app_id: str,
    zalo_oa_secret_key: str,
    zalo_bot_secret: str,
    sender_per_minute: int = 30,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = utcnow,
) -> APIRouter:
    """Routes for /webhooks/telegram, /webhooks/zalo-oa and /webhooks/zalo-bot; one sender
    may send a burst of 10, then ``sender_per_minute``; ``clock`` paces the throttle, ``now``
    dates the Zalo events (tests set both)."""
    throttle = Throttle(burst=10, per_minute=sender_per_minute, clock=clock)
    tasks: set[asyncio.Task[Any]] = set()  # keep references until they finish
    api = APIRouter(lifespan=_published(tasks))

    async def receive(
        request: Request,
        channel: str,
        parse: Parse,
        *,
        secret_ok: Callable[[], bool] = lambda: True,
        signed: Callable[[bytes, Any], str | None] = lambda raw, data: None,
    ) -> Response:
        """``secret_ok`` checks a secret header before the body is read as JSON; ``signed``
        checks a signature inside the decoded body and says why it fails (None: it holds)."""
        if not channels.on(channel):
            return _status(404, "channel off")
        raw = await read_capped(request)
        if raw is None:
            return _refuse(413, channel, "body too large")
        if not secret_ok():
            return _refuse(401, channel, "bad secret")
        try:
            data = json_body.decode(raw)
        except ValueError as exc:
            return _refuse(400, channel, f"body not JSON: {exc}")
        if (why := signed(raw, data)) is not None:
            return _refuse(401, channel, why)
        try:
            incoming = parse(data)
        except ValueError as exc:  # the parsers' one error for a body they cannot use
            return _refuse(400, channel, f"not an update of this channel: {exc}")
        if incoming is None:
            return _status(200, "ignored")

        throttled = isinstance(incoming, IncomingMessage) and not throttle.allow(incoming.sender_id)
        account_id, stored = gateway.accept(incoming, throttled=throttled)
        if stored is None:
            return _status(200, "repeat")
        if throttled:
            gateway.notify_throttled(account_id)
        elif isinstance(incoming, IncomingMessage):
            _background(tasks, gateway.answer_account(account_id))
            _background(tasks, channels.senders[channel].acknowledge(incoming))
        return _status(200, "ok")

    def zalo_oa_signed(raw: bytes, data: Any, headers: Any) -> str | None:
        keys = {"app_id": zalo_oa_app_id, "secret_key": zalo_oa_secret_key}
        if not zalo_oa.verify(raw, data, headers, **keys):
            return "bad signature"
        if not zalo_oa.fresh(data, now()):
            return "timestamp outside the accepted window (a replay?)"
        return None

    @api.post("/webhooks/telegram")
    async def telegram_webhook(request: Request) -> Response:
        return await receive(
            request,
            telegram.CHANNEL,
            telegram.parse,
            secret_ok=lambda: telegram.verify(request.headers, telegram_secret),
        )

    @api.post("/webhooks/zalo-oa")
    async def zalo_oa_webhook(request: Request) -> Response:
        return await receive(
            request,
            zalo_oa.CHANNEL,
            zalo_oa.parse,
            signed=lambda raw, data: zalo_oa_signed(raw, data, request.headers),
        )

    @api.post("/webhooks/zalo-bot")
    async def zalo_bot_webhook(request: Request) -> Response:
        return await receive(
            request,
            zalo_bot.CHANNEL,
            lambda data: zalo_bot.parse(data, now=now()),
            secret_ok=lambda: zalo_bot.verify(request.headers, zalo_bot_secret),
        )

    return api


def _refuse(code: int, channel: str, reason: str) -> JSONResponse:
    """A 4xx with one warning line (the reason names no secret and quotes no body)."""
    logger.warning("%s webhook refused (%s): %s", channel, code, reason)
    return _status(code, reason if code != 401 else "bad secret or signature")


def _published(tasks: set[asyncio.Task[Any]]) -> Callable[[FastAPI], Any]:
    """A lifespan that puts the answers still running after their 200 on
    ``app.state.webhook_tasks``: waiting until it is empty proves that no answer is under way
    (tests wait on it before claiming that nothing reached Rasa)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.webhook_tasks = tasks
        yield

    return lifespan


def _status(code: int, detail: str) -> JSONResponse:
    return JSONResponse({"ok": 200 <= code < 300, "detail": detail}, status_code=code)


def _background(tasks: set[asyncio.Task[Any]], coroutine: Any) -> None:
    task = asyncio.create_task(coroutine)
    tasks.add(task)
    task.add_done_callback(_finished(tasks))


def _finished(tasks: set[asyncio.Task[Any]]) -> Callable[[asyncio.Task[Any]], None]:
    def done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background work failed", exc_info=task.exception())

    return done
