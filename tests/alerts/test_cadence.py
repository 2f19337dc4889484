"""The cadence: digests where a weekly level's minimum would be missed — spaced evenly, once
per period however often (and from however many processes) planning runs — and the
plan-vs-actual numbers from the deliveries. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import audience, broadcasts, cadence
from bot.clock import VIETNAM
from bot.storage.alerts import APPROVED, DIGEST, FAILED, SENT, Broadcast, Delivery
from tests.alerts.rig import (
    HUU_LUNG,
    KY_LUA,
    LANG_SON,
    NOW,
    TAM_THANH,
    load_demo,
    officers,
    settings,
    subscribers,
)

DATABASES = ("sqlite", "postgresql")
# The demo at NOW (Tuesday 1/12/2026 10:00 in Viet Nam): the province at situation 2 (≥ 2 a
# week), Tam Thanh at 3 (real time), Hữu Lũng at 1 (≥ 1 a week).
MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=VIETNAM)  # the week's first period starts here


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    load_demo(session_factory)
    subscribers(session_factory, LANG_SON, 2)
    subscribers(session_factory, HUU_LUNG, 1)
    subscribers(session_factory, TAM_THANH, 1)
    return session_factory


def plan(db: sessionmaker[Session], at: datetime) -> list[str]:
    """Plan at ``at`` and commit; the area keys that got a digest."""
    with db.begin() as session:
        made = cadence.plan_digests(session=session, now=at)
        return [broadcasts.area_codes(b)[0].key for b in made]


def test_weekly_levels_get_a_digest_real_time_ones_do_not(db: sessionmaker[Session]) -> None:
    assert sorted(plan(db, NOW)) == ["c6385", "p20"]
    assert plan(db, NOW) == []  # planning again plans nothing
    with db() as session:
        digests = list(session.scalars(select(Broadcast).where(Broadcast.kind == DIGEST)))
    assert {(d.status, d.approved_by, d.created_by, d.urgent) for d in digests} == {
        (APPROVED, None, None, False)
    }
    province = next(d for d in digests if d.areas[0]["commune_code"] is None)
    text = province.text
    assert text.startswith("📢 Bản tin phòng, chống dịch – Tỉnh Lạng Sơn (01/12/2026)")
    assert "Cấp độ hiện nay: 2 – Có ca bệnh xâm nhập vào tỉnh" in text
    assert "Tổ dân phố 5" in text and "115" in text and "HỦY" in text
    assert (
        "cấp độ chuyển sang 3" not in text
    )  # Tam Thanh's change is the commune's, not the province's
    assert province.template.replace("{{", "{").replace("}}", "}") == text


SPACED = NOW + timedelta(days=3, hours=12)  # 3.5 days after the first digests (Tuesday 10:00)


@pytest.mark.parametrize(
    ("label", "at", "expected"),
    [
        ("same day", NOW + timedelta(hours=8), []),
        (
            "Thursday 20:00, the second period, but too soon",
            MONDAY + timedelta(days=3, hours=12),
            [],
        ),
        ("Friday 22:00: the province's second", SPACED, ["p20"]),
        ("next Monday 08:00: Hữu Lũng's week not yet past", MONDAY + timedelta(days=7), ["p20"]),
        ("next Tuesday 10:00: both", NOW + timedelta(days=7), ["c6385", "p20"]),
    ],
)
def test_digests_are_spread_evenly(
    db: sessionmaker[Session], label: str, at: datetime, expected: list[str]
) -> None:
    plan(db, NOW)
    assert sorted(plan(db, at)) == expected


def test_never_two_digests_within_one_spacing(db: sessionmaker[Session]) -> None:
    """A digest made late in a period (Thursday 10:00) holds the next one (due Thursday 20:00)
    until 3.5 days have passed."""
    late = MONDAY + timedelta(days=3, hours=2)
    assert sorted(plan(db, late)) == ["c6385", "p20"]
    assert plan(db, MONDAY + timedelta(days=3, hours=12)) == []
    assert plan(db, late + timedelta(days=3, hours=12)) == ["p20"]


def test_no_digest_where_an_announcement_already_went_or_nobody_listens(
    session_factory: sessionmaker[Session],
) -> None:
    db = session_factory
    load_demo(db)
    subscribers(db, KY_LUA, 1)  # inside the province; Hữu Lũng has nobody
    staff = officers(db)
    with db.begin() as session:
        draft = broadcasts.draft_one_off(
            session=session,
            officer=staff["lan"],
            areas=[LANG_SON],
            title="t",
            template="{khu_vuc}",
            urgent=False,
            now=NOW,
        )
    with db.begin() as session:
        broadcasts.approve(
            session=session,
            officer=staff["minh"],
            broadcast_id=draft.id,
            version=draft.version,
            now=NOW,
            cfg=settings(),
        )
    assert plan(db, NOW + timedelta(minutes=1)) == []
    assert plan(db, MONDAY + timedelta(days=3, hours=12)) == ["p20"]


def test_two_planners_at_once_plan_once(db: sessionmaker[Session]) -> None:
    barrier = threading.Barrier(2)
    made: list[list[str]] = []

    def planner() -> None:
        barrier.wait()
        made.append(plan(db, NOW))

    threads = [threading.Thread(target=planner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(made[0] + made[1]) == ["c6385", "p20"], made
    with db() as session:
        count = session.scalar(select(func.count()).where(Broadcast.kind == DIGEST))
    assert count == 2


def test_plan_vs_actual_counts_who_got_their_minimum(db: sessionmaker[Session]) -> None:
    staff = officers(db)
    plan(db, NOW)  # one digest each for the province and Hữu Lũng
    friday = NOW + timedelta(days=3, hours=12)  # Friday 22:00, in fact
    plan(db, friday)  # the province's second
    with db.begin() as session:
        draft = broadcasts.draft_one_off(
            session=session,
            officer=staff["lan"],
            areas=[TAM_THANH],
            title="t",
            template="{khu_vuc}",
            urgent=True,
            now=NOW,
        )
        broadcasts.approve(
            session=session,
            officer=staff["minh"],
            broadcast_id=draft.id,
            version=draft.version,
            now=NOW,
            cfg=settings(),
        )
    with db.begin() as session:
        by_area: dict[str, list[int]] = {}
        for b in session.scalars(select(Broadcast).order_by(Broadcast.id)):
            by_area.setdefault(broadcasts.area_codes(b)[0].key, []).append(b.id)
        for b_id in by_area["p20"] + by_area["c6385"] + by_area["c5986"]:
            broadcast = session.get(Broadcast, b_id)
            assert broadcast is not None
            audience.materialize(session=session, broadcast=broadcast, now=NOW)
        rows = list(
            session.scalars(select(Delivery).order_by(Delivery.broadcast_id, Delivery.person_id))
        )
        province = [r for r in rows if r.broadcast_id in by_area["p20"]]
        # Province digest 1 reached all four subscribers (the province's communes too);
        # digest 2 reached all but one province subscriber, who failed.
        _, second = by_area["p20"]
        failed_person = min(r.person_id for r in province if r.broadcast_id == second)
        for row in rows:
            row.status, row.sent_at = SENT, NOW + timedelta(hours=1)
            if row.broadcast_id == second and row.person_id == failed_person:
                row.status, row.sent_at = FAILED, None
            if row.broadcast_id in by_area["c6385"]:  # Hữu Lũng's digest: sent last week
                row.sent_at = MONDAY - timedelta(hours=1)
    with db() as session:
        weeks = {
            w.area.key: w
            for w in cadence.plan_vs_actual(
                session=session, week_start=MONDAY, now=friday + timedelta(hours=1)
            )
        }
    assert set(weeks) == {"p20", "c5986", "c6385"}
    province_week = weeks["p20"]
    assert (province_week.level, province_week.required, province_week.subscribers) == (2, 2, 4)
    assert (province_week.met, province_week.percent) == (3, 75.0)
    assert (weeks["c6385"].required, weeks["c6385"].subscribers, weeks["c6385"].met) == (1, 1, 1)
    # Hữu Lũng's own digest went out last week, but the province's two reached him this week.
    tam_thanh = weeks["c5986"]
    assert (tam_thanh.cadence, tam_thanh.required, tam_thanh.subscribers, tam_thanh.met) == (
        "realtime",
        3,
        1,
        1,
    )
