"""What every fuzz example checks on the rig: row counts, complete rows, a quiet outbox, a
log without tracebacks."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.storage import conversations as log

FINAL_OUTBOUND = (log.SENT, log.FAILED, log.UNCERTAIN)


def counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """(inbound messages, channel accounts): only a webhook's own request adds to them."""
    with sessions() as s:
        inbound = s.scalar(
            select(func.count())
            .select_from(log.Message)
            .where(log.Message.direction == log.INBOUND)
        )
        accounts = s.scalar(select(func.count()).select_from(log.ChannelAccount))
    return int(inbound or 0), int(accounts or 0)


def newest_inbound_is_complete(sessions: sessionmaker[Session], channel: str) -> None:
    """The newest inbound row has everything the gateway and the desk read."""
    with sessions() as s:
        row = s.scalar(
            select(log.Message)
            .where(log.Message.direction == log.INBOUND)
            .order_by(log.Message.id.desc())
            .limit(1)
        )
        assert row is not None
        assert row.channel == channel and row.account.channel == channel
        assert isinstance(row.channel_message_id, str) and row.channel_message_id
        assert isinstance(row.account.external_id, str) and row.account.external_id
        assert isinstance(row.text, str)
        assert isinstance(row.data, dict) and isinstance(row.data.get("kind"), str)
        if row.data["kind"] != "event":
            assert isinstance(row.data.get("throttled"), bool)
            assert row.data.get("payload") is None or isinstance(row.data["payload"], str)


def settled(sessions: sessionmaker[Session]) -> bool:
    """Every inbound message answered or set aside, every reply sent or given up."""
    with sessions() as s:
        waiting = s.scalar(
            select(func.count())
            .select_from(log.Message)
            .where(log.Message.direction == log.INBOUND, log.Message.status.in_(log.WAITING))
        )
        unsent = s.scalar(
            select(func.count())
            .select_from(log.Message)
            .where(
                log.Message.direction == log.OUTBOUND,
                log.Message.status.not_in(FINAL_OUTBOUND),
            )
        )
    return waiting == 0 and unsent == 0


@contextmanager
def tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """Records with a traceback logged while the block runs, uvicorn's own included (its
    loggers do not propagate to the root, where caplog listens)."""
    server = logging.getLogger("uvicorn.error")
    server.addHandler(caplog.handler)
    found: list[logging.LogRecord] = []
    try:
        yield found
    finally:
        server.removeHandler(caplog.handler)
        found += [r for r in caplog.records if r.exc_info]
