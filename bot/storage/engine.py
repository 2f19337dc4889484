"""The engine and session factory, made once per database URL."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.private import private_sqlite


@cache
def engine(url: str) -> Engine:
    """The engine for ``url``; SQLite gets a WAL journal and foreign keys on."""
    if url.startswith("sqlite:///"):
        private_sqlite(Path(url.removeprefix("sqlite:///")))
        # Many short sessions at once (one per webhook, per reply, per send): a larger pool.
        eng = create_engine(url, connect_args={"timeout": 30}, pool_size=20, max_overflow=20)

        @event.listens_for(eng, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return eng
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@cache
def sessions(url: str) -> sessionmaker[Session]:
    """The session factory for ``url``; open sessions at the edge and pass them down."""
    return sessionmaker(engine(url), expire_on_commit=False)
