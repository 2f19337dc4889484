"""Telegram through python-telegram-bot: webhook verification and parsing, sending."""

import os

# Opt in to PTB's future behaviour (time periods as timedelta) and its warnings go away;
# connectors.telegram.outbound reads either type.
os.environ.setdefault("PTB_TIMEDELTA", "1")
