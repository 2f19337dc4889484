"""When a non-urgent announcement may go out: outside quiet hours, and under the daily cap.

Both are read in Viet Nam's local time (``bot.clock.VIETNAM``): quiet hours such as
"21:00-06:00" may wrap midnight; the cap counts non-urgent messages per person per local day.
A delivery that may not go now is held until the moment it may — never failed, never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.clock import VIETNAM
from bot.settings import Settings, SettingsError

_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _clock_time(hours: str, minutes: str, raw: str) -> time:
    h, m = int(hours), int(minutes)
    if h > 23 or m > 59:
        raise SettingsError(f"ALERT_QUIET_HOURS must look like 21:00-06:00, got {raw!r}")
    return time(h, m)


@dataclass(frozen=True)
class SendRules:
    """Quiet hours (``quiet`` None: none) and the daily cap (0: none) for non-urgent sends."""

    quiet: tuple[time, time] | None = (time(21, 0), time(6, 0))
    daily_cap: int = 3

    @classmethod
    def parse(cls, quiet_hours: str, daily_cap: int) -> SendRules:
        """From the settings' text, e.g. "21:00-06:00" ("off" for no quiet hours)."""
        if daily_cap < 0:
            raise SettingsError(f"ALERT_DAILY_CAP must be 0 or more, got {daily_cap}")
        if quiet_hours.strip().lower() in ("", "off", "none"):
            return cls(None, daily_cap)
        match = _SPAN.match(quiet_hours)
        if match is None:
            raise SettingsError(
                f"ALERT_QUIET_HOURS must look like 21:00-06:00, got {quiet_hours!r}"
            )
        start = _clock_time(match[1], match[2], quiet_hours)
        end = _clock_time(match[3], match[4], quiet_hours)
        return cls(None if start == end else (start, end), daily_cap)

    @classmethod
    def from_settings(cls, cfg: Settings) -> SendRules:
        return cls.parse(cfg.alert_quiet_hours, cfg.alert_daily_cap)

    def quiet_until(self, now: datetime) -> datetime | None:
        """When the quiet hours ``now`` falls in end (aware UTC); None outside them."""
        if self.quiet is None:
            return None
        start, end = self.quiet
        local = now.astimezone(VIETNAM)
        at = local.time()
        inside = start <= at < end if start < end else at >= start or at < end
        if not inside:
            return None
        ends = datetime.combine(local.date(), end, VIETNAM)
        if ends <= local:  # the span wraps midnight and we are before it
            ends = datetime.combine(local.date() + timedelta(days=1), end, VIETNAM)
        return ends.astimezone(now.tzinfo)

    def day_start(self, now: datetime) -> datetime:
        """Midnight of ``now``'s local day (the cap's day), as an aware UTC time."""
        local = now.astimezone(VIETNAM)
        return datetime.combine(local.date(), time(), VIETNAM).astimezone(now.tzinfo)

    def next_morning(self, now: datetime) -> datetime:
        """When a person at the cap may be written to again: the next local day, once its
        quiet hours are over."""
        local = now.astimezone(VIETNAM)
        morning = self.quiet[1] if self.quiet and self.quiet[1] < time(12) else time()
        return datetime.combine(local.date() + timedelta(days=1), morning, VIETNAM).astimezone(
            now.tzinfo
        )
