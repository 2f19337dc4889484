"""Every mapped model, imported in one place for Alembic and the tests."""

from __future__ import annotations

from bot.storage.base import Base
from bot.storage.channel_tokens import ChannelToken
from bot.storage.content import (
    AreaLevel,
    Hotline,
    InfoItem,
    LockdownZone,
    SchemeGroup,
    Situation,
    Source,
    SupportGroup,
    SupportScheme,
)
from bot.storage.conversations import ChannelAccount, Message, Person

__all__ = [
    "AreaLevel",
    "Base",
    "ChannelAccount",
    "ChannelToken",
    "Hotline",
    "InfoItem",
    "LockdownZone",
    "Message",
    "Person",
    "SchemeGroup",
    "Situation",
    "Source",
    "SupportGroup",
    "SupportScheme",
]
