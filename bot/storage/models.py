"""Every mapped model, imported in one place for Alembic and the tests."""

from __future__ import annotations

from bot.storage.base import Base
from bot.storage.channel_tokens import ChannelToken
from bot.storage.conversations import ChannelAccount, Message, Person

__all__ = ["Base", "ChannelAccount", "ChannelToken", "Message", "Person"]
