"""Helpers for the alerts tests: the demo content, officers, subscribers, a fixed clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot import settings as settings_module
from bot.alerts.subscriptions import AreaCode, subscribe
from bot.content import files
from bot.helpdesk.staff import Staff
from bot.storage.conversations import ChannelAccount, account_for
from bot.storage.staff import COMMUNICATIONS, OPERATOR, StaffUser
from tests.desk_rig import add_staff

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 10:00 in Viet Nam, a Tuesday
LANG_SON = AreaCode(20)
KY_LUA = AreaCode(20, 6187)
TAM_THANH = AreaCode(20, 5986)
HUU_LUNG = AreaCode(20, 6385)
DONG_DANG = AreaCode(20, 6184)


def settings(**overrides: object) -> settings_module.Settings:
    return replace(settings_module.Settings(), **overrides)  # type: ignore[arg-type]


def load_demo(factory: sessionmaker[Session]) -> None:
    """The Lạng Sơn demo content (its levels, zones, hotlines and the seed plan's scheme)."""
    with factory.begin() as session:
        files.load(files.read_file(files.DEMO), session=session, prefer_province="Lạng Sơn")


def officers(factory: sessionmaker[Session]) -> dict[str, Staff]:
    """Two communications officers (four eyes) and an operator (no say in broadcasts)."""
    ids = {
        "lan": add_staff(factory, "lan", COMMUNICATIONS),
        "minh": add_staff(factory, "minh", COMMUNICATIONS),
        "op": add_staff(factory, "hoa", OPERATOR, [6187]),
    }
    with factory() as session:
        return {name: Staff.of(session.get(StaffUser, i)) for name, i in ids.items()}  # type: ignore[arg-type]


def subscribers(
    factory: sessionmaker[Session],
    area: AreaCode,
    count: int,
    *,
    channel: str = "telegram",
    start: int = 0,
    seen: datetime = NOW - timedelta(days=1),
) -> list[int]:
    """``count`` people subscribed to ``area`` on ``channel``; their person ids."""
    people: list[int] = []
    with factory.begin() as session:
        for n in range(start, start + count):
            account = account_for(session=session, channel=channel, external_id=f"{area.key}-{n}")
            account.last_inbound_at = seen
            subscribe(session=session, account_id=account.id, areas=[area], now=seen)
            people.append(account.person_id)
    return people


def account(
    session: Session,
    sender: str,
    person_of: ChannelAccount | None = None,
    seen: datetime | None = None,
) -> ChannelAccount:
    """The channel account ``channel:id`` (and its person, or ``person_of``'s), flushed;
    ``seen``: when they last wrote."""
    channel, _, external_id = sender.partition(":")
    row = account_for(session=session, channel=channel, external_id=external_id)
    if person_of is not None:
        row.person_id = person_of.person_id
    if seen is not None:
        row.last_inbound_at = seen
    session.flush()
    return row
