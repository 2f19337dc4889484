"""Migrations: an empty database upgrades to head, the models match it exactly, and every
migration can be undone and done again."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from bot.storage.engine import engine
from bot.storage.migrate import config, upgrade
from bot.storage.models import Base

DATABASES = ("sqlite", "postgresql")  # run every test on both


def test_upgrade_to_head_creates_the_schema(database_url: str) -> None:
    tables = set(inspect(engine(database_url)).get_table_names())
    assert {"people", "channel_accounts", "messages", "alembic_version"} <= tables


def test_autogenerate_finds_nothing_left(database_url: str) -> None:
    assert differences(database_url) == []


def test_down_to_base_and_up_to_head_again(database_url: str) -> None:
    cfg = config(database_url)
    revisions = [s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()]
    for revision in revisions[1:]:  # newest first: one step down at a time
        command.downgrade(cfg, revision)
        assert current(database_url) == revision
    command.downgrade(cfg, "base")
    engine(database_url).dispose()  # forget cached table metadata of the old connections
    assert set(inspect(engine(database_url)).get_table_names()) <= {"alembic_version"}
    assert current(database_url) is None

    upgrade(database_url)
    assert current(database_url) == revisions[0]
    assert set(Base.metadata.tables) <= set(inspect(engine(database_url)).get_table_names())
    assert differences(database_url) == []


def current(database_url: str) -> str | None:
    with engine(database_url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def differences(database_url: str) -> list[object]:
    with engine(database_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))
