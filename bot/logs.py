"""Logging for Loa's processes: one line per record on stderr, with no token, webhook secret or
phone number in it, at any level (Decree 13/2023/NĐ-CP; a leaked bot token lets anyone speak
as the province).

Two guards: the libraries that print secrets or people's messages are kept at WARNING, and a
filter on the handler masks the secrets of the settings, any ``/bot<token>`` in a URL and
anything that looks like a Vietnamese phone number, in messages and tracebacks alike.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable
from typing import TextIO
from urllib.parse import urlsplit

from bot.settings import Settings
from bot.text import mask_phones

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET = {
    "httpx": logging.WARNING,  # INFO: every request URL (Telegram's and Zalo Bot's hold the token)
    "httpcore": logging.WARNING,  # DEBUG: connection details
    "telegram": logging.WARNING,  # DEBUG: the token in the API URL, every message's text
    "sqlalchemy.engine": logging.WARNING,  # INFO: SQL with its values (messages, phone numbers)
    "uvicorn.access": logging.WARNING,  # client addresses and query strings
}
SECRET_SETTINGS = (
    "telegram_bot_token",
    "telegram_webhook_secret",
    "zalo_oa_app_secret",
    "zalo_oa_secret_key",
    "zalo_oa_access_token",
    "zalo_oa_refresh_token",
    "zalo_bot_token",
    "zalo_bot_webhook_secret",
    "webchat_secret",
    "rasa_token",
)
MIN_SECRET_LENGTH = 8  # shorter values would mask ordinary words (and are no secret anyway)
BOT_URL = re.compile(r"/bot[^/\s'\"]+")  # Telegram and Zalo Bot: https://host/bot<token>/method
SECRET_MASK = "[secret]"


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in ``settings``, the database password included."""
    found = [str(getattr(settings, name)) for name in SECRET_SETTINGS]
    # Not a URL we can split: it holds no password we could find either.
    with contextlib.suppress(ValueError):
        found.append(urlsplit(settings.database_url).password or "")
    return [value for value in found if len(value) >= MIN_SECRET_LENGTH]


class Redact(logging.Filter):
    """Masks ``secrets``, bot tokens in URLs and phone numbers in every record it passes."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret containing another is masked whole.
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, SECRET_MASK)
        text = BOT_URL.sub(f"/bot{SECRET_MASK}", text)
        return mask_phones(text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def quiet_libraries() -> None:
    """Keep the libraries that log secrets or messages at WARNING, whatever the root level."""
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(level)


def configure(settings: Settings, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Set up the process's logging: one handler (stderr, or ``stream``) with the ``Redact``
    filter, the libraries quiet."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(Redact(secrets_of(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_libraries()
