"""Pace sends to a channel's limits: so many per second overall, one per interval per chat."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress


class RateLimiter:
    """``async with slot(chat):`` around each send keeps within both limits.

    Overall: at most ``per_second`` sends in any one-second window *as the channel sees them*.
    A send may arrive at any moment between its start and its answer, so a send counts from
    its start until one second after its answer. Per chat: sends start at least
    ``chat_interval`` seconds apart, and not before a ``pause(chat, seconds)`` asked by the
    channel (429 retry_after) has passed. ``clock`` (monotonic seconds) lets tests move time.
    """

    def __init__(
        self,
        *,
        per_second: float,
        chat_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.chat_interval = chat_interval
        self.clock = clock
        self._in_flight = 0
        self._finished: deque[float] = deque()  # answer times within the last second
        self._chat_next: dict[str, float] = {}
        self._changed = asyncio.Condition()

    def pause(self, chat: str, seconds: float) -> None:
        """Send nothing to ``chat`` for ``seconds`` (the channel's retry_after)."""
        until = self.clock() + seconds
        self._chat_next[chat] = max(self._chat_next.get(chat, 0.0), until)

    def ready_in(self, chat: str) -> float:
        """Seconds until ``chat`` may be sent to again (0 when it may now)."""
        return max(0.0, self._chat_next.get(chat, 0.0) - self.clock())

    @asynccontextmanager
    async def slot(self, chat: str) -> AsyncIterator[None]:
        while (wait := self.ready_in(chat)) > 0:
            await asyncio.sleep(wait)
        self._chat_next[chat] = self.clock() + self.chat_interval
        async with self._changed:
            while (wait := self._wait_overall()) > 0:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), wait)
            self._in_flight += 1
        try:
            yield
        finally:
            async with self._changed:
                self._in_flight -= 1
                self._finished.append(self.clock())
                self._changed.notify_all()
            self._forget_idle_chats()

    def _wait_overall(self) -> float:
        """0 when one more send fits in the window, else how long until one may."""
        now = self.clock()
        while self._finished and now - self._finished[0] >= 1.0:
            self._finished.popleft()
        if self._in_flight + len(self._finished) < self.per_second:
            return 0.0
        if self._finished:
            return 1.0 - (now - self._finished[0]) + 0.001
        return 0.05  # all slots in flight: wait for an answer (notify) or re-check soon

    def _forget_idle_chats(self) -> None:
        if len(self._chat_next) > 100_000:
            now = self.clock()
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
