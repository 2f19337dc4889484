"""The SQLite database and its directory are created owner-only, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.storage.engine import engine
from bot.storage.migrate import upgrade


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def loose_umask() -> Iterator[None]:
    """The usual 022, so files come out world-readable unless Loa says otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_upgrade_on_a_fresh_var_dir_makes_it_owner_only(tmp_path: Path) -> None:
    var = tmp_path / "var"
    url = f"sqlite:///{var / 'loa.db'}"
    upgrade(url)
    with engine(url).connect() as connection:  # WAL: the -wal and -shm files exist now
        connection.execute(text("SELECT 1"))
        files = sorted(var.iterdir())
        assert [f.name for f in files] == ["loa.db", "loa.db-shm", "loa.db-wal"]
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    assert mode(var) == 0o700


def test_a_database_left_readable_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "old" / "loa.db"
    db.parent.mkdir()
    db.touch(mode=0o644)
    upgrade(f"sqlite:///{db}")
    assert mode(db) == 0o600
