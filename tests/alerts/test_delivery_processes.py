"""Broadcasts end to end against the fake Telegram API: 5,000 subscribers of a province in its
communes each receive exactly one message — from one worker in this process, from a `loa
worker` killed with SIGKILL mid-run and restarted (nobody receives two; received + uncertain =
5,000), and from two `loa worker` processes at once on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.alerts import DONE, SENT, UNCERTAIN, Broadcast, Delivery
from bot.storage.conversations import ChannelAccount
from testkit import alerts_seed
from testkit.fakes import telegram as tg
from testkit.fakes.server import serve
from tests.alerts.delivery_rig import close_opened, worker

DATABASES = ("sqlite", "postgresql")
ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 5000
# 5,000 sends take a minute or two on an idle 2-core machine; 3-6 minutes were seen when it
# was shared with a load of 8.
TIMEOUT = 600
START = 120  # a process's imports alone took over 30 s on the shared machine


def unlimited_telegram() -> tg.FakeTelegram:
    """The fake with its limits out of the way: these tests count messages, not pace."""
    return tg.FakeTelegram(global_per_second=10**6, per_chat_burst=10**6)


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not in {timeout} s")


def approve_province(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        row = alerts_seed.approved_broadcast(session, areas=[(alerts_seed.LANG_SON, None)])
        session.commit()
        return row.id


def done(sessions: sessionmaker[Session], broadcast_id: int) -> bool:
    with sessions() as session:
        return session.scalar(select(Broadcast.status).where(Broadcast.id == broadcast_id)) == DONE


def outcome_by_chat(sessions: sessionmaker[Session]) -> dict[int, str]:
    with sessions() as session:
        rows = session.execute(
            select(ChannelAccount.external_id, Delivery.status).join(
                ChannelAccount, ChannelAccount.id == Delivery.account_id
            )
        ).all()
    return {int(chat): status for chat, status in rows}


@contextmanager
def loa_worker(database_url: str, telegram_url: str, log: Path) -> Iterator[subprocess.Popen]:
    """A `loa worker` process on the fake Telegram; stopped (SIGTERM) at the end if alive."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "LOA_VAR_DIR": str(log.parent),
        "TELEGRAM_BOT_TOKEN": tg.TOKEN,
        "TELEGRAM_API_BASE_URL": telegram_url,
        "TELEGRAM_PER_SECOND": "100000",  # no pacing: these tests count messages
        "ALERT_QUIET_HOURS": "off",  # whatever the time of day the tests run at
        "ALERT_DAILY_CAP": "0",
        "ALERT_WORKER_LEASE_SECONDS": "5",
        "ALERT_SEND_CONCURRENCY": "8",
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def started(log: Path, times: int = 1) -> bool:
    return log.exists() and log.read_text().count("delivery worker") >= times


@pytest.mark.slow
async def test_5000_subscribers_each_receive_one_message(session_factory) -> None:
    telegram = unlimited_telegram()
    seeded = alerts_seed.subscribers(session_factory, PEOPLE)
    assert len(seeded.communes) > 50  # many communes, and a tenth for the whole province
    with serve(telegram.app()) as url:
        async with httpx.AsyncClient() as client:
            w = worker(session_factory, client, telegram_url=url, telegram_per_second=10**6)
            broadcast_id = approve_province(session_factory)
            running = asyncio.create_task(w.run())
            deadline = time.monotonic() + TIMEOUT
            while not done(session_factory, broadcast_id):
                assert not running.done(), "the worker stopped"
                assert time.monotonic() < deadline, "the broadcast is not done"
                await asyncio.sleep(0.2)
            w.stop()
            await running
            await close_opened()
    received = Counter(m["chat_id"] for m in telegram.sent)
    chats = range(seeded.first_chat, seeded.first_chat + PEOPLE)
    assert received == {chat: 1 for chat in chats}
    assert set(outcome_by_chat(session_factory).values()) == {SENT}


@pytest.mark.slow
def test_a_killed_worker_restarted_sends_nobody_two(
    session_factory, database_url: str, tmp_path: Path
) -> None:
    telegram = unlimited_telegram()
    seeded = alerts_seed.subscribers(session_factory, PEOPLE)
    log = tmp_path / "worker.log"
    with serve(telegram.app()) as url:
        with loa_worker(database_url, url, log) as first:
            wait_for(lambda: started(log), START, "the first worker's start")
            broadcast_id = approve_province(session_factory)
            wait_for(lambda: len(telegram.sent) >= PEOPLE // 5, TIMEOUT, "a fifth delivered")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        at_kill = len(telegram.sent)
        with loa_worker(database_url, url, log):
            wait_for(lambda: started(log, 2), START, "the second worker's start")
            wait_for(lambda: done(session_factory, broadcast_id), TIMEOUT, "the broadcast done")
    assert at_kill < PEOPLE  # it really died mid-run
    received = Counter(m["chat_id"] for m in telegram.sent)
    assert max(received.values()) == 1  # nobody twice
    outcome = outcome_by_chat(session_factory)
    uncertain = {chat for chat, status in outcome.items() if status == UNCERTAIN}
    sent = {chat for chat, status in outcome.items() if status == SENT}
    assert sent | uncertain == set(range(seeded.first_chat, seeded.first_chat + PEOPLE))
    assert sent <= set(received)  # what is recorded sent arrived
    assert len(received) + len(uncertain - set(received)) == PEOPLE
    print(f"\nkill -9 left {len(uncertain)} uncertain ({len(uncertain & set(received))} arrived)")
    assert len(uncertain) <= 200  # at most what was in flight: claims stay small


@pytest.mark.slow
def test_two_worker_processes_on_postgresql_send_each_once(
    session_factory, database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several workers in production run on PostgreSQL")
    telegram = unlimited_telegram()
    seeded = alerts_seed.subscribers(session_factory, PEOPLE)
    logs = tmp_path / "a.log", tmp_path / "b.log"
    with (
        serve(telegram.app()) as url,
        loa_worker(database_url, url, logs[0]),
        loa_worker(database_url, url, logs[1]),
    ):
        wait_for(lambda: all(started(log) for log in logs), START, "both workers' start")
        broadcast_id = approve_province(session_factory)
        wait_for(lambda: done(session_factory, broadcast_id), TIMEOUT, "the broadcast done")
    received = Counter(m["chat_id"] for m in telegram.sent)
    assert received == {c: 1 for c in range(seeded.first_chat, seeded.first_chat + PEOPLE)}
    with session_factory() as session:
        by_worker = dict(
            session.execute(
                select(Delivery.claimed_by, func.count()).group_by(Delivery.claimed_by)
            ).all()
        )
    assert len(by_worker) == 2, by_worker  # both took a share
    assert set(outcome_by_chat(session_factory).values()) == {SENT}
