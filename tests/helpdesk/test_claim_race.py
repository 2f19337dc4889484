"""Two operators claim one request at the same moment: two threads, two sessions, each held
just before its conditional UPDATE until both are there (both have read the request as free).
One wins; the other is told who. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk import desk
from bot.storage import conversations as log
from bot.storage.engine import engine
from bot.storage.helpdesk import IN_PROGRESS, STATUS, HelpRequest, RequestEvent
from bot.storage.staff import OPERATOR, StaffUser
from tests.helpdesk.conftest import COMMUNE

DATABASES = ("sqlite", "postgresql")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@contextmanager
def meet_before_claiming(url: str, parties: int) -> Iterator[threading.Barrier]:
    """Hold each thread at its first UPDATE of help_requests until all ``parties`` are there."""
    barrier, seen = threading.Barrier(parties, timeout=30), threading.local()

    def hold(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        claiming = statement.lstrip().upper().startswith("UPDATE HELP_REQUESTS")
        if claiming and not getattr(seen, "held", False):
            seen.held = True
            barrier.wait()

    event.listen(engine(url), "before_cursor_execute", hold)
    try:
        yield barrier
    finally:
        event.remove(engine(url), "before_cursor_execute", hold)


def test_two_claims_at_once_one_wins_the_other_is_told(
    database_url: str,
    new_staff: Callable[..., StaffUser],
    file_request: Callable[..., str],
    session_factory: sessionmaker[Session],
) -> None:
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    binh = new_staff("binh", OPERATOR, communes=[COMMUNE])
    code = file_request()

    def claim(user: StaffUser) -> str:
        with session_factory() as session:
            try:
                desk.claim(session, user, code, now=NOW)
                return "won"
            except desk.AlreadyClaimed as lost:
                return f"lost to {lost.by}"

    with meet_before_claiming(database_url, 2), ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(claim, [an, binh]))

    assert sorted(outcomes) in (["lost to Binh", "won"], ["lost to An", "won"])
    winner = an if outcomes[0] == "won" else binh
    with session_factory() as session:
        row = session.scalar(select(HelpRequest).where(HelpRequest.code == code))
        assert row is not None
        assert row.assignee_id == winner.id and row.status == IN_PROGRESS and row.version == 2
        starts = session.scalar(
            select(func.count()).select_from(RequestEvent).where(RequestEvent.kind == STATUS)
        )
        told = log.outbound_after(session=session, account_id=row.account_id, after_id=0)
    assert starts == 1 and len(told) == 1  # the person is told once
