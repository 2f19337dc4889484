"""The outbox against fake Telegram and Zalo APIs: order, pace, retries, never twice."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.channels.tokens import DbTokenStore
from bot.outbox import Outbox
from bot.storage import conversations as log
from connectors.ratelimit import RateLimiter
from connectors.telegram import outbound as telegram_limits
from connectors.telegram.outbound import TelegramChannel
from connectors.zalo_oa.outbound import ZaloOAChannel
from connectors.zalo_oa.tokens import Tokens, ZaloTokens
from testkit.fakes import telegram as tg
from testkit.fakes import zalo_oa as oa
from testkit.fakes.server import serve

DATABASES = ("sqlite", "postgresql")  # run every test on both


@dataclass
class Setup:
    outbox: Outbox
    telegram: tg.FakeTelegram
    zalo: oa.FakeZaloOA
    sessions: sessionmaker[Session]
    store: DbTokenStore


@pytest.fixture
def fakes() -> Iterator[tuple[tg.FakeTelegram, str, oa.FakeZaloOA, str]]:
    telegram, zalo = tg.FakeTelegram(slow_seconds=2), oa.FakeZaloOA(slow_seconds=2)
    with serve(telegram.app()) as tg_url, serve(zalo.app()) as oa_url:
        yield telegram, tg_url, zalo, oa_url


@pytest.fixture
async def setup(fakes, session_factory) -> AsyncIterator[Setup]:
    telegram, tg_url, zalo, oa_url = fakes
    async with httpx.AsyncClient() as client:
        bot = Bot(
            tg.TOKEN,
            base_url=f"{tg_url}/bot",
            request=HTTPXRequest(read_timeout=1, connection_pool_size=32),
        )
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
                "telegram": TelegramChannel(bot),
                "zalo_oa": ZaloOAChannel(client=client, tokens=tokens, base_url=oa_url),
            },
            limiters={
                "telegram": RateLimiter(
                    per_second=telegram_limits.PER_SECOND,
                    chat_interval=telegram_limits.CHAT_INTERVAL,
                ),
                "zalo_oa": RateLimiter(per_second=60, chat_interval=0.0),
            },
        )
        yield Setup(outbox, telegram, zalo, session_factory, store)


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


async def run_until_idle(outbox: Outbox, timeout: float = 20) -> None:
    """Passes of the outbox until nothing is due or waiting for a retry."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = outbox.start_due()
        await outbox.drain()
        with outbox.sessions() as s:
            left = s.scalars(select(log.Message).where(log.Message.status == log.QUEUED)).all()
        if not started and not left:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("outbox did not finish")


async def test_one_persons_messages_arrive_in_order_within_telegram_limits(setup: Setup) -> None:
    texts = [f"tin {i}" for i in range(4)]
    queue(setup.sessions, "telegram", "101", *texts)
    queue(setup.sessions, "telegram", "102", "khác")
    await run_until_idle(setup.outbox)
    to_101 = [m for m in setup.telegram.sent if m["chat_id"] == 101]
    assert [m["text"] for m in to_101] == texts
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(to_101)]
    assert min(gaps) >= 0.95  # one per second in one chat
    assert setup.telegram.violations == []
    assert statuses(setup.sessions) == ["sent"] * 5


async def test_many_chats_stay_under_30_per_second(setup: Setup) -> None:
    for chat in range(200, 260):
        queue(setup.sessions, "telegram", str(chat), "thông báo")
    await run_until_idle(setup.outbox)
    assert len(setup.telegram.sent) == 60
    assert setup.telegram.violations == []
    first, last = setup.telegram.sent[0]["at"], setup.telegram.sent[-1]["at"]
    assert last - first >= 1.0  # 60 messages cannot go out in under a second


async def test_429_retry_after_is_honoured_and_the_message_sent_once(setup: Setup) -> None:
    setup.telegram.retry_after_seconds = 1
    setup.telegram.fail_next(1, "429")
    queue(setup.sessions, "telegram", "103", "sau khi chờ")
    t0 = time.monotonic()
    await run_until_idle(setup.outbox)
    assert [m["text"] for m in setup.telegram.sent] == ["sau khi chờ"]
    assert setup.telegram.sent[0]["at"] - t0 >= 0.95
    assert statuses(setup.sessions) == ["sent"]


async def test_5xx_is_retried_with_backoff(setup: Setup) -> None:
    setup.telegram.fail_next(2, "500")
    queue(setup.sessions, "telegram", "104", "thử lại")
    await run_until_idle(setup.outbox)
    assert [m["text"] for m in setup.telegram.sent] == ["thử lại"]
    with setup.sessions() as s:
        assert s.scalars(select(log.Message.attempts)).one() == 3


async def test_a_timeout_after_sending_is_never_sent_twice(setup: Setup) -> None:
    setup.telegram.fail_next(1, "timeout")
    queue(setup.sessions, "telegram", "105", "có thể đã tới", "tin sau")
    await run_until_idle(setup.outbox)
    assert [m["text"] for m in setup.telegram.sent] == ["có thể đã tới", "tin sau"]
    assert statuses(setup.sessions) == ["uncertain", "sent"]


async def test_blocked_person_is_marked_unreachable(setup: Setup) -> None:
    setup.telegram.blocked.add(106)
    queue(setup.sessions, "telegram", "106", "một", "hai")
    await run_until_idle(setup.outbox)
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
    await run_until_idle(setup.outbox)
    assert setup.telegram.sent == []
    assert statuses(setup.sessions) == ["uncertain"]


async def test_zalo_expired_token_is_refreshed_once_and_the_new_refresh_token_kept(
    setup: Setup,
) -> None:
    setup.zalo.expire(oa.ACCESS_TOKEN)
    queue(setup.sessions, "zalo_oa", "u1", "một", "hai")
    await run_until_idle(setup.outbox)
    assert [m["text"] for m in setup.zalo.sent] == ["một", "hai"]
    assert setup.zalo.refresh_count == 1
    saved = setup.store.load()
    assert saved is not None and saved.refresh_token == setup.zalo.refresh_token != oa.REFRESH_TOKEN


async def test_zalo_token_about_to_expire_is_refreshed_before_sending(setup: Setup) -> None:
    setup.store.save(Tokens(oa.ACCESS_TOKEN, oa.REFRESH_TOKEN, time.time() + 60))
    queue(setup.sessions, "zalo_oa", "u2", "xin chào")
    await run_until_idle(setup.outbox)
    assert setup.zalo.refresh_count == 1
    assert not any(r.get("error") == -216 for r in setup.zalo.requests)


@pytest.mark.parametrize(
    ("code", "final"),
    [("-230", "failed"), ("-213", "failed"), ("-32", "sent"), ("-100", "sent"), ("500", "sent")],
)
async def test_zalo_errors(setup: Setup, code: str, final: str) -> None:
    setup.zalo.fail_next(1, code)
    queue(setup.sessions, "zalo_oa", "u3", "tin")
    await run_until_idle(setup.outbox)
    assert statuses(setup.sessions) == [final]
    assert len(setup.zalo.sent) == (1 if final == "sent" else 0)
    with setup.sessions() as s:
        assert s.scalars(select(log.ChannelAccount.reachable)).one() is (final == "sent")


async def test_zalo_outside_the_7_day_window_is_not_even_tried(setup: Setup) -> None:
    queue(setup.sessions, "zalo_oa", "u4", "ngoài 7 ngày", wrote_ago=timedelta(days=8))
    await run_until_idle(setup.outbox)
    assert statuses(setup.sessions) == ["failed"]
    assert setup.zalo.requests == []


async def test_zalo_window_closed_on_their_side_means_unreachable(setup: Setup) -> None:
    setup.zalo.last_interaction["u5"] = time.time() - 8 * 24 * 3600  # Zalo knows better
    queue(setup.sessions, "zalo_oa", "u5", "tin")
    await run_until_idle(setup.outbox)
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
    await run_until_idle(setup.outbox)
    [sent] = setup.zalo.sent
    assert [b["title"] for b in sent["buttons"]] == titles[:5]
    assert sent["text"] == "Chọn:\n• Mục 5\n• Mục 6"
