"""The outbox against fake Telegram and Zalo APIs: order, pace, retries, never twice.

Back-off waits pass on a test clock the tests move, not in real time; Telegram's pacing and a
429's retry_after stay on real time, as the fake measures them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot

from bot.channels.tokens import DbTokenStore
from bot.outbox import Outbox
from bot.storage import conversations as log
from bot.storage.leases import LEASE, Lease
from connectors.base import OutgoingMessage, SendResult
from connectors.ratelimit import RateLimiter
from connectors.telegram import outbound as telegram_limits
from connectors.telegram.outbound import TelegramChannel, make_bot
from connectors.telegram.request import AiohttpRequest
from connectors.zalo_oa.outbound import ZaloOAChannel
from connectors.zalo_oa.tokens import Tokens, ZaloTokens
from testkit.fakes import telegram as tg
from testkit.fakes import zalo_oa as oa
from testkit.fakes.server import serve
from tests.two_processes import drain_until_settled, own_sessions, run_in_threads

DATABASES = ("sqlite", "postgresql")  # run every test on both
ROOT = Path(__file__).resolve().parents[1]
READ_TIMEOUT = 15  # as in production: a loaded machine never reaches it against a local fake


@dataclass
class MovableClock:
    """Real time plus an offset the test moves forward: waits pass at once, time still runs."""

    offset: float = 0.0
    moves: list[float] = field(default_factory=list)
    stopped_at: datetime | None = None  # set: the date stands still between moves

    def now(self) -> datetime:
        return (self.stopped_at or datetime.now(UTC)) + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        self.moves.append(round(seconds, 1))


@dataclass
class Setup:
    outbox: Outbox
    telegram: tg.FakeTelegram
    zalo: oa.FakeZaloOA
    sessions: sessionmaker[Session]
    store: DbTokenStore
    clock: MovableClock
    telegram_url: str
    telegram_limiter: RecordingLimiter


@pytest.fixture
def fakes() -> Iterator[tuple[tg.FakeTelegram, str, oa.FakeZaloOA, str]]:
    telegram, zalo = tg.FakeTelegram(), oa.FakeZaloOA()
    with serve(telegram.app()) as tg_url, serve(zalo.app()) as oa_url:
        yield telegram, tg_url, zalo, oa_url


def telegram_bot(url: str, read_timeout: float = READ_TIMEOUT) -> Bot:
    request = AiohttpRequest(32, read_timeout=read_timeout)  # as production sends
    return make_bot(tg.TOKEN, url, request=request)


class RecordingLimiter(RateLimiter):
    """Telegram's limiter, noting when it let each send to a chat start (on its own clock).

    The start is the limiter's own reading, the one it spaces the next start from: a check on
    it holds however late the request then reaches the fake on a loaded machine.
    """

    def __init__(self) -> None:
        super().__init__(
            per_second=telegram_limits.PER_SECOND, chat_interval=telegram_limits.CHAT_INTERVAL
        )
        self.starts: dict[str, list[float]] = {}

    @asynccontextmanager
    async def slot(self, chat: str) -> AsyncIterator[None]:
        async with super().slot(chat):
            started = self._chat_next[chat] - self.chat_interval
            self.starts.setdefault(chat, []).append(started)
            yield


def telegram_limiter() -> RecordingLimiter:
    return RecordingLimiter()


@pytest.fixture
async def setup(fakes, session_factory) -> AsyncIterator[Setup]:
    telegram, tg_url, zalo, oa_url = fakes
    clock = MovableClock()
    limiter = telegram_limiter()
    async with httpx.AsyncClient() as client:
        initial = Tokens(oa.ACCESS_TOKEN, oa.REFRESH_TOKEN, time.time() + 20 * 3600)
        store = DbTokenStore(sessions=session_factory, channel="zalo_oa", initial=initial)
        tokens = ZaloTokens(
            client=client,
            store=store,
            oauth_base_url=oa_url,
            app_id=oa.APP_ID,
            app_secret=oa.APP_SECRET,
        )
        outbox = Outbox(
            sessions=session_factory,
            channels={
                "telegram": TelegramChannel(telegram_bot(tg_url)),
                "zalo_oa": ZaloOAChannel(client=client, tokens=tokens, base_url=oa_url),
            },
            limiters={
                "telegram": limiter,  # real time: the fake checks the pace
                "zalo_oa": RateLimiter(per_second=60, chat_interval=0.0, clock=clock.monotonic),
            },
            now=clock.now,
        )
        yield Setup(outbox, telegram, zalo, session_factory, store, clock, tg_url, limiter)
        await outbox.channels["telegram"].bot.request.shutdown()


def queue(
    sessions: sessionmaker[Session],
    channel: str,
    recipient: str,
    *texts: str,
    wrote_ago: timedelta = timedelta(minutes=1),
) -> list[int]:
    """Queue replies to someone who last wrote ``wrote_ago``."""
    with sessions() as s:
        account = log.account_for(session=s, channel=channel, external_id=recipient)
        account.last_inbound_at = datetime.now(UTC) - wrote_ago
        rows = [
            log.Message(
                account_id=account.id,
                channel=channel,
                direction=log.OUTBOUND,
                text=t,
                status=log.QUEUED,
            )
            for t in texts
        ]
        s.add_all(rows)
        s.commit()
        return [r.id for r in rows]


def statuses(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as s:
        return list(s.scalars(select(log.Message.status).order_by(log.Message.id)))


async def run_until_idle(outbox: Outbox, clock: MovableClock, passes: int = 50) -> None:
    """Passes of the outbox until nothing is queued; when all that is left waits for a retry,
    the clock moves to the first one instead of the test sleeping."""
    for _ in range(passes):
        started = outbox.start_due()
        await outbox.drain()
        with outbox.sessions() as s:
            query = select(log.Message.next_attempt_at).where(log.Message.status == log.QUEUED)
            waiting = list(s.scalars(query))
        if not waiting:
            return
        if not started:
            due = min((t for t in waiting if t is not None), default=None)
            if due is None or due <= clock.now():
                break  # queued and due, yet nothing starts: the queue is stuck
            clock.advance((due - clock.now()).total_seconds() + 0.01)
    raise AssertionError(f"outbox did not finish: {statuses(outbox.sessions)}")


async def test_one_persons_messages_arrive_in_order_within_telegram_limits(setup: Setup) -> None:
    texts = [f"tin {i}" for i in range(4)]
    queue(setup.sessions, "telegram", "101", *texts)
    queue(setup.sessions, "telegram", "102", "khác")
    await run_until_idle(setup.outbox, setup.clock)
    to_101 = [m for m in setup.telegram.sent if m["chat_id"] == 101]
    assert [m["text"] for m in to_101] == texts
    # One per second in one chat (Telegram's FAQ), read on the limiter's schedule: the starts
    # it allowed, not the arrivals at the fake, which a loaded machine delays unevenly.
    starts = setup.telegram_limiter.starts
    assert sorted(starts) == ["101", "102"] and len(starts["101"]) == len(texts)
    gaps = [b - a for a, b in itertools.pairwise(starts["101"])]
    assert telegram_limits.CHAT_INTERVAL == 1.0
    assert min(gaps) >= 1.0 - 1e-9, gaps  # (a float's rounding, nothing more)
    assert setup.telegram.violations == []  # and the fake, on real time, saw no burst
    assert statuses(setup.sessions) == ["sent"] * 5


async def test_many_chats_stay_under_30_per_second(setup: Setup) -> None:
    for chat in range(200, 260):
        queue(setup.sessions, "telegram", str(chat), "thông báo")
    await run_until_idle(setup.outbox, setup.clock)
    assert len(setup.telegram.sent) == 60
    assert setup.telegram.violations == []
    first, last = setup.telegram.sent[0]["at"], setup.telegram.sent[-1]["at"]
    assert last - first >= 1.0  # 60 messages cannot go out in under a second


async def test_429_retry_after_is_honoured_and_the_message_sent_once(setup: Setup) -> None:
    setup.telegram.retry_after_seconds = 1
    setup.telegram.fail_next(1, "429")
    queue(setup.sessions, "telegram", "103", "sau khi chờ")
    t0 = time.monotonic()
    await run_until_idle(setup.outbox, setup.clock)
    assert [m["text"] for m in setup.telegram.sent] == ["sau khi chờ"]
    assert setup.telegram.sent[0]["at"] - t0 >= 0.95
    assert statuses(setup.sessions) == ["sent"]


async def test_5xx_is_retried_with_backoff(setup: Setup) -> None:
    # The date stands still, so each move is the back-off itself, however long a pass took
    # on a loaded machine (0.9 s instead of 1.0 was seen when it ran on).
    setup.clock.stopped_at = datetime.now(UTC)
    setup.telegram.fail_next(2, "500")
    queue(setup.sessions, "telegram", "104", "thử lại")
    await run_until_idle(setup.outbox, setup.clock)
    assert [m["text"] for m in setup.telegram.sent] == ["thử lại"]
    with setup.sessions() as s:
        assert s.scalars(select(log.Message.attempts)).one() == 3
    assert setup.clock.moves == [1.0, 2.0]  # waited 1 s, then 2 s (on the test clock)


async def test_a_timeout_after_sending_is_never_sent_twice(setup: Setup) -> None:
    # Its own short read timeout, well below the fake's late answer; 2 s is still ample for
    # the other send's answer from a local fake on a loaded machine.
    setup.telegram.slow_seconds = 4
    setup.telegram.fail_next(1, "timeout")
    outbox = Outbox(
        sessions=setup.sessions,
        channels={"telegram": TelegramChannel(telegram_bot(setup.telegram_url, 2))},
        limiters={"telegram": telegram_limiter()},
        now=setup.clock.now,
    )
    queue(setup.sessions, "telegram", "105", "có thể đã tới", "tin sau")
    await run_until_idle(outbox, setup.clock)
    await outbox.channels["telegram"].bot.request.shutdown()
    assert [m["text"] for m in setup.telegram.sent] == ["có thể đã tới", "tin sau"]
    assert statuses(setup.sessions) == ["uncertain", "sent"]


async def test_blocked_person_is_marked_unreachable(setup: Setup) -> None:
    setup.telegram.blocked.add(106)
    queue(setup.sessions, "telegram", "106", "một", "hai")
    await run_until_idle(setup.outbox, setup.clock)
    assert setup.telegram.sent == []
    assert len([r for r in setup.telegram.requests if r["method"].lower() == "sendmessage"]) == 1
    assert statuses(setup.sessions) == ["failed", "failed"]
    with setup.sessions() as s:
        assert s.scalars(select(log.ChannelAccount.reachable)).one() is False


async def test_a_crash_mid_send_leaves_it_uncertain(setup: Setup) -> None:
    [mid] = queue(setup.sessions, "telegram", "107", "đang gửi thì sập")
    with setup.sessions() as s:
        s.get(log.Message, mid).status = log.SENDING
        s.commit()
    assert setup.outbox.recover() == 1
    await run_until_idle(setup.outbox, setup.clock)
    assert setup.telegram.sent == []
    assert statuses(setup.sessions) == ["uncertain"]


async def test_zalo_expired_token_is_refreshed_once_and_the_new_refresh_token_kept(
    setup: Setup,
) -> None:
    setup.zalo.expire(oa.ACCESS_TOKEN)
    queue(setup.sessions, "zalo_oa", "u1", "một", "hai")
    await run_until_idle(setup.outbox, setup.clock)
    assert [m["text"] for m in setup.zalo.sent] == ["một", "hai"]
    assert setup.zalo.refresh_count == 1
    saved = setup.store.load()
    assert saved is not None and saved.refresh_token == setup.zalo.refresh_token != oa.REFRESH_TOKEN


async def test_zalo_token_about_to_expire_is_refreshed_before_sending(setup: Setup) -> None:
    setup.store.save(Tokens(oa.ACCESS_TOKEN, oa.REFRESH_TOKEN, time.time() + 60))
    queue(setup.sessions, "zalo_oa", "u2", "xin chào")
    await run_until_idle(setup.outbox, setup.clock)
    assert setup.zalo.refresh_count == 1
    assert not any(r.get("error") == -216 for r in setup.zalo.requests)


@pytest.mark.parametrize(
    ("code", "final"),
    [("-230", "failed"), ("-213", "failed"), ("-32", "sent"), ("-100", "sent"), ("500", "sent")],
)
async def test_zalo_errors(setup: Setup, code: str, final: str) -> None:
    setup.zalo.fail_next(1, code)
    queue(setup.sessions, "zalo_oa", "u3", "tin")
    await run_until_idle(setup.outbox, setup.clock)
    assert statuses(setup.sessions) == [final]
    assert len(setup.zalo.sent) == (1 if final == "sent" else 0)
    with setup.sessions() as s:
        assert s.scalars(select(log.ChannelAccount.reachable)).one() is (final == "sent")


async def test_zalo_outside_the_7_day_window_is_not_even_tried(setup: Setup) -> None:
    queue(setup.sessions, "zalo_oa", "u4", "ngoài 7 ngày", wrote_ago=timedelta(days=8))
    await run_until_idle(setup.outbox, setup.clock)
    assert statuses(setup.sessions) == ["failed"]
    assert setup.zalo.requests == []


async def test_zalo_window_closed_on_their_side_means_unreachable(setup: Setup) -> None:
    setup.zalo.last_interaction["u5"] = time.time() - 8 * 24 * 3600  # Zalo knows better
    queue(setup.sessions, "zalo_oa", "u5", "tin")
    await run_until_idle(setup.outbox, setup.clock)
    assert statuses(setup.sessions) == ["failed"]
    with setup.sessions() as s:
        assert s.scalars(select(log.ChannelAccount.reachable)).one() is False


async def test_zalo_buttons_beyond_five_are_listed_in_the_text(setup: Setup) -> None:
    titles = [f"Mục {i}" for i in range(7)]
    with setup.sessions() as s:
        account = log.account_for(session=s, channel="zalo_oa", external_id="u6")
        account.last_inbound_at = datetime.now(UTC)
        buttons = [{"title": t, "payload": f"/intent_{i}"} for i, t in enumerate(titles)]
        s.add(
            log.Message(
                account_id=account.id,
                channel="zalo_oa",
                direction=log.OUTBOUND,
                text="Chọn:",
                data={"buttons": buttons},
                status=log.QUEUED,
            )
        )
        s.commit()
    await run_until_idle(setup.outbox, setup.clock)
    [sent] = setup.zalo.sent
    assert [b["title"] for b in sent["buttons"]] == titles[:5]
    assert sent["text"] == "Chọn:\n• Mục 5\n• Mục 6"


async def test_zalo_answers_without_a_message_id_do_not_stall_the_queue(setup: Setup) -> None:
    setup.zalo.omit_message_id = True
    queue(setup.sessions, "zalo_oa", "u7", "một", "hai", "ba")
    await run_until_idle(setup.outbox, setup.clock)
    assert [m["text"] for m in setup.zalo.sent] == ["một", "hai", "ba"]
    with setup.sessions() as s:
        rows = s.scalars(select(log.Message).order_by(log.Message.id)).all()
        assert [(m.status, m.channel_message_id) for m in rows] == [("sent", None)] * 3


async def test_an_outcome_that_cannot_be_recorded_is_uncertain_and_logged(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    setup.zalo.fixed_message_id = "the-same-id"  # the log's unique key refuses the repeats
    queue(setup.sessions, "zalo_oa", "u8", "một", "hai", "ba")
    with caplog.at_level(logging.ERROR, logger="bot.outbox"):
        await run_until_idle(setup.outbox, setup.clock)
    assert [m["text"] for m in setup.zalo.sent] == ["một", "hai", "ba"]  # never resent
    assert statuses(setup.sessions) == ["sent", "uncertain", "uncertain"]
    lines = [r for r in caplog.records if "outcome not recorded" in r.getMessage()]
    assert len(lines) == 2
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in lines)


async def test_a_message_erased_while_it_was_sent_does_not_stall_the_queue(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    """The person asked to be forgotten while their reply was on its way: the sent row is
    gone when the outcome comes. Nothing is recorded for it, the error is one log line, and
    the rest of their queue goes out."""
    first, _second = queue(setup.sessions, "zalo_oa", "u9", "một", "hai")
    channel = setup.outbox.channels["zalo_oa"]
    send = channel.send

    async def erase_then_send(recipient: str, message: OutgoingMessage) -> SendResult:
        if message.text == "một":
            with setup.sessions() as s:
                s.execute(delete(log.Message).where(log.Message.id == first))
                s.commit()
        return await send(recipient, message)

    channel.send = erase_then_send  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="bot.outbox"):
        await run_until_idle(setup.outbox, setup.clock)
    assert [m["text"] for m in setup.zalo.sent] == ["một", "hai"]
    assert statuses(setup.sessions) == ["sent"]
    [line] = [r.getMessage() for r in caplog.records if "outcome not recorded" in r.getMessage()]
    assert "the message is gone" in line


async def test_recover_settles_only_the_sends_of_dead_processes(setup: Setup) -> None:
    """Every process runs ``recover``: a live peer's send in flight is left alone; a send of a
    process whose lease lapsed, or one made before sends had an owner, becomes uncertain."""
    live = Lease(sessions=setup.sessions, now=setup.clock.now)
    dead = Lease(sessions=setup.sessions, now=lambda: setup.clock.now() - LEASE - timedelta(1))
    live.keep()
    dead.keep()
    ids = [queue(setup.sessions, "telegram", str(chat), "đang gửi")[0] for chat in (401, 402, 403)]
    with setup.sessions() as s:
        for message_id, owner in zip(ids, (live.id, dead.id, None), strict=True):
            message = s.get(log.Message, message_id)
            assert message is not None
            message.status, message.claimed_by = log.SENDING, owner
        s.commit()
    assert setup.outbox.recover() == 2
    assert statuses(setup.sessions) == ["sending", "uncertain", "uncertain"]
    assert setup.telegram.requests == []


def test_a_send_is_claimed_once_and_only_at_the_head_of_the_line(
    session_factory: sessionmaker[Session],
) -> None:
    """The claim itself keeps the order: a later message cannot be taken while an earlier
    one to the same person is queued or being sent, and a message is taken once."""
    first, second = queue(session_factory, "telegram", "310", "một", "hai")

    def claim(message_id: int, owner: str) -> bool:
        with session_factory() as s:
            message = s.get(log.Message, message_id)
            assert message is not None
            taken = log.claim_send(session=s, message=message, owner=owner)
            s.commit()
            return taken

    assert claim(second, "a") is False  # "một" is still queued
    assert claim(first, "a") is True
    assert claim(first, "b") is False  # taken already
    assert claim(second, "b") is False  # "một" is being sent
    with session_factory() as s:
        message = s.get(log.Message, first)
        assert message is not None
        message.status = log.SENT
        s.commit()
    assert claim(second, "b") is True
    assert statuses(session_factory) == ["sent", "sending"]


def test_two_outboxes_racing_for_one_message_send_it_once(fakes, database_url: str) -> None:
    """Two outboxes on one database, each in its own thread, event loop and engine (as two
    processes): both read the head of the line, then both try to claim it at once (the
    barrier holds each one's first UPDATE of ``messages`` until the other reaches its own).
    Exactly one claim wins, so the message is sent once."""
    telegram, tg_url, _, _ = fakes
    [message_id] = queue(own_sessions(database_url), "telegram", "300", "một lần thôi")
    barrier = threading.Barrier(2, timeout=20)

    def deliver() -> None:
        factory = own_sessions(database_url)
        waited: list[bool] = []

        @event.listens_for(factory.kw["bind"], "before_cursor_execute")
        def claim_together(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
            if statement.lstrip().upper().startswith("UPDATE MESSAGES") and not waited:
                waited.append(True)
                barrier.wait()

        async def once() -> None:
            outbox = Outbox(
                sessions=factory,
                channels={"telegram": TelegramChannel(telegram_bot(tg_url))},
                limiters={"telegram": telegram_limiter()},
            )
            outbox.start_due()
            await outbox.drain()
            await outbox.channels["telegram"].bot.request.shutdown()

        asyncio.run(once())
        factory.kw["bind"].dispose()

    run_in_threads(deliver, deliver)
    assert [m["text"] for m in telegram.sent] == ["một lần thôi"]
    with own_sessions(database_url)() as s:
        message = s.get(log.Message, message_id)
        assert message is not None
        assert (message.status, message.attempts) == ("sent", 1)


def test_two_outboxes_deliver_every_message_once_and_in_order(fakes, database_url: str) -> None:
    """Two outboxes draining one database at once: each message arrives exactly once, and each
    person's in order. (Their Telegram pacing is per process, so the fake may answer 429 to a
    chat the other outbox just wrote to: a retry, never a loss or a repeat.)"""
    telegram, tg_url, _, _ = fakes
    chats = {str(chat): [f"tin {chat}-{i}" for i in range(3)] for chat in range(500, 506)}
    setup_sessions = own_sessions(database_url)
    for chat, texts in chats.items():
        queue(setup_sessions, "telegram", chat, *texts)

    def deliver() -> None:
        factory = own_sessions(database_url)
        outbox = Outbox(
            sessions=factory,
            channels={"telegram": TelegramChannel(telegram_bot(tg_url))},
            limiters={"telegram": telegram_limiter()},
        )

        async def drain() -> None:
            await drain_until_settled(outbox)
            await outbox.channels["telegram"].bot.request.shutdown()

        asyncio.run(drain())
        factory.kw["bind"].dispose()

    run_in_threads(deliver, deliver)
    for chat, texts in chats.items():
        assert [m["text"] for m in telegram.sent if m["chat_id"] == int(chat)] == texts
    assert set(statuses(setup_sessions)) == {"sent"}


# Rounds of the two-process race: which process claims whom depends on when each starts,
# and on a loaded machine one can claim every person before the other begins. Such a round
# still checks each message once and in order; another round is run for a race both join.
ROUNDS = 3


def _race(command: list[str], env: dict[str, str], here: Path) -> None:
    """Two outbox processes started together in ``here``: each says it is ready, then both
    begin at one moment; both must end cleanly."""
    here.mkdir()
    go = here / "go"
    readies = [here / f"ready-{n}" for n in range(2)]
    workers = [
        subprocess.Popen([*command, str(ready), str(go)], cwd=ROOT, env=env) for ready in readies
    ]
    try:
        give_up = time.monotonic() + 30
        while not all(r.exists() for r in readies) and time.monotonic() < give_up:
            assert all(w.poll() is None for w in workers), "a worker stopped before starting"
            time.sleep(0.02)
        (here / "go.tmp").write_text(str(time.time() + 0.3))  # both start then
        (here / "go.tmp").rename(go)  # whole, never half written
        assert [w.wait(timeout=50) for w in workers] == [0, 0]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()


def _senders(sessions: sessionmaker[Session], chats: list[str]) -> set[str]:
    """The processes that sent these chats' messages."""
    with sessions() as s:
        accounts = select(log.ChannelAccount.id).where(log.ChannelAccount.external_id.in_(chats))
        sent = select(log.Message.claimed_by).where(
            log.Message.status == log.SENT, log.Message.account_id.in_(accounts)
        )
        return set(s.scalars(sent))


@pytest.mark.slow
def test_two_outbox_processes_send_each_message_once_in_order(
    fakes, database_url: str, tmp_path: Path
) -> None:
    """Two real processes, each with its outbox, drain one database together (PostgreSQL:
    processes on several machines; SQLite: several app processes on one): every message
    arrives once, each person's in order, and both processes took part."""
    telegram, tg_url, _, _ = fakes
    setup_sessions = own_sessions(database_url)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tests.outbox_process", database_url, tg_url]
    senders_by_round = []
    for round_ in range(ROUNDS):
        first = 600 + 10 * round_
        chats = {
            str(chat): [f"tin {chat}-{i}" for i in range(3)] for chat in range(first, first + 10)
        }
        for chat, texts in chats.items():
            queue(setup_sessions, "telegram", chat, *texts)
        _race(command, env, tmp_path / f"round-{round_}")
        for chat, texts in chats.items():
            assert [m["text"] for m in telegram.sent if m["chat_id"] == int(chat)] == texts
        senders_by_round.append(_senders(setup_sessions, list(chats)))
        if len(senders_by_round[-1]) == 2:
            break
    setup_sessions.kw["bind"].dispose()
    # Each process sent some, in one round at least: the race above was really run.
    assert any(len(senders) == 2 for senders in senders_by_round), senders_by_round
