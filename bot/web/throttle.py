"""Token-bucket throttles per key (a sender, a client address, the whole site), so one flood
does not slow anyone else.

Buckets expire one by one: a bucket idle long enough to be full again is the same as a new
one and is dropped; past ``max_keys`` the least recently used bucket goes first. A key that is
still flooding is never the least recently used, so it is never forgotten while it floods.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class Throttle:
    """Allow ``burst`` messages at once and ``per_minute`` on average, per key."""

    def __init__(
        self,
        *,
        burst: int = 8,
        per_minute: float = 30,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = max(1, burst)
        self.clock = clock  # seconds; tests pass a stopped clock
        self.rate = per_minute / 60.0
        self.max_keys = max_keys
        # Seconds after which an idle bucket is full again, i.e. the same as no bucket.
        self.idle_expiry = self.burst / self.rate if self.rate > 0 else float("inf")
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()  # least recently used first

    def __len__(self) -> int:
        return len(self._buckets)

    def allow(self, key: str, now: float | None = None) -> bool:
        """Take one token for ``key``; False when its bucket is empty."""
        now = self.clock() if now is None else now
        self._expire(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=self.burst, updated=now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def _expire(self, now: float, at_most: int = 8) -> None:
        """Drop a few of the oldest buckets that are full again (cheap, on every call)."""
        for _ in range(at_most):
            if not self._buckets:
                return
            key, oldest = next(iter(self._buckets.items()))
            if now - oldest.updated < self.idle_expiry:
                return
            del self._buckets[key]
