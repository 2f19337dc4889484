"""The delivery worker against the fake Telegram and Zalo OA APIs, on SQLite and PostgreSQL:
each row claimed once, quiet hours and the daily cap hold (never drop), Zalo's window falls
back to the person's other channel, blocks unsubscribe, 429s slow down, failures keep their
reason, cancelled and unsubscribed are skipped, a dead worker's sends become uncertain."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import audience, claims, delivery
from bot.alerts.rules import SendRules
from bot.alerts.subscriptions import AreaCode, unsubscribe
from bot.clock import VIETNAM
from bot.storage.alerts import (
    BLOCKED,
    CANCELLED,
    DIGEST,
    DONE,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    UNCERTAIN,
    UNREACHABLE,
    Broadcast,
    Delivery,
    Subscription,
)
from bot.storage.conversations import ChannelAccount
from bot.storage.delivery import AlertWorker
from testkit import alerts_seed
from testkit.fakes import telegram as tg
from testkit.fakes import zalo_oa as oa
from testkit.fakes.server import serve_all
from tests.alerts.delivery_rig import (
    NO_RULES,
    MovableClock,
    close_opened,
    person,
    settle,
    statuses,
    worker,
)
from tests.alerts.rig import load_demo

DATABASES = ("sqlite", "postgresql")
LANG_SON = AreaCode(20)
DONG_DANG = AreaCode(20, 6112)
WINDOWS = {"zalo_oa": timedelta(days=7)}


@pytest.fixture
def fakes() -> Iterator[tuple[tg.FakeTelegram, str, oa.FakeZaloOA, str]]:
    telegram, zalo = tg.FakeTelegram(), oa.FakeZaloOA()
    with serve_all(telegram.app(), zalo.app()) as (tg_url, oa_url):
        yield telegram, tg_url, zalo, oa_url


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c
    await close_opened()  # every test that builds a worker asks for this client


def approve(sessions: sessionmaker[Session], *areas: AreaCode, **kw) -> int:
    with sessions() as session:
        row = alerts_seed.approved_broadcast(
            session, areas=[(a.province_code, a.commune_code) for a in areas], **kw
        )
        session.commit()
        return row.id


def delivery_of(sessions: sessionmaker[Session], account: ChannelAccount) -> Delivery:
    with sessions() as session:
        return session.scalars(
            select(Delivery).where(Delivery.person_id == account.person_id)
        ).one()


def test_two_workers_never_claim_the_same_row(session_factory: sessionmaker[Session]) -> None:
    alerts_seed.subscribers(session_factory, 400)
    with session_factory() as session:
        row = alerts_seed.approved_broadcast(session, areas=[(20, None)])
        audience.materialize(session=session, broadcast=row, now=datetime.now(UTC))
        session.commit()
    taken: dict[str, list[int]] = {"a": [], "b": []}
    together = threading.Barrier(2)  # each round both claim at the same moment

    def claim_all(name: str) -> None:
        while True:
            with contextlib.suppress(threading.BrokenBarrierError):
                together.wait(timeout=30)
            with session_factory() as session:
                jobs = claims.claim(
                    session=session,
                    worker_id=name,
                    now=datetime.now(UTC),
                    limit=7,
                    channels=["telegram"],
                    windows=WINDOWS,
                    rules=NO_RULES,
                )
            if not jobs:
                together.abort()  # the other finishes alone
                return
            taken[name] += [j.delivery_id for j in jobs]

    threads = [threading.Thread(target=claim_all, args=(n,)) for n in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    both = taken["a"] + taken["b"]
    assert len(both) == len(set(both)) == 400  # every row once, none twice
    assert taken["a"] and taken["b"]  # both really worked
    with session_factory() as session:
        owners = Counter(session.scalars(select(Delivery.claimed_by)))
    assert owners == {"a": len(taken["a"]), "b": len(taken["b"])}


async def test_a_broadcast_reaches_each_subscriber_once_and_is_done(
    session_factory, fakes, client
) -> None:
    telegram, tg_url, _, _ = fakes
    with session_factory() as session:
        for chat in range(1, 6):
            person(session, f"telegram:{chat}", DONG_DANG, LANG_SON)  # two areas, one message
        person(session, "telegram:99", AreaCode(79))  # elsewhere
        session.commit()
    broadcast_id = approve(session_factory, LANG_SON, DONG_DANG, text="Cấp độ 2 từ hôm nay.")
    await settle(worker(session_factory, client, telegram_url=tg_url))
    assert sorted(m["chat_id"] for m in telegram.sent) == [1, 2, 3, 4, 5]
    assert {m["text"] for m in telegram.sent} == {"Cấp độ 2 từ hôm nay."}
    with session_factory() as session:
        rows = session.scalars(select(Delivery)).all()
        assert {(r.status, r.channel) for r in rows} == {(SENT, "telegram")}
        assert all(r.channel_message_id and r.sent_at for r in rows)
        broadcast = session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        assert broadcast.status == DONE and broadcast.finished_at is not None


async def test_quiet_hours_hold_non_urgent_until_morning_and_urgent_goes(
    session_factory, fakes, client
) -> None:
    telegram, tg_url, _, _ = fakes
    with session_factory() as session:
        quiet = person(session, "telegram:11", DONG_DANG)
        session.commit()
    approve(session_factory, DONG_DANG, text="Tin thường")
    night = datetime(2026, 12, 1, 22, 30, tzinfo=VIETNAM).astimezone(UTC)
    w = worker(session_factory, client, telegram_url=tg_url, rules=SendRules())
    w.now = lambda: night
    await w.pass_once()
    await w.drain()
    held = delivery_of(session_factory, quiet)
    assert held.status == PENDING and telegram.sent == []
    assert held.next_attempt_at == datetime(2026, 12, 2, 6, 0, tzinfo=VIETNAM)
    assert held.attempts == 0  # a hold is not an attempt

    approve(session_factory, DONG_DANG, text="Khẩn cấp", urgent=True)
    await w.pass_once()
    await w.drain()
    assert [m["text"] for m in telegram.sent] == ["Khẩn cấp"]  # urgent ignores quiet hours


async def test_the_daily_cap_holds_until_the_next_morning(session_factory, fakes, client) -> None:
    telegram, tg_url, _, _ = fakes
    with session_factory() as session:
        capped = person(session, "telegram:21", DONG_DANG)
        session.commit()
    noon = datetime(2026, 12, 1, 12, 0, tzinfo=VIETNAM).astimezone(UTC)
    clock = MovableClock(stopped_at=noon)
    rules = SendRules(daily_cap=2)
    w = worker(session_factory, client, telegram_url=tg_url, rules=rules, clock=clock)
    for i in range(3):
        approve(session_factory, DONG_DANG, text=f"Tin {i}")
    for _ in range(4):  # one per person per batch: the next one a second later
        await w.pass_once()
        await w.drain()
        clock.advance(1.1)
    assert sorted(m["text"] for m in telegram.sent) == ["Tin 0", "Tin 1"]
    with session_factory() as session:
        held = session.scalars(select(Delivery).where(Delivery.status == PENDING)).one()
        assert held.person_id == capped.person_id and held.attempts == 0
        assert held.next_attempt_at == datetime(2026, 12, 2, 6, 0, tzinfo=VIETNAM)
    approve(session_factory, DONG_DANG, text="Khẩn", urgent=True)
    await w.pass_once()
    await w.drain()
    assert telegram.sent[-1]["text"] == "Khẩn"  # urgent is not capped
    await settle(w, clock)  # the next morning it goes
    assert telegram.sent[-1]["text"] == "Tin 2"
    assert clock.now() >= datetime(2026, 12, 2, 6, 0, tzinfo=VIETNAM)


async def test_outside_zalos_window_another_channel_or_unreachable(
    session_factory, fakes, client
) -> None:
    telegram, tg_url, zalo, oa_url = fakes
    with session_factory() as session:
        stale = timedelta(days=10)
        both = person(session, "zalo_oa:500", DONG_DANG, wrote_ago=stale)
        other = person(session, "telegram:501", same_person_as=both, wrote_ago=timedelta(days=30))
        only_zalo = person(session, "zalo_oa:502", DONG_DANG, wrote_ago=stale)
        fresh = person(session, "zalo_oa:503", DONG_DANG, wrote_ago=timedelta(days=1))
        session.commit()
    approve(session_factory, DONG_DANG)
    await settle(worker(session_factory, client, telegram_url=tg_url, zalo_url=oa_url))
    moved = delivery_of(session_factory, both)
    assert (moved.status, moved.channel, moved.account_id) == (SENT, "telegram", other.id)
    assert [m["chat_id"] for m in telegram.sent] == [501]
    assert delivery_of(session_factory, only_zalo).status == UNREACHABLE
    assert [m["user_id"] for m in zalo.sent] == ["503"]
    assert delivery_of(session_factory, fresh).status == SENT


async def test_zalo_saying_outside_the_window_moves_to_the_other_channel(
    session_factory, fakes, client
) -> None:
    telegram, tg_url, zalo, oa_url = fakes
    with session_factory() as session:
        # Our log says they wrote yesterday; Zalo knows better (-230): no error loop.
        zalo_acc = person(session, "zalo_oa:600", DONG_DANG, wrote_ago=timedelta(days=1))
        person(session, "telegram:601", same_person_as=zalo_acc)
        session.commit()
    zalo.last_interaction["600"] = time.time() - 8 * 86400
    approve(session_factory, DONG_DANG)
    await settle(worker(session_factory, client, telegram_url=tg_url, zalo_url=oa_url))
    assert [m["chat_id"] for m in telegram.sent] == [601]
    assert zalo.sent == []
    with session_factory() as session:
        account = session.get(ChannelAccount, zalo_acc.id)
        assert account is not None and account.reachable is False


async def test_a_block_fails_the_delivery_and_ends_the_subscription(
    session_factory, fakes, client
) -> None:
    telegram, tg_url, _, _ = fakes
    with session_factory() as session:
        blocker = person(session, "telegram:701", DONG_DANG, LANG_SON)
        person(session, "telegram:702", DONG_DANG)
        session.commit()
    telegram.blocked.add(701)
    broadcast_id = approve(session_factory, DONG_DANG)
    await settle(worker(session_factory, client, telegram_url=tg_url))
    row = delivery_of(session_factory, blocker)
    assert row.status == FAILED and row.error and row.error.startswith("blocked")
    with session_factory() as session:
        ended = session.scalars(
            select(Subscription.end_reason).where(Subscription.person_id == blocker.person_id)
        ).all()
        assert ended == [BLOCKED, BLOCKED]
        account = session.get(ChannelAccount, blocker.id)
        assert account is not None and account.reachable is False
        broadcast = session.get(Broadcast, broadcast_id)
        assert broadcast is not None and broadcast.status == DONE
    assert [m["chat_id"] for m in telegram.sent] == [702]


async def test_429s_slow_the_channel_and_everyone_still_gets_one(
    session_factory, fakes, client
) -> None:
    telegram, tg_url, _, _ = fakes
    with session_factory() as session:
        for chat in range(800, 840):
            person(session, f"telegram:{chat}", DONG_DANG)
        session.commit()
    telegram.retry_after_seconds = 1
    telegram.fail_next(3, "429")
    approve(session_factory, DONG_DANG)
    started = time.monotonic()
    await settle(worker(session_factory, client, telegram_url=tg_url))
    assert Counter(m["chat_id"] for m in telegram.sent) == {c: 1 for c in range(800, 840)}
    assert statuses(session_factory) == {SENT: 40}
    assert time.monotonic() - started >= 1.0  # the pause was honoured
    with session_factory() as session:
        assert max(session.scalars(select(Delivery.attempts))) == 1  # a 429 is no attempt


async def test_5xx_is_retried_with_backoff_then_sent(session_factory, fakes, client) -> None:
    telegram, tg_url, _, _ = fakes
    with session_factory() as session:
        account = person(session, "telegram:901", DONG_DANG)
        session.commit()
    telegram.fail_next(2, "500")
    approve(session_factory, DONG_DANG)
    clock = MovableClock()
    await settle(worker(session_factory, client, telegram_url=tg_url, clock=clock), clock)
    row = delivery_of(session_factory, account)
    assert (row.status, row.attempts) == (SENT, 3)
    assert len(clock.moves) == 2 and clock.moves[1] > clock.moves[0]  # backing off
    assert [m["chat_id"] for m in telegram.sent] == [901]


async def test_a_permanent_failure_is_kept_with_its_reason(session_factory, fakes, client) -> None:
    telegram, tg_url, _, _ = fakes
    with session_factory() as session:
        account = person(session, "telegram:1001", DONG_DANG)
        session.commit()
    approve(session_factory, DONG_DANG, text="   ")  # Telegram: message text is empty
    await settle(worker(session_factory, client, telegram_url=tg_url))
    row = delivery_of(session_factory, account)
    assert row.status == FAILED and row.attempts == 1
    assert row.error and "text is empty" in row.error
    assert telegram.sent == []


async def test_cancelled_and_unsubscribed_are_skipped(session_factory, fakes, client) -> None:
    telegram, tg_url, _, _ = fakes
    with session_factory() as session:
        person(session, "telegram:1101", DONG_DANG)
        leaves = person(session, "telegram:1102", DONG_DANG)
        session.commit()
    first = approve(session_factory, DONG_DANG, text="Một")
    w = worker(session_factory, client, telegram_url=tg_url)
    w._materialize_one(datetime.now(UTC))  # the rows exist; nothing sent yet
    with session_factory() as session:
        unsubscribe(session=session, person_id=leaves.person_id, now=datetime.now(UTC))
        session.commit()
    await settle(w)
    assert [m["chat_id"] for m in telegram.sent] == [1101]
    assert delivery_of(session_factory, leaves).status == SKIPPED

    second = approve(session_factory, DONG_DANG, text="Hai")
    w._materialize_one(datetime.now(UTC))
    with session_factory() as session:
        row = session.get(Broadcast, second)
        assert row is not None
        row.status = CANCELLED  # the officer withdrew it after approval
        session.commit()
    await settle(w)
    with session_factory() as session:
        rows = session.scalars(select(Delivery).where(Delivery.broadcast_id == second)).all()
        assert {r.status for r in rows} == {SKIPPED}
        assert session.get(Broadcast, first).status == DONE  # type: ignore[union-attr]
    assert [m["text"] for m in telegram.sent] == ["Một"]


async def test_a_large_audience_starts_with_its_first_chunk_and_a_cancel_mid_way_ends_it(
    session_factory, fakes, client, monkeypatch
) -> None:
    telegram, tg_url, _, _ = fakes
    monkeypatch.setattr(delivery, "AUDIENCE_CHUNK", 2)
    with session_factory() as session:
        for chat in range(1201, 1206):
            person(session, f"telegram:{chat}", DONG_DANG)
        session.commit()
    broadcast_id = approve(session_factory, DONG_DANG, text="Năm người")
    w = worker(session_factory, client, telegram_url=tg_url)
    w._materialize_one(datetime.now(UTC))  # the first two rows; sending may start with them
    with session_factory() as session:
        assert len(session.scalars(select(Delivery)).all()) == 2
        row = session.get(Broadcast, broadcast_id)
        assert row is not None and row.audience_ready_at is None
        row.status = CANCELLED  # withdrawn while its rows were still being made
        session.commit()
    await settle(w)
    assert telegram.sent == []
    with session_factory() as session:
        assert set(session.scalars(select(Delivery.status))) == {SKIPPED}  # no more made
        assert session.get(Broadcast, broadcast_id).finished_at is not None  # type: ignore[union-attr]


async def test_a_dead_workers_sends_become_uncertain_a_live_ones_stay(
    session_factory, fakes, client
) -> None:
    telegram, tg_url, _, _ = fakes
    with session_factory() as session:
        dead = person(session, "telegram:1201", DONG_DANG)
        alive = person(session, "telegram:1202", DONG_DANG)
        session.commit()
    approve(session_factory, DONG_DANG)
    w = worker(session_factory, client, telegram_url=tg_url, lease=5)
    w._materialize_one(datetime.now(UTC))
    now = datetime.now(UTC)
    with session_factory() as session:
        session.add(
            AlertWorker(worker_id="dead", started_at=now, heartbeat_at=now - timedelta(seconds=6))
        )
        session.add(AlertWorker(worker_id="alive", started_at=now, heartbeat_at=now))
        for account, owner in ((dead, "dead"), (alive, "alive")):
            session.execute(
                update(Delivery)
                .where(Delivery.person_id == account.person_id)
                .values(status=SENDING, claimed_by=owner, claimed_at=now, attempts=1)
            )
        session.commit()
    await w.pass_once()
    await w.drain()
    assert delivery_of(session_factory, dead).status == UNCERTAIN
    assert delivery_of(session_factory, alive).status == SENDING  # its worker is still at it
    assert telegram.sent == []  # neither is ever sent again by another worker


async def test_the_worker_plans_the_cadences_digest_and_sends_it(
    session_factory, fakes, client
) -> None:
    telegram, tg_url, _, _ = fakes
    load_demo(session_factory)  # the province at situation 2: at least two messages a week
    with session_factory() as session:
        person(session, "telegram:7", LANG_SON)
        session.commit()
    await settle(worker(session_factory, client, telegram_url=tg_url))
    with session_factory() as session:
        digest = session.scalars(select(Broadcast).where(Broadcast.kind == DIGEST)).one()
    assert [(m["chat_id"], m["text"]) for m in telegram.sent] == [(7, digest.text)]
