"""Quiet hours and the daily cap's day, in Viet Nam's local time: read from the settings, and
when a held delivery may go."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from bot.alerts.rules import SendRules
from bot.clock import VIETNAM
from bot.settings import SettingsError


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=VIETNAM).astimezone(UTC)


@pytest.mark.parametrize(
    ("label", "at", "until"),
    [
        ("evening, inside", local(1, 22, 30), local(2, 6)),
        ("after midnight, inside", local(2, 2), local(2, 6)),
        ("at the start", local(1, 21), local(2, 6)),
        ("at the end: outside", local(2, 6), None),
        ("daytime", local(1, 14), None),
        ("just before", local(1, 20, 59), None),
    ],
)
def test_quiet_hours_wrap_midnight(label: str, at: datetime, until: datetime | None) -> None:
    assert SendRules().quiet_until(at) == until, label


def test_quiet_hours_within_one_day_and_off() -> None:
    lunch = SendRules.parse("12:00-13:30", 3)
    assert lunch.quiet_until(local(1, 12, 15)) == local(1, 13, 30)
    assert lunch.quiet_until(local(1, 14)) is None
    assert SendRules.parse("off", 3).quiet_until(local(1, 23)) is None
    assert SendRules.parse("21:00-06:00", 3).quiet == (time(21), time(6))


@pytest.mark.parametrize("raw", ["21-06", "25:00-06:00", "21:00", "9pm-6am"])
def test_a_bad_quiet_hours_setting_names_its_variable(raw: str) -> None:
    with pytest.raises(SettingsError, match="ALERT_QUIET_HOURS"):
        SendRules.parse(raw, 3)


def test_the_cap_day_is_the_local_day_and_resumes_the_next_morning() -> None:
    rules = SendRules()
    # 23:30 UTC on 1 Dec is 06:30 on 2 Dec in Viet Nam: the cap's day is the 2nd.
    at = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert rules.day_start(at) == local(2, 0)
    assert rules.next_morning(at) == local(3, 6)
    assert SendRules(quiet=None).next_morning(at) == local(3, 0)
    with pytest.raises(SettingsError, match="ALERT_DAILY_CAP"):
        SendRules.parse("off", -1)
