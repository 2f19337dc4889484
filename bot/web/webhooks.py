"""Channel webhooks: verify, parse, store (deduplicated), acknowledge; answer in the background.

Every channel gets its answer within its deadline (Zalo: 2 s) because only the database write
happens before the 200; Rasa and the send happen afterwards. Updates we ignore get a 200 and a
log line; a channel that is off answers 404; a bad secret or signature 401, nothing stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bot.channels import Channels
from bot.gateway import Gateway
from bot.web.body import read_capped
from bot.web.throttle import Throttle
from connectors.base import ChannelEvent, IncomingMessage
from connectors.telegram import inbound as telegram
from connectors.zalo_bot import inbound as zalo_bot
from connectors.zalo_oa import inbound as zalo_oa

logger = logging.getLogger(__name__)


def router(
    *,
    channels: Channels,
    gateway: Gateway,
    verify_zalo_oa: Callable[[bytes, Any], bool],
    telegram_secret: str,
    zalo_bot_secret: str,
    clock: Callable[[], float] = time.monotonic,
) -> APIRouter:
    """Routes for /webhooks/telegram, /webhooks/zalo-oa and /webhooks/zalo-bot."""
    throttle = Throttle(burst=10, per_minute=30, clock=clock)
    tasks: set[asyncio.Task[Any]] = set()  # keep references until they finish
    api = APIRouter(lifespan=_published(tasks))

    async def receive(
        request: Request,
        channel: str,
        verify: Callable[[bytes], bool],
        parse: Callable[[Any], IncomingMessage | ChannelEvent | None],
    ) -> Response:
        if not channels.on(channel):
            return _status(404, "channel off")
        raw = await read_capped(request)
        if raw is None:
            return _status(413, "body too large")
        if not verify(raw):
            logger.warning("%s webhook with a bad secret or signature", channel)
            return _status(401, "bad secret or signature")
        try:
            incoming = parse(json.loads(raw))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            logger.warning("%s webhook not understood: %s", channel, exc)
            return _status(400, "not an update of this channel")
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

    @api.post("/webhooks/telegram")
    async def telegram_webhook(request: Request) -> Response:
        return await receive(
            request,
            telegram.CHANNEL,
            lambda raw: telegram.verify(request.headers, telegram_secret),
            telegram.parse,
        )

    @api.post("/webhooks/zalo-oa")
    async def zalo_oa_webhook(request: Request) -> Response:
        return await receive(
            request,
            zalo_oa.CHANNEL,
            lambda raw: verify_zalo_oa(raw, request.headers),
            zalo_oa.parse,
        )

    @api.post("/webhooks/zalo-bot")
    async def zalo_bot_webhook(request: Request) -> Response:
        return await receive(
            request,
            zalo_bot.CHANNEL,
            lambda raw: zalo_bot.verify(request.headers, zalo_bot_secret),
            zalo_bot.parse,
        )

    return api


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
