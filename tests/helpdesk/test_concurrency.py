"""Confirmations racing each other: several threads file the same person's request for the same
need at once. Each thread is held at its first write until all have done their reads, so every
one of them has seen "no open request" — only the database's rules can keep the queue clean.
On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk import requests
from bot.helpdesk.urgency import Urgency
from bot.storage.conversations import ChannelAccount
from bot.storage.engine import engine
from bot.storage.helpdesk import IN_PROGRESS, NEW, NORMAL, HelpRequest

DATABASES = ("sqlite", "postgresql")
THREADS = 6
AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@contextmanager
def reads_before_writes(url: str, parties: int) -> Iterator[None]:
    """Hold each thread at its first write (taking a code) until all ``parties`` are there."""
    barrier, seen = threading.Barrier(parties, timeout=30), threading.local()

    def hold(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        first_write = statement.lstrip().upper().startswith("INSERT INTO HELP_REQUEST_COUNTERS")
        if first_write and not getattr(seen, "held", False):
            seen.held = True
            barrier.wait()

    event.listen(engine(url), "before_cursor_execute", hold)
    try:
        yield
    finally:
        event.remove(engine(url), "before_cursor_execute", hold)


def race(
    factory: sessionmaker[Session],
    url: str,
    account: ChannelAccount,
    request: requests.Draft,
    keys: list[str],
) -> list[requests.Filed]:
    def one(key: str) -> requests.Filed:
        with factory() as session:
            return requests.create(
                session=session,
                account_id=account.id,
                client_key=key,
                request=request,
                level=Urgency(NORMAL),
                at=AT,
            )

    with reads_before_writes(url, len(keys)), ThreadPoolExecutor(len(keys)) as pool:
        return list(pool.map(one, keys))


def open_requests(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        query = select(func.count()).where(HelpRequest.status.in_((NEW, IN_PROGRESS)))
        return session.scalar(query) or 0


def test_racing_forms_make_one_open_request_and_link_the_rest(
    database_url: str,
    session_factory: sessionmaker[Session],
    new_account: Callable[..., ChannelAccount],
    draft: Callable[..., requests.Draft],
) -> None:
    account = new_account("telegram:1")
    keys = [f"form-{n}" for n in range(THREADS)]
    filed = race(session_factory, database_url, account, draft(), keys)
    outcomes = sorted(f.outcome for f in filed)
    assert outcomes == [requests.FILED] + [requests.LINKED] * (THREADS - 1)
    assert len({f.request.code for f in filed}) == 1  # everyone is told the same code
    assert open_requests(session_factory) == 1
    with session_factory() as session:
        codes = sorted(session.scalars(select(HelpRequest.code)))
    assert codes == [f"HT-26-{n:06d}" for n in range(1, THREADS + 1)]  # no gap, no double


def test_the_same_confirmation_racing_itself_is_one_request(
    database_url: str,
    session_factory: sessionmaker[Session],
    new_account: Callable[..., ChannelAccount],
    draft: Callable[..., requests.Draft],
) -> None:
    account = new_account("telegram:1")
    filed = race(session_factory, database_url, account, draft(), ["tap"] * THREADS)
    assert sorted(f.outcome for f in filed) == [requests.FILED] + [requests.REPLAYED] * (
        THREADS - 1
    )
    with session_factory() as session:
        assert session.scalars(select(HelpRequest.code)).all() == ["HT-26-000001"]


def test_without_the_open_need_rule_the_same_race_makes_several_open_requests(
    database_url: str,
    session_factory: sessionmaker[Session],
    new_account: Callable[..., ChannelAccount],
    draft: Callable[..., requests.Draft],
) -> None:
    """The test above can fail: with the partial unique index dropped, the reads of ``create``
    alone let every racing thread file its own open request."""
    with engine(database_url).begin() as connection:
        connection.execute(text("DROP INDEX uq_help_request_needs_open"))
    account = new_account("telegram:1")
    keys = [f"form-{n}" for n in range(THREADS)]
    race(session_factory, database_url, account, draft(), keys)
    assert open_requests(session_factory) == THREADS
