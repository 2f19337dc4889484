"""Shared fixtures: a migrated SQLite database per test, a fake Rasa over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.engine import sessions
from bot.storage.migrate import upgrade
from tests.fakes.rasa import FakeRasa
from tests.fakes.server import serve


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'loa.db'}"
    upgrade(url)
    return url


@pytest.fixture
def session_factory(database_url: str) -> sessionmaker[Session]:
    return sessions(database_url)


@pytest.fixture
def fake_rasa() -> Iterator[tuple[FakeRasa, str]]:
    fake = FakeRasa()
    with serve(fake.app()) as url:
        yield fake, url
