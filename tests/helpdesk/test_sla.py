"""The SLA's clocks on an injected ``now``: due times by urgency, overdue flags, clocks that stop
at closing and start again at reopening, and the overdue list for escalation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk import desk, sla
from bot.settings import Settings, load
from bot.storage.helpdesk import EMERGENCY, HIGH, IN_PROGRESS, NORMAL, RESOLVED, HelpRequest
from bot.storage.staff import OPERATOR, StaffUser
from tests.helpdesk.conftest import COMMUNE

DATABASES = ("sqlite", "postgresql")
AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
MIN, HOUR = timedelta(minutes=1), timedelta(hours=1)


def request(urgency: str = NORMAL, **fields: object) -> HelpRequest:
    return HelpRequest(code="HT-26-000001", urgency=urgency, created_at=AT, **fields)


DUE = [
    # (urgency, first answer due after, closing due after): the defaults chosen
    (EMERGENCY, 15 * MIN, 4 * HOUR),
    (HIGH, 1 * HOUR, 24 * HOUR),
    (NORMAL, 4 * HOUR, 72 * HOUR),
]


@pytest.mark.parametrize(("urgency", "first", "closing"), DUE)
def test_due_times_by_urgency(urgency: str, first: timedelta, closing: timedelta) -> None:
    clocks = sla.sla(request(urgency), AT)
    assert clocks.first_response_due == AT + first
    assert clocks.resolution_due == AT + closing
    just_before = sla.sla(request(urgency), AT + first)
    assert not just_before.first_response_overdue and just_before.state == sla.ON_TIME
    past = sla.sla(request(urgency), AT + first + MIN)
    assert past.first_response_overdue and past.state == sla.OVERDUE


def test_targets_come_from_the_settings() -> None:
    settings = load({"SLA_FIRST_RESPONSE_MINUTES_EMERGENCY": "5", "SLA_RESOLUTION_HOURS_HIGH": "8"})
    targets = sla.Targets.from_settings(settings)
    assert targets.first_response[EMERGENCY] == 5 * MIN
    assert targets.resolution[HIGH] == 8 * HOUR
    assert sla.Targets.from_settings(Settings()) == sla.DEFAULT
    late = sla.sla(request(EMERGENCY), AT + 6 * MIN, targets)
    assert late.first_response_overdue


def test_an_answer_stops_the_first_clock_only() -> None:
    answered = request(EMERGENCY, first_response_at=AT + 10 * MIN)
    clocks = sla.sla(answered, AT + 3 * HOUR)
    assert not clocks.first_response_overdue and not clocks.resolution_overdue
    later = sla.sla(answered, AT + 5 * HOUR)
    assert not later.first_response_overdue and later.resolution_overdue
    assert later.state == sla.OVERDUE


def test_closing_stops_both_clocks() -> None:
    in_time = request(EMERGENCY, first_response_at=AT + 5 * MIN, closed_at=AT + HOUR)
    for now in (AT + HOUR, AT + 100 * HOUR):  # time passing changes nothing once closed
        clocks = sla.sla(in_time, now)
        assert clocks.state == sla.MET and not clocks.resolution_overdue
    late = request(EMERGENCY, first_response_at=AT + 20 * MIN, closed_at=AT + HOUR)
    assert sla.sla(late, AT + 100 * HOUR).state == sla.MISSED
    unanswered = request(EMERGENCY, closed_at=AT + 10 * MIN)  # closed, never written to
    assert sla.sla(unanswered, AT + 100 * HOUR).state == sla.MET


def test_reopening_starts_the_clocks_again(
    new_staff: Callable[..., StaffUser],
    file_request: Callable[..., str],
    session_factory: sessionmaker[Session],
) -> None:
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    code = file_request(level=EMERGENCY, at=AT)
    reopened_at = AT + 30 * HOUR
    with session_factory() as session:
        desk.reply(session, an, code, "Đã nhận", now=AT + 5 * MIN)
        desk.set_status(session, an, code, RESOLVED, version=1, reason="xong", now=AT + HOUR)
        desk.set_status(session, an, code, IN_PROGRESS, version=2, now=reopened_at)
        row = desk.detail(session, an, code, now=reopened_at + 10 * MIN).request
    clocks = sla.sla(row, reopened_at + 10 * MIN)
    assert clocks.first_response_due == reopened_at + 15 * MIN
    assert clocks.resolution_due == reopened_at + 4 * HOUR
    assert clocks.state == sla.ON_TIME
    assert sla.sla(row, reopened_at + 16 * MIN).first_response_overdue


def test_overdue_lists_open_requests_past_a_target(
    new_staff: Callable[..., StaffUser],
    file_request: Callable[..., str],
    session_factory: sessionmaker[Session],
) -> None:
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    now = AT + 5 * HOUR
    unanswered = file_request(level=EMERGENCY, at=now - 20 * MIN)
    file_request(level=EMERGENCY, at=now - 10 * MIN)  # within 15 minutes
    answered_long_ago = file_request(level=EMERGENCY, at=AT)  # answered, not closed in 4 h
    file_request(level=NORMAL, at=now - 3 * HOUR)  # within 4 hours
    closed_late = file_request(level=HIGH, at=AT - 30 * HOUR)
    with session_factory() as session:
        desk.reply(session, an, answered_long_ago, "Đang xử lý", now=AT + 5 * MIN)
        desk.set_status(session, an, closed_late, RESOLVED, version=1, reason="x", now=now)
        found = sla.overdue(session, now)
    assert [(o.code, o.clock) for o in found] == [
        (answered_long_ago, sla.RESOLUTION),
        (unanswered, sla.FIRST_RESPONSE),
    ]
    assert found[1].due == now - 5 * MIN


def test_the_queue_row_carries_the_sla_state(
    new_staff: Callable[..., StaffUser],
    file_request: Callable[..., str],
    session_factory: sessionmaker[Session],
) -> None:
    boss = new_staff("boss", "supervisor")
    late = file_request(level=EMERGENCY, at=AT)
    fresh = file_request(level=NORMAL, at=AT)
    with session_factory() as session:
        rows = desk.queue(session, boss, now=AT + 20 * MIN).rows
    assert {r.code: r.sla.state for r in rows} == {late: sla.OVERDUE, fresh: sla.ON_TIME}
