"""Alembic environment: the URL comes from bot.storage.migrate.config, the schema from models."""

from __future__ import annotations

from alembic import context

from bot.storage.engine import engine
from bot.storage.models import Base

url = context.config.attributes["database_url"]

with engine(url).connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
