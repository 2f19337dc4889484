"""One outbox in a process of its own, for the test of two processes on one database.

``python -m tests.outbox_process DATABASE_URL TELEGRAM_URL READY GO``: makes its outbox,
creates the file READY, waits for the file GO (so both processes start together), then sends
until nothing is queued or being sent, and exits 0.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from bot.outbox import Outbox
from bot.storage.engine import sessions
from connectors.ratelimit import RateLimiter
from connectors.telegram import outbound as telegram_limits
from connectors.telegram.outbound import TelegramChannel, make_bot
from connectors.telegram.request import AiohttpRequest
from testkit.fakes import telegram as tg
from tests.two_processes import drain_until_settled


async def main(database_url: str, telegram_url: str, ready: Path, go: Path) -> None:
    bot = make_bot(tg.TOKEN, telegram_url, request=AiohttpRequest(32, read_timeout=15))
    limiter = RateLimiter(
        per_second=telegram_limits.PER_SECOND, chat_interval=telegram_limits.CHAT_INTERVAL
    )
    outbox = Outbox(
        sessions=sessions(database_url),
        channels={"telegram": TelegramChannel(bot)},
        limiters={"telegram": limiter},
    )
    outbox.recover()  # as the app does at start: the other process's sends are left alone
    ready.touch()
    give_up = time.monotonic() + 30
    while not go.exists():
        if time.monotonic() > give_up:
            raise SystemExit("never told to go")
        await asyncio.sleep(0.02)
    # Both start at the wall time written in the file, not when each happened to see it: one
    # process noticing 20 ms late finds every person already claimed by the other.
    await asyncio.sleep(max(0.0, float(go.read_text()) - time.time()))
    try:
        await drain_until_settled(outbox, deadline=40)
    finally:
        await outbox.channels["telegram"].bot.request.shutdown()


if __name__ == "__main__":
    url, tg_url, ready_file, go_file = sys.argv[1:5]
    asyncio.run(main(url, tg_url, Path(ready_file), Path(go_file)))
