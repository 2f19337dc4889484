"""An operator of several communes: their queue is read commune by commune and merged, and
every page is exactly the slice of the whole queue a single sorted read would give — with
filters, on both databases. And SQLite reads each commune's queue in index order."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk import desk
from bot.storage.conversations import ChannelAccount, Person
from bot.storage.engine import engine
from bot.storage.helpdesk import (
    IN_PROGRESS,
    NEW,
    RESOLVED,
    URGENCIES,
    HelpRequest,
    RequestNeed,
)
from bot.storage.staff import OPERATOR, StaffUser
from tests.helpdesk.conftest import COMMUNE, OTHER_COMMUNE

DATABASES = ("sqlite", "postgresql")
THIRD = 26734  # Phường Tân Định, another Hồ Chí Minh City ward
AWAY = 26737  # not the operator's
AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ORDER = {u: i for i, u in enumerate(URGENCIES)}


def seed(factory: sessionmaker[Session], n: int) -> list[HelpRequest]:
    """``n`` requests spread over four communes, urgencies, needs, statuses and times."""
    rng = random.Random(3)
    made = []
    with factory.begin() as session:
        # Everyone is new: made at once (one flush), not looked up one by one, each lookup
        # flushing a session that grows with every request (seconds for a few hundred).
        accounts = [
            ChannelAccount(channel="telegram", external_id=f"m{i}", person=Person())
            for i in range(n)
        ]
        session.add_all(accounts)
        session.flush()
        for i, account in enumerate(accounts):
            status = rng.choice((NEW, NEW, IN_PROGRESS, RESOLVED))
            created = AT - timedelta(minutes=rng.randrange(0, 5000))
            row = HelpRequest(
                code=f"HT-26-{i + 1:06d}",
                person_id=account.person_id,
                account_id=account.id,
                client_key=f"m{i}",
                province_code=79,
                commune_code=rng.choice((COMMUNE, OTHER_COMMUNE, THIRD, AWAY)),
                urgency=rng.choice(URGENCIES),
                status=status,
                status_reason="Đã hỗ trợ" if status == RESOLVED else None,
                created_at=created,
                updated_at=created,
                status_changed_at=created,
            )
            row.need_rows = [
                RequestNeed(need=need, person_id=account.person_id, is_open=status != RESOLVED)
                for need in rng.sample(("food", "medicine", "other"), rng.choice((1, 2)))
            ]
            session.add(row)
            made.append(row)
    return made


def expected(rows: list[HelpRequest], keep: Callable[[HelpRequest], bool]) -> list[str]:
    chosen = [r for r in rows if keep(r)]
    chosen.sort(key=lambda r: (ORDER[r.urgency], r.created_at, r.id))
    return [r.code for r in chosen]


def test_every_page_of_a_several_commune_queue_is_the_sorted_slice(
    new_staff: Callable[..., StaffUser], session_factory: sessionmaker[Session]
) -> None:
    operator = new_staff("an", OPERATOR, communes=[COMMUNE, OTHER_COMMUNE, THIRD])
    rows = seed(session_factory, 400)
    mine = {COMMUNE, OTHER_COMMUNE, THIRD}
    cases = [
        (desk.QueueFilter(), lambda r: r.status in (NEW, IN_PROGRESS)),
        (
            desk.QueueFilter(need="medicine", urgency="high"),
            lambda r: (
                r.status in (NEW, IN_PROGRESS)
                and r.urgency == "high"
                and "medicine" in {n.need for n in r.need_rows}
            ),
        ),
        (desk.QueueFilter(statuses=(RESOLVED,)), lambda r: r.status == RESOLVED),
    ]
    for filters, keep in cases:
        want = expected(rows, lambda r, keep=keep: r.commune_code in mine and keep(r))
        got: list[str] = []
        with session_factory() as session:
            first = desk.queue(session, operator, filters, now=AT)
            for page in range(1, first.pages + 1):
                got += [r.code for r in desk.queue(session, operator, filters, page, AT).rows]
        assert first.total == len(want)
        assert got == want, filters
    assert len(expected(rows, lambda r: r.commune_code in mine and r.status == NEW)) > 60


def test_sqlite_reads_each_commune_queue_in_index_order(
    database_url: str,
    new_staff: Callable[..., StaffUser],
    session_factory: sessionmaker[Session],
) -> None:
    if not database_url.startswith("sqlite"):
        return  # PostgreSQL's planner is checked by the numbers of make bench-desk
    operator = new_staff("an", OPERATOR, communes=[COMMUNE, OTHER_COMMUNE, THIRD])
    seed(session_factory, 200)
    with engine(database_url).connect() as connection:
        connection.exec_driver_sql("ANALYZE")
    seen: list[tuple[str, object]] = []

    def keep(_c: object, _cur: object, statement: str, parameters: object, *_a: object) -> None:
        seen.append((statement, parameters))

    event.listen(engine(database_url), "before_cursor_execute", keep)
    try:
        with session_factory() as session:
            desk.queue(session, operator, now=AT)
    finally:
        event.remove(engine(database_url), "before_cursor_execute", keep)
    (statement, parameters) = next((s, p) for s, p in seen if "UNION ALL" in s)
    raw = engine(database_url).raw_connection()
    try:
        plan = [r[3] for r in raw.cursor().execute("EXPLAIN QUERY PLAN " + statement, parameters)]
    finally:
        raw.close()
    walks = [step for step in plan if "ix_help_requests_open_commune_queue" in step]
    assert len(walks) == 3, plan  # one ordered walk per commune, none sorted on its own
