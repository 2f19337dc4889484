"""Personal data is erased after its retention period and when the person asks: requests keep
their statistics, unsent messages keep their text, Rasa's conversations go between turns. On
SQLite and PostgreSQL (Rasa's tracker store is its own SQLite file, as `make run` has it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.subscriptions import AreaCode, subscribe
from bot.helpdesk import requests, retention
from bot.helpdesk.urgency import Urgency
from bot.storage import questions
from bot.storage.alerts import FORGOTTEN, Subscription
from bot.storage.conversations import (
    ANSWERED,
    INBOUND,
    OUTBOUND,
    QUEUED,
    SENT,
    ChannelAccount,
    Message,
    Person,
)
from bot.storage.helpdesk import IN_PROGRESS, NORMAL, RESOLVED, HelpRequest, RequestEvent
from bot.storage.questions import UNKNOWN, AskedQuestion, record

DATABASES = ("sqlite", "postgresql")

Accounts = Callable[..., ChannelAccount]
Drafts = Callable[..., requests.Draft]
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def tracker(tmp_path: Path) -> sa.Engine:
    """A tracker store with Rasa's own ``events`` table (rasa.core.tracker_store)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'rasa-tracker.db'}")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL,"
                " type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255),"
                " action_name VARCHAR(255), data TEXT)"
            )
        )
    return engine


def add_event(tracker: sa.Engine, sender_id: str, at: datetime, text: str = "xin chào") -> None:
    with tracker.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO events (sender_id, type_name, timestamp, data)"
                " VALUES (:sender, 'user', :ts, :data)"
            ),
            {"sender": sender_id, "ts": at.timestamp(), "data": json.dumps({"text": text})},
        )


def events_of(tracker: sa.Engine) -> list[str]:
    with tracker.connect() as connection:
        rows = connection.execute(sa.text("SELECT sender_id FROM events ORDER BY id"))
        return [row[0] for row in rows]


def file(
    factory: sessionmaker[Session], account: ChannelAccount, draft: requests.Draft, key: str
) -> str:
    with factory() as session:
        filed = requests.create(
            session=session,
            account_id=account.id,
            client_key=key,
            request=draft,
            level=Urgency(NORMAL),
            at=NOW - timedelta(days=60),
        )
        return filed.request.code


def close(factory: sessionmaker[Session], code: str, at: datetime) -> None:
    with factory() as session:
        row = session.scalars(select(HelpRequest).where(HelpRequest.code == code)).one()
        requests.change_status(
            session=session, code=code, to=IN_PROGRESS, version=row.version, actor="op", at=at
        )
        row = session.scalars(select(HelpRequest).where(HelpRequest.code == code)).one()
        requests.change_status(
            session=session,
            code=code,
            to=RESOLVED,
            version=row.version,
            reason="Đã chuyển gạo",
            actor="op",
            at=at,
        )
        requests.record_message(session=session, code=code, text="Gọi 0912345678", actor="op")


def message(
    factory: sessionmaker[Session],
    account: ChannelAccount,
    text: str,
    at: datetime,
    *,
    status: str = ANSWERED,
    direction: str = INBOUND,
) -> int:
    with factory.begin() as session:
        row = Message(
            account_id=account.id,
            channel=account.channel,
            direction=direction,
            text=text,
            status=status,
            created_at=at,
        )
        session.add(row)
        session.flush()
        return row.id


def request_row(factory: sessionmaker[Session], code: str) -> HelpRequest:
    with factory() as session:
        return session.scalars(select(HelpRequest).where(HelpRequest.code == code)).one()


def test_closed_requests_lose_their_personal_fields_after_the_period_and_keep_the_rest(
    session_factory: sessionmaker[Session], new_account: Accounts, draft: Drafts
) -> None:
    account = new_account("telegram:1")
    old = file(session_factory, account, draft(needs=["food"]), "a")
    recent = file(session_factory, account, draft(needs=["medicine"]), "b")
    still_open = file(session_factory, account, draft(needs=["money_work"]), "c")
    close(session_factory, old, NOW - timedelta(days=31))
    close(session_factory, recent, NOW - timedelta(days=29))

    with session_factory.begin() as session:
        assert retention.erase_closed_requests(session=session, now=NOW, days=30) == 1
    with session_factory() as session:
        erased = session.scalars(select(HelpRequest).where(HelpRequest.code == old)).one()
        assert (erased.phone, erased.address_detail, erased.description) == (None, None, "")
        assert (erased.erased_at, erased.erased_by) == (NOW, retention.RETENTION)
        assert (erased.needs, erased.commune_code, erased.status) == (("food",), 26743, RESOLVED)
        texts = session.scalars(
            select(RequestEvent.text).where(
                RequestEvent.request_id == erased.id, RequestEvent.kind == "message"
            )
        )
        assert list(texts) == [""]
    for kept in (recent, still_open):
        assert request_row(session_factory, kept).phone == "0912345678"
    with session_factory.begin() as session:  # a second pass finds nothing more
        assert retention.erase_closed_requests(session=session, now=NOW, days=30) == 0


def test_old_message_texts_are_blanked_but_not_those_still_to_send(
    session_factory: sessionmaker[Session], new_account: Accounts
) -> None:
    account = new_account("zalo_oa:9")
    old = message(session_factory, account, "nhà tôi ở 12 Lê Lợi", NOW - timedelta(days=61))
    unsent = message(
        session_factory,
        account,
        "trả lời",
        NOW - timedelta(days=61),
        status=QUEUED,
        direction=OUTBOUND,
    )
    new = message(session_factory, account, "cảm ơn", NOW - timedelta(days=59), status=SENT)
    with session_factory.begin() as session:
        assert retention.expire_message_texts(session=session, now=NOW, days=60) == 1
    with session_factory() as session:
        texts = {row.id: (row.text, row.data) for row in session.scalars(select(Message))}
    assert texts[old] == ("", {"erased": "retention"})
    assert texts[unsent][0] == "trả lời"
    assert texts[new][0] == "cảm ơn"


def test_rasa_events_older_than_the_period_are_deleted(tracker: sa.Engine) -> None:
    add_event(tracker, "telegram:1", NOW - timedelta(days=61))
    add_event(tracker, "telegram:2", NOW - timedelta(days=1))
    assert retention.expire_tracker_events(tracker=tracker, now=NOW, days=60) == 1
    assert events_of(tracker) == ["telegram:2"]


def test_a_tracker_store_rasa_has_not_made_yet_is_left_alone(tmp_path: Path) -> None:
    assert retention.tracker_store(tmp_path / "absent.db") is None
    assert retention.expire_tracker_events(tracker=None, now=NOW, days=1) == 0
    assert not (tmp_path / "absent.db").exists()


def test_forget_me_erases_every_account_of_the_person_and_nobody_else(
    session_factory: sessionmaker[Session],
    new_account: Accounts,
    draft: Drafts,
    tracker: sa.Engine,
) -> None:
    telegram = new_account("telegram:7")
    web = new_account("webchat:abc", person_of=telegram)
    other = new_account("telegram:8")
    mine = file(session_factory, telegram, draft(), "a")
    theirs = file(session_factory, other, draft(), "b")
    message(session_factory, web, "số tôi 0912345678", NOW - timedelta(minutes=5))
    message(session_factory, other, "nhà tôi ở 5 Trần Phú", NOW - timedelta(minutes=5))
    for sender in ("telegram:7", "webchat:abc", "telegram:8"):
        add_event(tracker, sender, NOW - timedelta(minutes=5))

    with session_factory.begin() as session:
        erased = retention.ask_to_forget(session=session, person_id=telegram.person_id, now=NOW)
    assert (erased.requests, erased.messages) == (1, 1)
    assert request_row(session_factory, mine).erased_by == retention.FORGET_ME
    assert request_row(session_factory, mine).phone is None
    assert request_row(session_factory, theirs).phone == "0912345678"
    with session_factory() as session:
        texts = {row.account_id: row.text for row in session.scalars(select(Message))}
    assert texts == {web.id: "", other.id: "nhà tôi ở 5 Trần Phú"}

    # The confirmation was just sent: a turn may still be writing the tracker.
    message(session_factory, web, "Đã xóa", NOW, status=SENT, direction=OUTBOUND)
    with session_factory.begin() as session:
        assert retention.forget_conversations(session=session, tracker=tracker, now=NOW) == 0
    assert len(events_of(tracker)) == 3

    later = NOW + retention.QUIET
    with session_factory.begin() as session:
        assert retention.forget_conversations(session=session, tracker=tracker, now=later) == 1
    assert events_of(tracker) == ["telegram:8"]
    with session_factory() as session:
        person = session.get(Person, telegram.person_id)
        assert person is not None
        assert (person.forget_asked_at, person.forgotten_at) == (NOW, later)
        assert "Đã xóa" not in {row.text for row in session.scalars(select(Message))}
    with session_factory.begin() as session:  # done once
        assert retention.forget_conversations(session=session, tracker=tracker, now=later) == 0


def test_forget_me_ends_the_persons_subscriptions_and_nobody_elses(
    session_factory: sessionmaker[Session], new_account: Accounts
) -> None:
    telegram = new_account("telegram:7")
    zalo = new_account("zalo_oa:7", person_of=telegram)
    other = new_account("telegram:8")
    with session_factory.begin() as session:
        subscribe(session=session, account_id=telegram.id, areas=[AreaCode(20, 6112)], now=NOW)
        subscribe(session=session, account_id=zalo.id, areas=[AreaCode(20)], now=NOW)
        subscribe(session=session, account_id=other.id, areas=[AreaCode(20)], now=NOW)
    with session_factory.begin() as session:
        retention.ask_to_forget(session=session, person_id=telegram.person_id, now=NOW)
    with session_factory() as session:
        ended = {(row.person_id, row.end_reason) for row in session.scalars(select(Subscription))}
    assert ended == {(telegram.person_id, FORGOTTEN), (other.person_id, None)}


def test_forgetting_someone_unknown_erases_nothing(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        assert retention.ask_to_forget(session=session, person_id=999, now=NOW) == (
            retention.Erased()
        )


def test_unanswered_questions_go_after_their_period_even_when_nobody_asks_again(
    session_factory: sessionmaker[Session],
) -> None:
    """Recording a question drops the expired ones, but in the weeks after an epidemic nobody
    asks: the hourly pass deletes them too, and keeps the recent ones."""
    with session_factory.begin() as session:
        for days in (questions.KEEP_DAYS + 1, questions.KEEP_DAYS - 1, 0):
            at = NOW - timedelta(days=days)
            record(f"câu hỏi {days} ngày trước, gọi 0912345678", UNKNOWN, at=at, session=session)
    with session_factory.begin() as session:
        erased = retention.run_pass(
            session=session, tracker=None, now=NOW, request_days=30, message_days=30
        )
    assert erased.questions == 0  # the oldest was dropped as the next one was recorded
    later = NOW + timedelta(days=3)
    with session_factory.begin() as session:
        erased = retention.run_pass(
            session=session, tracker=None, now=later, request_days=30, message_days=30
        )
    with session_factory() as session:
        left = list(session.scalars(select(AskedQuestion.text)))
    assert erased.questions == 1
    assert left == ["câu hỏi 0 ngày trước, gọi [phone]"]
