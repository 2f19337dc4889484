"""Helpers for the help-request tests: channel accounts, request drafts, filed requests, and
desk staff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk import requests
from bot.helpdesk.urgency import Urgency
from bot.storage.conversations import ChannelAccount, account_for
from bot.storage.staff import StaffArea, StaffUser

COMMUNE = 26743  # Phường Bến Thành, Thành phố Hồ Chí Minh


@pytest.fixture
def new_account(session_factory: sessionmaker[Session]) -> Callable[..., ChannelAccount]:
    """A channel account (and its person), committed; ``person_of`` joins an existing one."""

    def make(sender: str, person_of: ChannelAccount | None = None) -> ChannelAccount:
        channel, _, external_id = sender.partition(":")
        with session_factory() as session:
            account = account_for(session=session, channel=channel, external_id=external_id)
            if person_of is not None:
                account.person_id = person_of.person_id
            session.commit()
            return account

    return make


@pytest.fixture
def draft() -> Callable[..., requests.Draft]:
    """A valid request draft; keyword arguments change its fields."""

    def make(**changes: Any) -> requests.Draft:
        fields: dict[str, Any] = {
            "needs": ["food"],
            "description": "Cả nhà đang cách ly, hết gạo từ hôm qua.",
            "commune_code": COMMUNE,
            "address_detail": "12 Lê Lợi",
            "people_count": 4,
            "phone": "0912 345 678",
            "consent": True,
        }
        fields.update(changes)
        return requests.draft(**fields)

    return make


OTHER_COMMUNE = 26740  # Phường Sài Gòn, next to Bến Thành


@pytest.fixture
def new_staff(session_factory: sessionmaker[Session]) -> Callable[..., StaffUser]:
    """A committed desk user: ``new_staff("an", "operator", communes=[COMMUNE])``."""

    def make(
        username: str,
        role: str,
        *,
        communes: tuple[int, ...] | list[int] = (),
        on_shift: bool = False,
        max_open: int = 10,
        telegram_chat_id: str | None = None,
        active: bool = True,
    ) -> StaffUser:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        with session_factory() as session:
            user = StaffUser(
                username=username,
                display_name=username.capitalize(),
                role=role,
                password_hash="-",  # never signs in: the desk's functions take the user
                active=active,
                on_shift=on_shift,
                max_open=max_open,
                telegram_chat_id=telegram_chat_id,
                created_at=now,
                password_changed_at=now,
                area_rows=[StaffArea(commune_code=c) for c in communes],
            )
            session.add(user)
            session.commit()
            session.refresh(user, ["area_rows"])
            return user

    return make


@pytest.fixture
def file_request(
    session_factory: sessionmaker[Session],
    new_account: Callable[..., ChannelAccount],
    draft: Callable[..., requests.Draft],
) -> Callable[..., str]:
    """File a request from a new person; its code. ``sender`` picks the channel account,
    ``level`` the urgency, ``at`` the filing time, other keywords change the draft."""
    counter = iter(range(1, 1_000_000))

    def make(
        *,
        sender: str | None = None,
        level: str = "normal",
        at: datetime | None = None,
        **changes: Any,
    ) -> str:
        n = next(counter)
        account = new_account(sender or f"telegram:{9000 + n}")
        with session_factory() as session:
            filed = requests.create(
                session=session,
                account_id=account.id,
                client_key=f"form-{n}",
                request=draft(**changes),
                level=Urgency(level),
                at=at or datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
            )
            return filed.request.code

    return make
