"""Helpers for the help-request tests: channel accounts, and a request draft to file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk import requests
from bot.storage.conversations import ChannelAccount, account_for

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
