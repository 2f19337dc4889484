"""Time: now in UTC, Viet Nam's zone, and dates as people in Viet Nam read and write them.

Stored times are timezone-aware UTC; a person reads them in Asia/Ho_Chi_Minh. A day in a
content file or a sentence is a Viet Nam day: it starts at 00:00 there, and an end day is the
last day included (the item ends at midnight after it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    return datetime.now(UTC)


def start_of(value: date | datetime) -> datetime:
    """A day (00:00 in Viet Nam) or a time (Viet Nam's when naive) as an aware UTC time."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=VIETNAM)).astimezone(UTC)
    return datetime.combine(value, time(), VIETNAM).astimezone(UTC)


def end_of(value: date | datetime) -> datetime:
    """An end day is the last day included: the item ends at midnight after it."""
    if isinstance(value, datetime):
        return start_of(value)
    return start_of(value + timedelta(days=1))


def as_day(value: datetime | None, *, end: bool = False) -> date | datetime | None:
    """Back to a day when the time is midnight in Viet Nam (an end: the day before);
    otherwise the naive local time."""
    if value is None:
        return None
    local = value.astimezone(VIETNAM)
    if local.time() != time():
        return local.replace(tzinfo=None)
    return local.date() - timedelta(days=1) if end else local.date()


def day(value: datetime) -> str:
    """A date as people in Viet Nam write it: 22/11/2026 (with the time if it is not 00:00)."""
    local = value.astimezone(VIETNAM)
    if (local.hour, local.minute) == (0, 0):
        return f"{local.day:02d}/{local.month:02d}/{local.year}"
    return moment(value)


def last_day(value: datetime) -> str:
    """An exclusive end (midnight after the last day) as the last day included."""
    local = value.astimezone(VIETNAM)
    if (local.hour, local.minute) == (0, 0):
        return day(value - timedelta(days=1))
    return day(value)


def moment(value: datetime) -> str:
    """A time and date: 11:43 22/11/2026."""
    local = value.astimezone(VIETNAM)
    return f"{local.hour:02d}:{local.minute:02d} {local.day:02d}/{local.month:02d}/{local.year}"
