"""The gateway: stored once, answered in order, never lost when Rasa is down."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import wording
from bot.clock import utcnow
from bot.gateway import (
    MAX_ANSWER_ATTEMPTS,
    ORPHAN_AFTER,
    OUTAGE_AFTER,
    Gateway,
    merge_paragraphs,
)
from bot.rasa_client import RasaClient
from bot.storage import conversations as log
from bot.storage.leases import LEASE, Lease
from connectors.base import BUTTON, Button, IncomingMessage
from connectors.base import OutgoingMessage as M
from testkit.fakes.rasa import FakeRasa
from tests.two_processes import own_sessions, run_in_threads

DATABASES = ("sqlite", "postgresql")  # run every test on both


@pytest.fixture
async def gateway(
    session_factory: sessionmaker[Session], fake_rasa: tuple[FakeRasa, str]
) -> AsyncIterator[Gateway]:
    async with httpx.AsyncClient() as client:
        rasa = RasaClient(fake_rasa[1], client=client, timeout=5)
        yield Gateway(sessions=session_factory, rasa=rasa, max_nlu_chars=1000)


def msg(text: str, mid: str, sender: str = "u1", **kw: object) -> IncomingMessage:
    return IncomingMessage(channel="webchat", sender=sender, message_id=mid, text=text, **kw)  # type: ignore[arg-type]


def rows(session_factory: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with session_factory() as s:
        return [
            (m.direction, m.status, m.text)
            for m in s.scalars(select(log.Message).order_by(log.Message.id))
        ]


async def test_answers_and_logs_both_directions(
    gateway: Gateway, fake_rasa, session_factory
) -> None:
    replies = await gateway.handle(msg("xin chào", "m1"))
    assert [r.text for r in replies] == ["echo: xin chào"]
    assert fake_rasa[0].received == [{"sender": "webchat:u1", "message": "xin chào"}]
    assert rows(session_factory) == [
        ("in", "answered", "xin chào"),
        ("out", "sent", "echo: xin chào"),
    ]


async def test_button_sends_its_payload_and_logs_its_title(
    gateway, fake_rasa, session_factory
) -> None:
    await gateway.handle(msg("Số đường dây nóng", "m1", kind=BUTTON, payload="/ask_hotline"))
    assert fake_rasa[0].received[0]["message"] == "/ask_hotline"
    assert rows(session_factory)[0] == ("in", "answered", "Số đường dây nóng")


async def test_redelivery_is_answered_once(gateway: Gateway, fake_rasa, session_factory) -> None:
    first = await gateway.handle(msg("alo", "m1"))
    again = await gateway.handle(msg("alo", "m1"))
    assert [r.id for r in again] == [r.id for r in first]
    assert len(fake_rasa[0].received) == 1
    assert len(rows(session_factory)) == 2


async def test_concurrent_redeliveries_are_answered_once(
    gateway, fake_rasa, session_factory
) -> None:
    fake_rasa[0].delay = 0.2
    await asyncio.gather(*(gateway.handle(msg("alo", "m1")) for _ in range(5)))
    assert len(fake_rasa[0].received) == 1
    assert [r[0] for r in rows(session_factory)] == ["in", "out"]


@pytest.mark.parametrize(
    ("text", "notice"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("😷🙏", "no_words"),
        ("?!…", "no_words"),
        ("\x00\x01", "empty"),
    ],
)
async def test_nothing_to_understand_gets_a_polite_notice(
    gateway, fake_rasa, text: str, notice: str
) -> None:
    replies = await gateway.handle(msg(text, "m1"))
    assert [r.text for r in replies] == [wording.system(notice)]
    assert fake_rasa[0].received == []
    assert (await gateway.handle(msg("xin chào", "m2")))[0].text == "echo: xin chào"


async def test_control_characters_are_removed_before_nlu(gateway, fake_rasa) -> None:
    await gateway.handle(msg("tôi\x00 bị\x1b sốt\u200b", "m1"))
    assert fake_rasa[0].received[0]["message"] == "tôi bị sốt"


async def test_a_very_long_message_is_trimmed_with_a_notice(
    gateway, fake_rasa, session_factory
) -> None:
    replies = await gateway.handle(msg("cứu " * 2500, "m1"))  # 10,000 characters
    assert len(fake_rasa[0].received[0]["message"]) == 1000
    assert replies[0].text == wording.system("trimmed")
    with session_factory() as s:
        assert len(s.scalars(select(log.Message.text)).first() or "") == 10_000  # kept whole


@pytest.mark.parametrize("failure", ["error", "garbage"])
async def test_rasa_down_keeps_the_message_and_says_busy_once(
    gateway, fake_rasa, session_factory, failure
) -> None:
    fake, _ = fake_rasa
    fake.mode = failure
    first = await gateway.handle(msg("nhà tôi hết gạo", "m1"))
    second = await gateway.handle(msg("có ai không", "m2"))
    assert [r.text for r in first] == [wording.system("busy")]
    assert second == []  # the outage was announced already
    assert [r[:2] for r in rows(session_factory)] == [
        ("in", "pending"),
        ("out", "sent"),
        ("in", "received"),  # waits behind the pending one, so order is kept
    ]

    fake.mode = "ok"
    assert await gateway.retry_waiting() == 1  # one person, both messages
    assert [m["message"] for m in fake.received] == ["nhà tôi hết gạo", "có ai không"]
    assert [r[1] for r in rows(session_factory) if r[0] == "in"] == ["answered", "answered"]
    assert await gateway.retry_waiting() == 0  # nothing is answered twice


async def test_a_new_message_answers_older_pending_ones_first(gateway, fake_rasa) -> None:
    fake, _ = fake_rasa
    fake.mode = "error"
    await gateway.handle(msg("một", "m1"))
    fake.mode = "ok"
    replies = await gateway.handle(msg("hai", "m2"))
    assert [r.text for r in replies] == ["echo: một", "echo: hai"]


def notices_to(session_factory: sessionmaker[Session], sender: str) -> list[str | None]:
    """The system notices (or None for an answer) sent to one web chat sender, in order."""
    with session_factory() as s:
        account = log.find_account(session=s, channel="webchat", external_id=sender)
        assert account is not None
        rows = log.outbound_after(session=s, account_id=account.id, after_id=0)
        return [r.data.get("system") for r in rows]


async def test_an_outage_gives_up_on_nobody_and_a_pass_stops_early(
    gateway, fake_rasa, session_factory
) -> None:
    fake, _ = fake_rasa
    people = [f"u{i}" for i in range(OUTAGE_AFTER + 2)]
    fake.poison = {f"hỏi {p}" for p in people}  # every message fails: the assistant is down
    for p in people:
        await gateway.handle(msg(f"hỏi {p}", "m1", sender=p))
    calls = len(fake.poisoned)
    for _ in range(2 * MAX_ANSWER_ATTEMPTS):
        assert await gateway.retry_waiting() == 0
    # Each pass stopped after OUTAGE_AFTER people in a row failed, nobody answered.
    assert len(fake.poisoned) - calls == 2 * MAX_ANSWER_ATTEMPTS * OUTAGE_AFTER
    with session_factory() as s:
        inbound = s.scalars(select(log.Message).where(log.Message.direction == "in")).all()
        assert {(m.status, m.attempts) for m in inbound} == {("pending", 0)}
    assert all(notices_to(session_factory, p) == ["busy"] for p in people)


async def test_a_poisoned_message_is_given_up_while_others_are_answered(
    gateway, fake_rasa, session_factory
) -> None:
    fake, _ = fake_rasa
    fake.poison = {"tin độc", "tin độc nữa"}
    fake.mode = "error"  # an outage first: both people wait
    await gateway.handle(msg("tin độc", "p1", sender="poisoned"))
    await gateway.handle(msg("tin độc nữa", "p2", sender="poisoned"))
    await gateway.handle(msg("chào", "q1", sender="other"))
    fake.mode = "ok"
    assert await gateway.retry_waiting() == 1  # moved past the poisoned person
    assert [m["message"] for m in fake.received] == ["chào"]

    rounds = 0
    while log_status(session_factory, "poisoned") != ["failed", "failed"]:
        rounds += 1
        assert rounds <= 3 * MAX_ANSWER_ATTEMPTS, "the poisoned messages are retried forever"
        await gateway.handle(msg("alo", f"r{rounds}", sender=f"r{rounds}"))  # Rasa works
        await gateway.retry_waiting()
    tried = len(fake.poisoned)
    for _ in range(3):
        await gateway.retry_waiting()
    assert len(fake.poisoned) == tried  # given up: no longer retried

    assert notices_to(session_factory, "poisoned") == ["busy", "unanswered"]  # told once
    with session_factory() as s:  # what a desk lists for staff
        assert [m.text for m in log.unanswered(session=s)] == ["tin độc", "tin độc nữa"]
        assert {m.attempts for m in log.unanswered(session=s)} == {MAX_ANSWER_ATTEMPTS}
    replies = await gateway.handle(msg("xin chào", "p3", sender="poisoned"))
    assert [r.text for r in replies] == ["echo: xin chào"]


def log_status(session_factory: sessionmaker[Session], sender: str) -> list[str]:
    with session_factory() as s:
        account = log.find_account(session=s, channel="webchat", external_id=sender)
        assert account is not None
        query = select(log.Message.status).where(
            log.Message.account_id == account.id, log.Message.direction == "in"
        )
        return list(s.scalars(query.order_by(log.Message.id)))


async def test_one_persons_messages_are_answered_in_order(gateway, fake_rasa) -> None:
    fake, _ = fake_rasa
    fake.delay = 0.05
    texts = [f"tin {i}" for i in range(8)]
    await asyncio.gather(*(gateway.handle(msg(t, f"m{i}")) for i, t in enumerate(texts)))
    assert [m["message"] for m in fake.received] == texts
    assert fake.max_in_flight == 1


async def test_different_people_are_served_concurrently(gateway, fake_rasa) -> None:
    fake, _ = fake_rasa
    fake.delay = 0.2
    await asyncio.gather(*(gateway.handle(msg("alo", "m1", sender=f"u{i}")) for i in range(6)))
    assert fake.max_in_flight > 1


async def test_long_replies_are_split_at_the_channel_limit_with_buttons_last(
    session_factory, fake_rasa
) -> None:
    fake, url = fake_rasa
    fake.buttons = [{"title": "Số đường dây nóng", "payload": "/ask_hotline"}]
    fake.reply = "Một câu trả lời rất dài. " * 400  # 10,000 characters
    async with httpx.AsyncClient() as client:
        gw = Gateway(
            sessions=session_factory,
            rasa=RasaClient(url, client=client),
            text_limits={"telegram": 4096},
        )
        incoming = IncomingMessage(channel="telegram", sender="9", message_id="1", text="hỏi")
        account_id, _ = gw.accept(incoming)
        replies = await gw.answer_account(account_id)
    texts = [r.text for r in replies if not r.data.get("system")]
    assert len(texts) == 3 and all(len(t) <= 4096 for t in texts)
    assert [bool(r.data["buttons"]) for r in replies][-1] is True
    assert not any(r.data["buttons"] for r in replies[:-1])
    assert {r.status for r in replies} == {log.QUEUED}


B = (Button("Số đường dây nóng", "/ask_hotline"),)
MERGES = [
    ("paragraphs become one", [M("a"), M("b"), M("c")], [M("a\n\nb\n\nc")]),
    ("text joins the buttons after it", [M("chào"), M("chọn:", B)], [M("chào\n\nchọn:", B)]),
    ("text after buttons stays apart", [M("chọn:", B), M("sau")], [M("chọn:", B), M("sau")]),
    (
        "an image stays on its own",
        [M("a"), M("", image_url="u"), M("b")],
        [M("a"), M("", image_url="u"), M("b")],
    ),
    ("nothing", [], []),
]


@pytest.mark.parametrize(("label", "replies", "merged"), MERGES, ids=[m[0] for m in MERGES])
def test_merge_paragraphs(label: str, replies: list[M], merged: list[M]) -> None:
    assert merge_paragraphs(replies) == merged


@pytest.mark.parametrize(
    ("kind", "notice"), [("image", "image"), ("location", "location"), ("sticker", "no_words")]
)
async def test_pictures_places_and_stickers_get_their_own_answer(
    gateway, fake_rasa, kind, notice
) -> None:
    replies = await gateway.handle(msg("", "m1", kind=kind))
    assert [r.text for r in replies] == [wording.system(notice)]
    assert fake_rasa[0].received == []


async def test_a_picture_with_a_caption_is_read(gateway, fake_rasa) -> None:
    await gateway.handle(msg("con tôi bị phát ban thế này", "m1", kind="image"))
    assert fake_rasa[0].received[0]["message"] == "con tôi bị phát ban thế này"


def test_two_gateways_answer_one_persons_burst_in_order_and_once(
    database_url: str, fake_rasa
) -> None:
    """Two app processes on one database (each a gateway with a thread, event loop and engine
    of its own) take one person's burst, every other message each: the assistant hears each
    message once, in the order they were stored, one at a time."""
    fake, url = fake_rasa
    fake.delay = 0.05
    burst = [(i, f"tin {i}") for i in range(10)]
    barrier = threading.Barrier(2, timeout=20)

    def process(share: list[tuple[int, str]]) -> None:
        factory = own_sessions(database_url)

        async def run() -> None:
            async with httpx.AsyncClient() as client:
                rasa = RasaClient(url, client=client, timeout=10)
                gateway = Gateway(sessions=factory, rasa=rasa, max_nlu_chars=1000)
                barrier.wait()  # both ready: the burst arrives at both at once
                await asyncio.gather(*(gateway.handle(msg(t, f"m{i}")) for i, t in share))

        asyncio.run(run())
        factory.kw["bind"].dispose()

    run_in_threads(lambda: process(burst[0::2]), lambda: process(burst[1::2]))
    stored = [text for direction, _, text in rows_of(database_url) if direction == "in"]
    assert sorted(stored) == sorted(t for _, t in burst)
    assert [m["message"] for m in fake.received] == stored
    assert fake.max_in_flight == 1
    log_rows = rows_of(database_url)
    assert [r for r in log_rows if r[0] == "in"] == [("in", "answered", t) for t in stored]
    assert [r for r in log_rows if r[0] == "out"] == [("out", "sent", f"echo: {t}") for t in stored]


async def test_a_turn_a_dead_process_left_is_answered_again_a_live_ones_is_not(
    gateway: Gateway, fake_rasa, session_factory: sessionmaker[Session]
) -> None:
    """Retry passes run in every process: a message claimed by a process whose lease lapsed
    (it died mid-turn) is answered again; one a live process is answering is left to it, and
    the person's newer messages wait behind it."""
    fake, _ = fake_rasa
    live = Lease(sessions=session_factory)
    dead = Lease(sessions=session_factory, now=lambda: utcnow() - LEASE - timedelta(seconds=1))
    live.keep()
    dead.keep()
    for sender, owner in (("u1", live), ("u2", dead)):
        _, message_id = gateway.accept(msg(f"của {sender}", "m1", sender=sender))
        with session_factory() as s:
            message = s.get(log.Message, message_id)
            assert message is not None
            message.claimed_by = owner.id
            message.created_at = utcnow() - ORPHAN_AFTER - timedelta(seconds=1)
            s.commit()
    assert await gateway.retry_waiting() == 1
    assert [m["message"] for m in fake.received] == ["của u2"]
    assert await gateway.handle(msg("tin sau", "m2", sender="u1")) == []  # behind the live turn
    assert [m["message"] for m in fake.received] == ["của u2"]

    live.end()  # that process stopped: its turn is anyone's now
    assert await gateway.retry_waiting() == 1
    assert [m["message"] for m in fake.received] == ["của u2", "của u1", "tin sau"]


def rows_of(database_url: str) -> list[tuple[str, str, str]]:
    factory = own_sessions(database_url)
    try:
        return rows(factory)
    finally:
        factory.kw["bind"].dispose()
