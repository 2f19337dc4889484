"""The app: the province's public pages (/), web chat page and API, channel webhooks, the
hotline desk (/desk), health; the outbox, the retry worker and one broadcast delivery worker
run in its lifespan (the embedded default; EMBEDDED_WORKER=0 leaves deliveries to `loa worker`
processes)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import text

from bot import settings as settings_module
from bot.alerts import delivery
from bot.channels import build as build_channels
from bot.clock import utcnow
from bot.gateway import Gateway
from bot.helpdesk import retention
from bot.outbox import Outbox
from bot.rasa_client import RasaClient, rasa_name
from bot.storage.engine import sessions
from bot.storage.leases import RENEW_EVERY, Lease
from bot.web import desk, public, webhooks, widget
from bot.web import webchat as webchat_api
from bot.web.desk import workers as desk_workers
from bot.web.security import SecurityHeaders

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent


async def _retry_loop(gateway: Gateway, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await gateway.retry_waiting()
        except Exception:  # the worker must outlive any one bad pass
            logger.exception("retry pass failed")


async def _lease_loop(lease: Lease) -> None:
    """Keep this process's lease alive while it runs, busy or idle: its sends and turns in
    flight are then never taken for a dead process's by another process."""
    while True:
        try:
            await asyncio.to_thread(lease.keep)
        except Exception:  # the database is away: the next renewal tries again
            logger.exception("lease renewal failed")
        await asyncio.sleep(RENEW_EVERY.total_seconds())


async def _retention_loop(
    session_factory: Any, cfg: settings_module.Settings, now: Callable[[], datetime]
) -> None:
    """Erase what people asked to be forgotten every ``FORGET_EVERY`` seconds, and what has
    outlived its retention period every ``RETENTION_EVERY`` (bot.helpdesk.retention)."""
    passes = 0
    while True:
        await asyncio.sleep(FORGET_EVERY)
        passes += 1
        try:
            await asyncio.to_thread(
                _retention_pass, session_factory, cfg, now(), full=passes % RETENTION_PASSES == 1
            )
        except Exception:  # the worker must outlive any one bad pass
            logger.exception("retention pass failed")


FORGET_EVERY = 30.0  # seconds
RETENTION_PASSES = 120  # the full pass every hour (and on the first pass)


def _retention_pass(
    session_factory: Any, cfg: settings_module.Settings, at: datetime, *, full: bool
) -> None:
    tracker = retention.tracker_store(Path(cfg.rasa_tracker_db))
    try:
        with session_factory.begin() as session:
            if full:
                erased = retention.run_pass(
                    session=session,
                    tracker=tracker,
                    now=at,
                    request_days=cfg.request_retention_days,
                    message_days=cfg.message_retention_days,
                )
                logger.info("retention pass: %s", erased)
            else:
                retention.forget_conversations(session=session, tracker=tracker, now=at)
    finally:
        if tracker is not None:
            tracker.dispose()


def create_app(
    settings: settings_module.Settings | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = utcnow,
) -> FastAPI:
    """The ASGI app for ``settings`` (default: from the environment); ``clock`` paces the
    throttles (tests stop it), ``now`` dates channel events (tests set it)."""
    cfg = settings or settings_module.load()
    session_factory = sessions(cfg.database_url)
    templates = Jinja2Templates(directory=HERE / "templates")
    client = httpx.AsyncClient()
    channels = build_channels(cfg, client=client, sessions=session_factory)
    # One lease per process: the owner of its outbox's sends and its gateway's turns.
    lease = Lease(sessions=session_factory)
    outbox = Outbox(
        sessions=session_factory,
        channels=channels.senders,
        limiters=channels.limiters,
        lease=lease,
    )
    # One embedded delivery worker, unless production runs `loa worker` processes instead.
    # It runs with no sending channel too (make run's web chat only): people no channel can
    # reach are then marked so and the broadcast finishes, rather than "preparing" for ever.
    deliverer = (
        delivery.from_settings(cfg, sessions=session_factory, channels=channels)
        if cfg.embedded_worker
        else None
    )
    rasa = RasaClient(
        cfg.rasa_urls,
        client=client,
        timeout=cfg.rasa_timeout_seconds,
        concurrency=cfg.rasa_concurrency,
    )
    gateway = Gateway(
        sessions=session_factory,
        rasa=rasa,
        max_nlu_chars=cfg.max_message_chars,
        text_limits=channels.text_limits,
        on_queued=outbox.wake,
        lease=lease,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        outbox.recover()  # renews the lease first
        workers = [
            asyncio.create_task(_lease_loop(lease)),
            asyncio.create_task(outbox.run()),
            asyncio.create_task(_retry_loop(gateway, cfg.retry_interval)),
            asyncio.create_task(_retention_loop(session_factory, cfg, now)),
            *desk_workers.start(session_factory, cfg, channels, now),
        ]
        delivering = asyncio.create_task(deliverer.run()) if deliverer else None
        try:
            yield
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if deliverer and delivering:  # it records what is in flight, then stops
                deliverer.stop()
                await asyncio.gather(delivering, return_exceptions=True)
            await outbox.drain()
            await channels.aclose()
            await client.aclose()
            with contextlib.suppress(Exception):  # else it lapses after LEASE
                lease.end()

    app = FastAPI(title="Loa", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SecurityHeaders, embed_origins=cfg.embed_origins)
    app.state.gateway, app.state.outbox, app.state.channels = gateway, outbox, channels
    app.state.delivery_worker = deliverer
    app.include_router(
        webhooks.router(
            channels=channels,
            gateway=gateway,
            telegram_secret=cfg.telegram_webhook_secret,
            zalo_oa_app_id=cfg.zalo_oa_app_id,
            zalo_oa_secret_key=cfg.zalo_oa_secret_key,
            zalo_bot_secret=cfg.zalo_bot_webhook_secret,
            sender_per_minute=cfg.sender_per_minute,
            clock=clock,
            now=now,
        )
    )
    app.include_router(
        webchat_api.router(cfg=cfg, gateway=gateway, sessions=session_factory, clock=clock)
    )
    app.include_router(widget.router(embed_origins_setting=cfg.embed_origins))
    desk.install(app, cfg=cfg, sessions=session_factory, now=now, clock=clock)
    public.install(app, cfg=cfg, sessions=session_factory, now=now)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/chat", include_in_schema=False)
    async def chat_page(request: Request) -> Response:
        """The chat; ``?embed=1`` is the compact page the widget's frame shows (any other
        value: the full page)."""
        values = {"title": "Loa", "province": cfg.province, "api_base": "/api/chat"}
        embed = request.query_params.get("embed") == "1"
        return templates.TemplateResponse(
            request, "chat.html", {**values, "hotline": "115", "embed": embed}
        )

    @app.get("/healthz")
    async def healthz() -> Response:
        # Every Rasa server, named as `loa run` names their processes: rasa, rasa-2, …
        rasas = await asyncio.gather(*(_answers(client, f"{url}/") for url in cfg.rasa_urls))
        checks = {
            "database": _database_ok(session_factory),
            **{rasa_name(i): up for i, up in enumerate(rasas)},
            "actions": await _answers(client, f"{cfg.action_server_url}/health"),
        }
        ok = all(checks.values())
        body = {name: "ok" if up else "down" for name, up in checks.items()}
        return JSONResponse(body, status_code=200 if ok else 503)

    return app


def _database_ok(session_factory: Any) -> bool:
    try:
        with session_factory() as session:
            session.execute(text("SELECT 1"))
        return True
    except Exception:
        logger.exception("database health check failed")
        return False


async def _answers(client: httpx.AsyncClient, url: str) -> bool:
    try:
        response = await client.get(url, timeout=3)
    except httpx.HTTPError:
        return False
    return response.status_code == 200
