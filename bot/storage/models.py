"""Every mapped model, imported in one place for Alembic and the tests."""

from __future__ import annotations

from bot.storage.alerts import Broadcast, Delivery, Subscription
from bot.storage.base import Base
from bot.storage.channel_tokens import ChannelToken
from bot.storage.content import (
    AreaLevel,
    BankEntry,
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
from bot.storage.delivery import AlertWorker, ChannelPace
from bot.storage.helpdesk import (
    HelpRequest,
    RequestAlert,
    RequestCounter,
    RequestEvent,
    RequestNeed,
)
from bot.storage.leases import ProcessLease
from bot.storage.questions import AskedQuestion
from bot.storage.reports import FalseInfoReport, ReportCounter
from bot.storage.schemes import DigestSlot, LevelHead, LevelScheme, SchemeLevel
from bot.storage.staff import AuditEntry, StaffArea, StaffSession, StaffUser

__all__ = [
    "AlertWorker",
    "AreaLevel",
    "AskedQuestion",
    "AuditEntry",
    "BankEntry",
    "Base",
    "Broadcast",
    "ChannelAccount",
    "ChannelPace",
    "ChannelToken",
    "Delivery",
    "DigestSlot",
    "FalseInfoReport",
    "HelpRequest",
    "Hotline",
    "InfoItem",
    "LevelHead",
    "LevelScheme",
    "LockdownZone",
    "Message",
    "Person",
    "ProcessLease",
    "ReportCounter",
    "RequestAlert",
    "RequestCounter",
    "RequestEvent",
    "RequestNeed",
    "SchemeGroup",
    "SchemeLevel",
    "Situation",
    "Source",
    "StaffArea",
    "StaffSession",
    "StaffUser",
    "Subscription",
    "SupportGroup",
    "SupportScheme",
]
