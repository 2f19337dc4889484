"""Auto-assignment: the least loaded operator on shift of the commune first, never above
``max_open``, most urgent then oldest requests first, idempotent, and safe in two processes
at once. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk import autoassign, desk
from bot.helpdesk.autoassign import Assigned, auto_assign
from bot.storage.engine import engine
from bot.storage.helpdesk import EMERGENCY, NEW, NORMAL, HelpRequest
from bot.storage.staff import OPERATOR, AuditEntry, StaffUser
from tests.helpdesk.conftest import COMMUNE, OTHER_COMMUNE

DATABASES = ("sqlite", "postgresql")
AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NOW = AT + timedelta(hours=1)
Staff = Callable[..., StaffUser]
Filer = Callable[..., str]


def holders(factory: sessionmaker[Session]) -> dict[str, int | None]:
    with factory() as session:
        return dict(session.execute(select(HelpRequest.code, HelpRequest.assignee_id)).all())


def test_the_least_loaded_on_shift_first_and_only_of_the_commune(
    new_staff: Staff, file_request: Filer, session_factory: sessionmaker[Session]
) -> None:
    busy = new_staff("busy", OPERATOR, communes=[COMMUNE], on_shift=True)
    idle = new_staff("idle", OPERATOR, communes=[COMMUNE], on_shift=True)
    new_staff("off", OPERATOR, communes=[COMMUNE], on_shift=False)
    new_staff("gone", OPERATOR, communes=[COMMUNE], on_shift=True, active=False)
    new_staff("far", OPERATOR, communes=[OTHER_COMMUNE], on_shift=True)
    new_staff("boss", "supervisor", on_shift=True)
    held = [file_request(at=AT - timedelta(days=1, minutes=i)) for i in range(2)]
    with session_factory() as session:
        for code in held:
            desk.claim(session, busy, code, now=AT)
    normal_old = file_request(level=NORMAL, at=AT)
    normal_new = file_request(level=NORMAL, at=AT + timedelta(minutes=5))
    emergency = file_request(level=EMERGENCY, at=AT + timedelta(minutes=10))
    normal_last = file_request(level=NORMAL, at=AT + timedelta(minutes=15))
    with session_factory() as session:
        done = auto_assign(session, NOW)
    # Loads 2 (busy) and 0 (idle): idle takes two, then they alternate from the tie (by id).
    assert done.assigned == [
        (emergency, "idle"),
        (normal_old, "idle"),
        (normal_new, "busy"),
        (normal_last, "idle"),
    ]
    assert done.left == []
    assert holders(session_factory)[emergency] == idle.id
    with session_factory() as session:  # assigned, not started: the holder claims it
        row = session.scalar(select(HelpRequest).where(HelpRequest.code == emergency))
        assert row is not None and row.status == NEW


def test_never_above_max_open_and_the_rest_is_reported(
    new_staff: Staff, file_request: Filer, session_factory: sessionmaker[Session]
) -> None:
    new_staff("an", OPERATOR, communes=[COMMUNE], on_shift=True, max_open=2)
    codes = [file_request(at=AT + timedelta(minutes=i)) for i in range(3)]
    nobody_here = file_request(commune_code=OTHER_COMMUNE, at=AT + timedelta(minutes=10))
    with session_factory() as session:
        done = auto_assign(session, NOW)
        assert [c for c, _ in done.assigned] == codes[:2]
        assert done.left == [codes[2], nobody_here]
        again = auto_assign(session, NOW)  # idempotent: nothing more to give
    assert again == Assigned(assigned=[], left=[codes[2], nobody_here])


def test_a_closed_request_frees_a_place(
    new_staff: Staff, file_request: Filer, session_factory: sessionmaker[Session]
) -> None:
    an = new_staff("an", OPERATOR, communes=[COMMUNE], on_shift=True, max_open=1)
    first, second = file_request(at=AT), file_request(at=AT + timedelta(minutes=1))
    with session_factory() as session:
        assert auto_assign(session, NOW).left == [second]
        desk.set_status(session, an, first, "resolved", version=2, reason="xong", now=NOW)
        assert auto_assign(session, NOW).assigned == [(second, "an")]


def test_two_passes_at_once_assign_each_request_once_within_the_limits(
    new_staff: Staff, file_request: Filer, session_factory: sessionmaker[Session]
) -> None:
    a = new_staff("a", OPERATOR, communes=[COMMUNE], on_shift=True, max_open=3)
    b = new_staff("b", OPERATOR, communes=[COMMUNE], on_shift=True, max_open=3)
    codes = [file_request(at=AT + timedelta(seconds=i)) for i in range(10)]
    start = threading.Barrier(2, timeout=30)

    def one_pass() -> Assigned:
        with session_factory() as session:
            start.wait()  # both read the same loads and the same waiting requests
            return auto_assign(session, NOW)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: one_pass(), range(2)))
    given = [code for result in results for code, _ in result.assigned]
    assert len(given) == len(set(given)) == 6  # each once; 3 + 3 places
    held = Counter(holders(session_factory).values())
    assert held == {a.id: 3, b.id: 3, None: 4}
    with session_factory() as session:
        audited = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "auto_assign")
        )
    assert audited == 6
    assert set(given) <= set(codes)


@contextmanager
def meet_or_wait_behind_a_lock(url: str) -> Iterator[None]:
    """Hold each pass at its assignment (after it locked the operator's row) until the other
    pass is there too, or is waiting for a lock — the operator's row lock, if it works."""
    arrived, seen = [0], threading.local()
    guard = threading.Condition()
    probe = create_engine(url)

    def someone_waits_for_a_lock() -> bool:
        with probe.connect() as connection:
            query = text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return bool(connection.scalar(query))

    def hold(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith("UPDATE HELP_REQUESTS"):
            return
        if getattr(seen, "held", False):
            return
        seen.held = True
        with guard:
            arrived[0] += 1
            guard.notify_all()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with guard:
                if arrived[0] >= 2 or guard.wait_for(lambda: arrived[0] >= 2, timeout=0.05):
                    return
            if someone_waits_for_a_lock():
                return
        raise AssertionError("the other pass never came")

    event.listen(engine(url), "before_cursor_execute", hold)
    try:
        yield
    finally:
        event.remove(engine(url), "before_cursor_execute", hold)
        probe.dispose()


def test_the_operators_row_lock_keeps_parallel_passes_under_the_limit(
    database_url: str,
    database_kind: str,
    new_staff: Staff,
    file_request: Filer,
    session_factory: sessionmaker[Session],
) -> None:
    if database_kind != "postgresql":
        pytest.skip("SQLite runs one writer at a time: its passes cannot overlap")
    an = new_staff("an", OPERATOR, communes=[COMMUNE], on_shift=True, max_open=1)
    first, second = file_request(at=AT), file_request(at=AT + timedelta(minutes=1))
    start = threading.Barrier(2, timeout=30)

    def one_pass(code: str) -> Assigned:
        with session_factory() as session:
            start.wait()
            return _pass_for(session, code)

    with meet_or_wait_behind_a_lock(database_url), ThreadPoolExecutor(2) as pool:
        results = list(pool.map(one_pass, [first, second]))
    assert sum(len(r.assigned) for r in results) == 1
    assert Counter(holders(session_factory).values()) == {an.id: 1, None: 1}


def _pass_for(session: Session, code: str) -> Assigned:
    """A pass that looks only at ``code``, so two racing passes give different requests to one
    operator at the same moment (whole passes would collide on the same request first, which
    the request's own condition settles before the limit is ever tested)."""
    done = Assigned()
    operator = autoassign._on_shift(session)[0]
    session.rollback()
    request_id = session.scalar(select(HelpRequest.id).where(HelpRequest.code == code))
    session.rollback()
    assert request_id is not None
    if autoassign._give(session, request_id, code, operator, NOW):
        done.assigned.append((code, operator.username))
    return done
