"""Zalo OA's reply window: free within 48 h of the person's last message, billed up to 7 days,
closed after (the broadcasts choose the message type by it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.zalo_oa.outbound import window


@pytest.mark.parametrize(
    ("ago", "state"),
    [
        (timedelta(hours=1), "free"),
        (timedelta(hours=47), "free"),
        (timedelta(days=3), "billed"),
        (timedelta(days=8), "closed"),
    ],
)
def test_zalo_window(ago: timedelta, state: str) -> None:
    now = datetime.now(UTC)
    assert window(now - ago, now) == state
    assert window(None, now) == "closed"
