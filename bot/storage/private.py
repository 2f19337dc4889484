"""Files only their owner may read: the databases, logs and keys under ``var/`` hold people's
messages, phone numbers and secrets (Decree 13/2023/NĐ-CP)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE, FILE_MODE = 0o700, 0o600
UMASK = 0o077  # for the processes Loa starts: whatever they create is owner-only
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """Create ``path`` owner-only, or make it so (it must be a directory of ours: var/)."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _tighten(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create an empty owner-only ``path`` unless it exists; tighten it when it does."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    _tighten(path, FILE_MODE)
    return path


def private_sqlite(path: Path) -> None:
    """The database file owner-only before SQLite opens it: SQLite gives its -wal and -shm
    files the database's mode. Files left open by an older version are tightened too."""
    if path.name in ("", ":memory:"):
        return
    if not path.parent.exists():
        path.parent.mkdir(mode=DIR_MODE, parents=True)
    private_file(path)
    for suffix in SQLITE_COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            _tighten(companion, FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    # Not ours (a shared directory, another user's file): nothing we may change.
    with contextlib.suppress(PermissionError, FileNotFoundError):
        if path.stat().st_mode & 0o777 & ~mode:
            path.chmod(mode)
