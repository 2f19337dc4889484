"""Pace sends to a channel's limits: so many per second overall, one per interval per chat."""

from __future__ import annotations

import asyncio
import time
from collections import deque


class RateLimiter:
    """``await acquire(chat)`` returns when a send to ``chat`` keeps within both limits.

    Overall: at most ``per_second`` sends in any sliding second. Per chat: sends at least
    ``chat_interval`` seconds apart, and not before a ``pause(chat, seconds)`` asked by the
    channel (429 retry_after) has passed.
    """

    def __init__(self, *, per_second: float, chat_interval: float) -> None:
        self.per_second = per_second
        self.chat_interval = chat_interval
        self._recent: deque[float] = deque()
        self._chat_next: dict[str, float] = {}
        self._global_lock = asyncio.Lock()

    def pause(self, chat: str, seconds: float) -> None:
        """Send nothing to ``chat`` for ``seconds`` (the channel's retry_after)."""
        until = time.monotonic() + seconds
        self._chat_next[chat] = max(self._chat_next.get(chat, 0.0), until)

    def ready_in(self, chat: str) -> float:
        """Seconds until ``chat`` may be sent to again (0 when it may now)."""
        return max(0.0, self._chat_next.get(chat, 0.0) - time.monotonic())

    async def acquire(self, chat: str) -> None:
        while (wait := self.ready_in(chat)) > 0:
            await asyncio.sleep(wait)
        self._chat_next[chat] = time.monotonic() + self.chat_interval
        async with self._global_lock:  # one waiter at a time keeps the window exact
            while True:
                now = time.monotonic()
                while self._recent and now - self._recent[0] >= 1.0:
                    self._recent.popleft()
                if len(self._recent) < self.per_second:
                    self._recent.append(now)
                    return
                await asyncio.sleep(1.0 - (now - self._recent[0]) + 0.001)
        if len(self._chat_next) > 100_000:  # forget chats idle for long
            now = time.monotonic()
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
