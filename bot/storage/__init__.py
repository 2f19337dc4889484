"""Storage: one SQLAlchemy 2 schema with Alembic migrations (SQLite by default, PostgreSQL)."""
