"""What every `loa` command that works on the database does first."""

from __future__ import annotations

import logging

from bot import logs
from bot import settings as settings_module
from bot.storage.migrate import upgrade


def open_database() -> settings_module.Settings:
    """The settings, with logging set up before anything logs (warnings, redacted, to this
    stderr — not a handler an earlier command in the process left) and the database migrated."""
    cfg = settings_module.load()
    logs.configure(cfg, level=logging.WARNING)
    upgrade(cfg.database_url)
    return cfg
