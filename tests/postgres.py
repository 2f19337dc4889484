"""The throw-away PostgreSQL server the tests use; it lives in ``testkit.postgres`` so the
desk's benchmark (which may not import tests/) starts one the same way."""

from __future__ import annotations

from testkit.postgres import binaries, database, disconnect_all, server

__all__ = ["binaries", "database", "disconnect_all", "server"]
