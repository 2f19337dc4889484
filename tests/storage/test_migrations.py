"""Migrations: an empty database upgrades to head, and the models match it exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.storage.engine import engine
from bot.storage.models import Base

DATABASES = ("sqlite", "postgresql")  # run every test on both


def test_upgrade_to_head_creates_the_schema(database_url: str) -> None:
    tables = set(inspect(engine(database_url)).get_table_names())
    assert {"people", "channel_accounts", "messages", "alembic_version"} <= tables


def test_autogenerate_finds_nothing_left(database_url: str) -> None:
    with engine(database_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
