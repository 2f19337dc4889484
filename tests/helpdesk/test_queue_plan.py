"""The queue reads the open requests in index order: SQLite's plan for the page's query walks
the partial open-queue index (the province's, or the per-commune one for an operator) with no
sort of its own, given statistics. The timing at 100,000 requests is ``make bench-desk``'s
job; this keeps the plan from silently losing its index."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk import desk
from bot.storage.engine import engine
from bot.storage.staff import OPERATOR, SUPERVISOR, StaffUser
from tests.helpdesk.conftest import COMMUNE


@contextmanager
def statements(url: str) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine(url), "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(engine(url), "before_cursor_execute", keep)


@pytest.mark.parametrize(
    ("role", "index"),
    [
        (SUPERVISOR, "ix_help_requests_open_queue"),
        (OPERATOR, "ix_help_requests_open_commune_queue"),
    ],
)
def test_the_queue_page_walks_the_open_queue_index(
    database_url: str,
    new_staff: Callable[..., StaffUser],
    file_request: Callable[..., str],
    session_factory: sessionmaker[Session],
    role: str,
    index: str,
) -> None:
    user = new_staff("u", role, communes=[COMMUNE])
    for _ in range(3):
        file_request()
    with engine(database_url).connect() as connection:
        # SQLite picks the partial index from statistics; without any it guesses the status
        # index and sorts (a deployment must run ANALYZE or ``PRAGMA optimize``).
        connection.exec_driver_sql("ANALYZE")
    with session_factory() as session, statements(database_url) as seen:
        desk.queue(session, user)
    (page_query,) = [(s, p) for s, p in seen if "LIMIT" in s and "help_requests.code" in s]
    raw = engine(database_url).raw_connection()
    try:
        plan = [
            row[3]
            for row in raw.cursor().execute("EXPLAIN QUERY PLAN " + page_query[0], page_query[1])
        ]
    finally:
        raw.close()
    assert any(index in step for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan  # no sort: index order
