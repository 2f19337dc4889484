"""The audience of a broadcast: area nesting, one row per person, unsubscribed people left out,
unreachable people counted, and delivery rows made once however often they are made. On SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import audience
from bot.alerts.subscriptions import AreaCode, subscribe, unsubscribe
from bot.storage.alerts import DRAFT, ONE_OFF, PENDING, Broadcast, Delivery
from bot.storage.conversations import ChannelAccount
from tests.alerts.rig import account

DATABASES = ("sqlite", "postgresql")

AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WINDOWS = {"zalo_oa": timedelta(days=7)}
SEEN = AT - timedelta(days=1)  # everyone wrote the day before, unless a test says otherwise
LANG_SON = AreaCode(20)
DONG_DANG = AreaCode(20, 6112)
KY_LUA = AreaCode(20, 6127)
BEN_THANH = AreaCode(79, 26743)


def people(session: Session) -> dict[str, ChannelAccount]:
    """Six people: two in Đồng Đăng (one also subscribed to the province), one in Kỳ Lừa on
    Zalo OA last seen 10 days ago, one for the whole province, one in Ho Chi Minh City, one
    who left."""
    made = {
        "dong_dang": account(session, "telegram:1", seen=SEEN),
        "dong_dang_and_province": account(session, "telegram:2", seen=SEEN),
        "ky_lua_stale_zalo": account(session, "zalo_oa:3", seen=SEEN),
        "province": account(session, "zalo_bot:4", seen=SEEN),
        "elsewhere": account(session, "telegram:5", seen=SEEN),
        "left": account(session, "telegram:6", seen=SEEN),
    }
    made["ky_lua_stale_zalo"].last_inbound_at = AT - timedelta(days=10)
    for name, areas in {
        "dong_dang": [DONG_DANG],
        "dong_dang_and_province": [DONG_DANG, LANG_SON],
        "ky_lua_stale_zalo": [KY_LUA],
        "province": [LANG_SON],
        "elsewhere": [BEN_THANH],
        "left": [DONG_DANG],
    }.items():
        subscribe(session=session, account_id=made[name].id, areas=areas, now=AT)
    unsubscribe(session=session, person_id=made["left"].person_id, now=AT)
    session.flush()
    return made


def broadcast(session: Session, *areas: AreaCode) -> Broadcast:
    row = Broadcast(
        kind=ONE_OFF,
        status=DRAFT,
        areas=[{"province_code": a.province_code, "commune_code": a.commune_code} for a in areas],
        title="t",
        template="t",
        created_at=AT,
        updated_at=AT,
    )
    session.add(row)
    session.flush()
    return row


def test_a_province_reaches_its_communes_and_a_commune_only_itself(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        made = people(session)
        province = audience.count(session=session, areas=[LANG_SON], windows=WINDOWS, now=AT)
        assert province.total == 4
        assert province.per_channel == {"telegram": 2, "zalo_oa": 1, "zalo_bot": 1}
        assert province.per_commune == {6112: 2, 6127: 1, None: 2}
        assert province.unreachable == 1  # Kỳ Lừa: outside Zalo's 7-day window

        commune = audience.count(session=session, areas=[DONG_DANG], windows=WINDOWS, now=AT)
        assert commune.total == 2 and commune.unreachable == 0

        made["dong_dang"].reachable = False  # blocked the bot
        session.flush()
        commune = audience.count(session=session, areas=[DONG_DANG], windows=WINDOWS, now=AT)
        assert commune.unreachable == 1


def test_another_reachable_channel_makes_a_person_reachable(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        made = people(session)
        account(session, "telegram:30", person_of=made["ky_lua_stale_zalo"], seen=SEEN)
        counts = audience.count(session=session, areas=[KY_LUA], windows=WINDOWS, now=AT)
        assert counts.total == 1 and counts.unreachable == 0


def test_delivery_rows_are_made_once_per_person(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        made = people(session)
        row = broadcast(session, LANG_SON, DONG_DANG)
        assert audience.materialize(session=session, broadcast=row, now=AT) == 4
        assert audience.materialize(session=session, broadcast=row, now=AT) == 0
        session.commit()
        rows = session.scalars(select(Delivery).where(Delivery.broadcast_id == row.id)).all()
        assert {(d.person_id, d.status) for d in rows} == {
            (made[name].person_id, PENDING)
            for name in ("dong_dang", "dong_dang_and_province", "ky_lua_stale_zalo", "province")
        }
        assert {d.channel for d in rows} == {"telegram", "zalo_oa", "zalo_bot"}
        assert row.audience_ready_at == AT

        # Someone who subscribes later is added by the next pass, nobody else twice.
        late = account(session, "telegram:7", seen=SEEN)
        subscribe(session=session, account_id=late.id, areas=[KY_LUA], now=AT)
        assert audience.materialize(session=session, broadcast=row, now=AT) == 1
        session.commit()
        total = session.scalar(select(func.count()).select_from(Delivery))
        assert total == 5


def test_a_large_audience_is_made_a_chunk_at_a_time(session_factory: sessionmaker[Session]) -> None:
    """Rows in person order, ``chunk`` people a call; ready once a call finds fewer left."""
    with session_factory() as session:
        made = people(session)
        row = broadcast(session, LANG_SON, DONG_DANG)
        added = [audience.materialize(session=session, broadcast=row, now=AT, chunk=3)]
        assert row.audience_ready_at is None  # three made, maybe more to come
        added.append(audience.materialize(session=session, broadcast=row, now=AT, chunk=3))
        assert added == [3, 1] and row.audience_ready_at == AT
        session.commit()
        rows = session.scalars(select(Delivery.person_id).where(Delivery.broadcast_id == row.id))
        assert sorted(rows) == sorted(
            made[name].person_id
            for name in ("dong_dang", "dong_dang_and_province", "ky_lua_stale_zalo", "province")
        )


def test_no_area_means_nobody(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        people(session)
        assert audience.count(session=session, areas=[], windows=WINDOWS, now=AT).total == 0
        assert audience.materialize(session=session, broadcast=broadcast(session), now=AT) == 0
