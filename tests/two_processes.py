"""Helpers for tests of several processes on one database: each "process" is a thread with an
event loop and a database engine of its own (the tests of real processes start them)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.outbox import Outbox
from bot.storage import conversations as log
from bot.storage.engine import engine


def own_sessions(database_url: str) -> sessionmaker[Session]:
    """A session factory on an engine of its own, as another process has (``engine`` keeps
    one per URL; its undecorated function makes a new one). Dispose of it when done."""
    return sessionmaker(engine.__wrapped__(database_url), expire_on_commit=False)


def run_in_threads(*targets: Callable[[], None], timeout: float = 90) -> None:
    """Run each target in a thread of its own, wait for all, re-raise the first failure."""
    failures: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # handed to the test below
                failures.append(exc)

        return run

    threads = [threading.Thread(target=guarded(t)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
        assert not thread.is_alive(), "a thread did not finish"
    if failures:
        raise failures[0]


async def drain_until_settled(outbox: Outbox, deadline: float = 60.0) -> None:
    """Passes of the outbox until no message is queued or being sent (by anyone)."""
    give_up = time.monotonic() + deadline
    while time.monotonic() < give_up:
        outbox.start_due()
        await outbox.drain()
        with outbox.sessions() as s:
            open_ = s.scalar(
                select(func.count()).where(log.Message.status.in_((log.QUEUED, log.SENDING)))
            )
        if not open_:
            return
        await asyncio.sleep(0.05)  # a retry's due time, or the other outbox's send, to pass
    with outbox.sessions() as s:
        left = list(s.scalars(select(log.Message.status).order_by(log.Message.id)))
    raise AssertionError(f"not settled: {left}")
