"""The supervisors' reports from known requests: days counted in Viet Nam time, needs and
communes, median times, SLA outcomes and the export's lines. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk import stats
from bot.storage.conversations import account_for
from bot.storage.helpdesk import (
    EMERGENCY,
    HIGH,
    IN_PROGRESS,
    NEW,
    NORMAL,
    RESOLVED,
    HelpRequest,
    RequestNeed,
)

DATABASES = ("sqlite", "postgresql")
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # 17:00 in Viet Nam
X, Y = 6187, 5986  # two Lạng Sơn wards
TODAY, YESTERDAY = date(2026, 11, 30), date(2026, 11, 29)
MIN = timedelta(minutes=1)


def put(
    factory: sessionmaker[Session],
    n: int,
    created: datetime,
    *,
    commune: int = X,
    urgency: str = NORMAL,
    needs: tuple[str, ...] = ("food",),
    first: timedelta | None = None,
    closed: timedelta | None = None,
) -> None:
    """A request filed at ``created``, answered ``first`` and closed ``closed`` after it."""
    with factory.begin() as session:
        account = account_for(session=session, channel="telegram", external_id=str(n))
        session.flush()
        status = RESOLVED if closed else IN_PROGRESS if first else NEW
        row = HelpRequest(
            code=f"HT-26-{n:06d}",
            person_id=account.person_id,
            account_id=account.id,
            client_key=f"k{n}",
            province_code=20,
            commune_code=commune,
            urgency=urgency,
            status=status,
            status_reason="Đã hỗ trợ" if closed else None,
            created_at=created,
            updated_at=created,
            status_changed_at=created,
            first_response_at=created + first if first else None,
            closed_at=created + closed if closed else None,
        )
        row.need_rows = [
            RequestNeed(need=need, person_id=account.person_id, is_open=not closed)
            for need in needs
        ]
        session.add(row)


@pytest.fixture
def known(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """A: answered in 30 min, closed in 3 h (met). B: answered in 2 h, high (late).
    C: emergency, open an hour unanswered (late). D: open 30 min (pending). E: too old."""
    # 23:30 UTC on the 29th is 06:30 on the 30th in Viet Nam: A is today's.
    put(session_factory, 1, datetime(2026, 11, 29, 23, 30, tzinfo=UTC), first=30 * MIN,
        closed=180 * MIN)  # fmt: skip
    # 16:00 UTC on the 29th is 23:00 on the 29th in Viet Nam: B is yesterday's.
    put(session_factory, 2, datetime(2026, 11, 29, 16, 0, tzinfo=UTC), commune=Y, urgency=HIGH,
        needs=("food", "medicine"), first=120 * MIN, closed=300 * MIN)  # fmt: skip
    put(session_factory, 3, NOW - 60 * MIN, urgency=EMERGENCY, needs=("oxygen_transport",))
    put(session_factory, 4, NOW - 30 * MIN, commune=Y, needs=("medicine",))
    put(session_factory, 5, datetime(2026, 11, 10, 3, 0, tzinfo=UTC), first=MIN, closed=MIN)
    return session_factory


def window(days: int = 14) -> stats.Window:
    return stats.Window.last_days(days, NOW)


def test_the_window_is_made_of_viet_nam_days() -> None:
    span = window(14)
    assert (span.first, span.last, len(span.days)) == (date(2026, 11, 17), TODAY, 14)
    assert span.start == datetime(2026, 11, 16, 17, 0, tzinfo=UTC)  # 00:00 on the 17th, UTC+7


def test_requests_per_day_by_need_count_each_need(known: sessionmaker[Session]) -> None:
    with known() as session:
        series = stats.by_need(session, window())
    assert {k: n for k, n in series.counts.items() if n} == {
        (TODAY, "food"): 1,
        (TODAY, "oxygen_transport"): 1,
        (TODAY, "medicine"): 1,
        (YESTERDAY, "food"): 1,
        (YESTERDAY, "medicine"): 1,
    }
    assert series.total("food") == 2 and series.day_total(TODAY) == 3


def test_requests_per_day_by_commune_keep_the_busiest_and_group_the_rest(
    known: sessionmaker[Session],
) -> None:
    with known() as session:
        both = stats.by_commune(session, window())
        one = stats.by_commune(session, window(), top=1)
    assert both.keys == [Y, X]  # Y: B and D; X: A and C — a tie, the smaller code first
    assert (both.at(TODAY, X), both.at(TODAY, Y), both.at(YESTERDAY, Y)) == (2, 1, 1)
    assert one.keys == [Y, stats.OTHERS]
    assert (one.at(TODAY, stats.OTHERS), one.at(YESTERDAY, stats.OTHERS)) == (2, 0)


def test_median_minutes_to_the_first_answer_and_to_closing(known: sessionmaker[Session]) -> None:
    with known() as session:
        found = stats.medians(session, window())
    assert found[None] == stats.Medians(75.0, 2, 240.0, 2)  # A and B; E is outside
    assert found[NORMAL] == stats.Medians(30.0, 1, 180.0, 1)
    assert found[HIGH] == stats.Medians(120.0, 1, 300.0, 1)
    assert found[EMERGENCY] == stats.Medians(None, 0, None, 0)


def test_the_sla_share_counts_met_late_and_pending(known: sessionmaker[Session]) -> None:
    with known() as session:
        shares = stats.sla_shares(session, window(), NOW)
    assert shares[None] == stats.SlaShare(met=1, late=2, pending=1)
    assert shares[None].share == pytest.approx(1 / 3)
    assert shares[NORMAL] == stats.SlaShare(met=1, late=0, pending=1)
    assert shares[HIGH] == stats.SlaShare(met=0, late=1, pending=0)
    assert shares[EMERGENCY] == stats.SlaShare(met=0, late=1, pending=0)


def test_an_open_request_becomes_late_when_its_target_passes(
    known: sessionmaker[Session],
) -> None:
    later = NOW + timedelta(hours=4)  # D, normal, now 4.5 h without an answer (target 4 h)
    with known() as session:
        shares = stats.sla_shares(session, stats.Window.last_days(14, later), later)
    assert shares[NORMAL] == stats.SlaShare(met=1, late=1, pending=0)


def test_the_export_has_a_line_per_day_commune_and_urgency(known: sessionmaker[Session]) -> None:
    with known() as session:
        rows = stats.export_rows(session, window(), NOW)
    got = [
        (r.day, r.commune_code, r.urgency, r.requests, r.answered, r.closed, r.met, r.late)
        for r in rows
    ]
    assert got == [
        (YESTERDAY, Y, HIGH, 1, 1, 1, 0, 1),
        (TODAY, Y, NORMAL, 1, 0, 0, 0, 0),
        (TODAY, X, EMERGENCY, 1, 0, 0, 0, 1),
        (TODAY, X, NORMAL, 1, 1, 1, 1, 0),
    ]
    assert rows[0].needs == {
        "food": 1,
        "medicine": 1,
        "oxygen_transport": 0,
        "transport_home": 0,
        "money_work": 0,
        "other": 0,
    }


def test_an_empty_window_has_no_numbers(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        assert stats.by_need(session, window()).counts == {}
        assert stats.medians(session, window())[None] == stats.Medians(None, 0, None, 0)
        assert stats.sla_shares(session, window(), NOW)[None].share is None


def test_the_page_s_report_is_the_four_reports_at_once(known: sessionmaker[Session]) -> None:
    later = NOW + timedelta(hours=4)  # D late by then: the shares depend on ``now``
    with known() as session:
        span = stats.Window.last_days(14, later)
        at_once = stats.report(session, span, later, top=1)
        assert at_once == stats.Report(
            needs=stats.by_need(session, span),
            communes=stats.by_commune(session, span, top=1),
            medians=stats.medians(session, span),
            shares=stats.sla_shares(session, span, later),
        )
    assert at_once.communes.keys == [Y, stats.OTHERS]
    assert at_once.shares[NORMAL] == stats.SlaShare(met=1, late=1, pending=0)


def test_the_version_changes_when_a_request_is_filed_answered_closed_or_reopened(
    known: sessionmaker[Session],
) -> None:
    def version() -> tuple[int, ...]:
        with known() as session:
            return stats.version(session)

    seen = [version()]
    put(known, 6, NOW, commune=Y)
    seen.append(version())
    changes: list[dict[str, object]] = [
        {"first_response_at": NOW},  # as the desk's first reply sets it: no version bump
        {"closed_at": NOW, "version": HelpRequest.version + 1},
        {"closed_at": None, "first_response_at": None, "version": HelpRequest.version + 1},
        {"urgency": HIGH, "version": HelpRequest.version + 1},  # only the version tells
    ]
    for change in changes:
        with known.begin() as session:
            session.execute(
                update(HelpRequest).where(HelpRequest.code == "HT-26-000004").values(**change)
            )
        seen.append(version())
    assert len(set(seen)) == len(seen), seen
