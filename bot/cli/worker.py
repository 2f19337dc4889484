"""``loa worker``: a delivery worker process (production runs several, with EMBEDDED_WORKER=0
in the app); SIGTERM or Ctrl-C stops it after the sends in flight are recorded."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Any

import httpx

from bot import logs
from bot import settings as settings_module
from bot.alerts import delivery
from bot.alerts.rules import SendRules
from bot.channels import build as build_channels
from bot.storage.engine import sessions

logger = logging.getLogger(__name__)


def add_commands(commands: Any) -> None:
    """``loa worker``."""
    commands.add_parser(
        "worker", help="deliver approved broadcasts (run one or more next to the app)"
    ).set_defaults(func=worker_command)


def worker_command(_: argparse.Namespace) -> int:
    cfg = settings_module.load()
    logs.configure(cfg)
    SendRules.from_settings(cfg)  # a bad ALERT_QUIET_HOURS stops us here, named
    return asyncio.run(_serve(cfg))


async def _serve(cfg: settings_module.Settings) -> int:
    async with httpx.AsyncClient() as client:
        factory = sessions(cfg.database_url)
        channels = build_channels(cfg, client=client, sessions=factory)
        if not channels.senders:
            print(
                "No channel is on (no TELEGRAM_BOT_TOKEN, ZALO_OA_… or ZALO_BOT_TOKEN): "
                "nothing to deliver with.",
                file=sys.stderr,
            )
            return 2
        worker = delivery.from_settings(cfg, sessions=factory, channels=channels)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.stop)
        try:
            await worker.run()
        finally:
            await channels.aclose()
    return 0
