"""Subscriptions: one row per person and area, reopened on a new subscribe, ended with a
reason, and moved to the channel the person used last. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.subscriptions import AreaCode, active, end_for_account, subscribe, unsubscribe
from bot.storage.alerts import ASKED, BLOCKED, Subscription
from tests.alerts.rig import account

DATABASES = ("sqlite", "postgresql")

AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LANG_SON = AreaCode(20)
DONG_DANG = AreaCode(20, 6112)
KY_LUA = AreaCode(20, 6127)


def areas_of(session: Session, person_id: int) -> list[str]:
    return [row.area_key for row in active(session=session, person_id=person_id)]


def test_subscribing_twice_to_an_area_keeps_one_row(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        tg = account(session, "telegram:1")
        subscribe(session=session, account_id=tg.id, areas=[DONG_DANG, DONG_DANG], now=AT)
        subscribe(session=session, account_id=tg.id, areas=[DONG_DANG, LANG_SON], now=AT)
        session.commit()
        assert areas_of(session, tg.person_id) == ["c6112", "p20"]
        rows = session.scalar(select(func.count()).select_from(Subscription))
        assert rows == 2


def test_unsubscribing_keeps_the_history_and_a_new_subscribe_reopens_it(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        tg = account(session, "telegram:1")
        subscribe(session=session, account_id=tg.id, areas=[DONG_DANG, KY_LUA], now=AT)
        later = AT + timedelta(days=1)
        ended = unsubscribe(session=session, person_id=tg.person_id, areas=[KY_LUA], now=later)
        assert ended == 1
        assert areas_of(session, tg.person_id) == ["c6112"]
        row = session.scalar(select(Subscription).where(Subscription.area_key == "c6127"))
        assert row is not None and row.end_reason == ASKED and row.ended_at == later

        again = AT + timedelta(days=2)
        subscribe(session=session, account_id=tg.id, areas=[KY_LUA], now=again)
        session.commit()
        session.refresh(row)
        assert row.ended_at is None and row.consent_at == again and row.created_at == AT
        assert unsubscribe(session=session, person_id=tg.person_id, now=again) == 2
        assert areas_of(session, tg.person_id) == []


def test_a_block_ends_only_what_was_delivered_on_that_channel(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        tg = account(session, "telegram:1")
        zalo = account(session, "zalo_oa:9", person_of=tg)
        subscribe(session=session, account_id=tg.id, areas=[DONG_DANG], now=AT)
        subscribe(session=session, account_id=zalo.id, areas=[LANG_SON], now=AT)
        assert end_for_account(session=session, account_id=tg.id, reason=BLOCKED, now=AT) == 1
        assert areas_of(session, tg.person_id) == ["p20"]


def test_subscribing_again_from_another_channel_moves_the_area_there(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        tg = account(session, "telegram:1")
        zalo = account(session, "zalo_oa:9", person_of=tg)
        subscribe(session=session, account_id=tg.id, areas=[DONG_DANG], now=AT)
        (row,) = subscribe(session=session, account_id=zalo.id, areas=[DONG_DANG], now=AT)
        assert row.account_id == zalo.id


def test_unknown_reasons_and_accounts_are_refused(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        with pytest.raises(LookupError):
            subscribe(session=session, account_id=12345, areas=[DONG_DANG], now=AT)
        with pytest.raises(ValueError):
            unsubscribe(session=session, person_id=1, now=AT, reason="bored")
