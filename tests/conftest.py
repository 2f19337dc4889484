"""Shared fixtures: a migrated database per test (SQLite; PostgreSQL too where a module asks),
a fake Rasa over real HTTP.

A test module that sets ``DATABASES = ("sqlite", "postgresql")`` runs each test on both. The
PostgreSQL server is a throw-away one for the session; TEST_POSTGRES=0 skips those runs.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import fields
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot import settings as settings_module
from bot.storage.engine import sessions
from bot.storage.migrate import upgrade
from testkit.fakes.rasa import FakeRasa
from testkit.fakes.server import serve
from tests import postgres


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    kinds = getattr(metafunc.module, "DATABASES", ("sqlite",))
    if "database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_kind", kinds, indirect=True, scope="function")


@pytest.fixture
def database_kind(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    if os.environ.get("TEST_POSTGRES") == "0":
        pytest.skip("TEST_POSTGRES=0: the PostgreSQL runs are skipped")
    with postgres.server() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_migrated(postgres_server: str) -> Iterator[str]:
    """The name of a database the migrations brought to head, once: each test gets a copy."""
    with postgres.database(postgres_server) as url:
        upgrade(url)
        name = url.rsplit("/", 1)[1]
        postgres.disconnect_all(postgres_server, name)
        yield name


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite database with SQLite's backup API (the file alone may miss its WAL)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


@pytest.fixture(scope="session")
def sqlite_migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file the migrations brought to head, once: each test gets a copy (a copy takes
    milliseconds, running the migrations about a second)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "loa.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(
    database_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    if database_kind == "postgresql":
        server = request.getfixturevalue("postgres_server")
        template = request.getfixturevalue("postgres_migrated")
        with postgres.database(server, template=template) as url:
            yield url
        return
    path = tmp_path / "loa.db"
    copy_sqlite(request.getfixturevalue("sqlite_migrated"), path)
    yield f"sqlite:///{path}"


@pytest.fixture
def session_factory(database_url: str) -> sessionmaker[Session]:
    return sessions(database_url)


@pytest.fixture
def fake_rasa() -> Iterator[tuple[FakeRasa, str]]:
    fake = FakeRasa()
    with serve(fake.app()) as url:
        yield fake, url


@pytest.fixture
def clean_settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An environment of defaults for ``bot.settings.load`` (not this shell's settings), with
    ``LOA_VAR_DIR`` under ``tmp_path``: for the ``loa`` command called in-process."""
    for spec in fields(settings_module.Settings):
        if name := spec.metadata.get("env"):
            monkeypatch.delenv(name, raising=False)
    var = tmp_path / "var"
    monkeypatch.setenv("LOA_VAR_DIR", str(var))
    return var
