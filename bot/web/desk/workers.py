"""The desk's background work in the app (the embedded default): auto-assignment, and the
watcher that raises emergency alerts and escalates overdue requests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.channels import Channels
from bot.helpdesk import autoassign, watch
from bot.helpdesk.sla import Targets
from bot.settings import Settings
from connectors.telegram.outbound import TelegramChannel

logger = logging.getLogger(__name__)


def start(
    sessions: sessionmaker[Session],
    cfg: Settings,
    channels: Channels,
    now: Callable[[], datetime],
) -> list[asyncio.Task[None]]:
    """The desk's workers as tasks (the lifespan cancels them); none when switched off."""
    tasks = []
    if cfg.desk_autoassign_seconds > 0:
        tasks.append(asyncio.create_task(_assign_loop(sessions, cfg.desk_autoassign_seconds, now)))
    if cfg.desk_watch_seconds > 0:
        tasks.append(asyncio.create_task(_watch_loop(sessions, cfg, channels, now)))
    return tasks


async def _assign_loop(
    sessions: sessionmaker[Session], every: float, now: Callable[[], datetime]
) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            done = await asyncio.to_thread(_assign_pass, sessions, now())
            if done.assigned:
                logger.info("auto-assignment: %d request(s) given out", len(done.assigned))
        except Exception:  # the worker must outlive any one bad pass
            logger.exception("auto-assignment pass failed")


def _assign_pass(sessions: sessionmaker[Session], at: datetime) -> autoassign.Assigned:
    with sessions() as session:
        return autoassign.auto_assign(session, at)


async def _watch_loop(
    sessions: sessionmaker[Session],
    cfg: Settings,
    channels: Channels,
    now: Callable[[], datetime],
) -> None:
    targets = Targets.from_settings(cfg)
    desk_url = cfg.desk_url or cfg.app_url
    telegram = channels.senders.get(TelegramChannel.name)
    if telegram is None:
        logger.info("Telegram is off: emergency alerts and escalations are recorded, not sent")
    while True:
        await asyncio.sleep(cfg.desk_watch_seconds)
        try:
            with sessions() as session:
                await watch.alert_emergencies(session, telegram, desk_url, now())
                late = watch.escalate(session, now(), targets)
                await watch.tell_supervisors(session, telegram, late, desk_url)
        except Exception:  # the worker must outlive any one bad pass
            logger.exception("desk watch pass failed")
