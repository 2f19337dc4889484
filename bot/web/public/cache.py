"""A small in-process cache of rendered public pages, checked against the content's version.

Every request reads ``bot.content.portal.version`` (one cheap query) and serves the cached page
only when it was rendered at that same version and less than ``ttl`` seconds ago. The version
lives in the database, so a level set by ``loa level set`` or by the desk in another process
shows at the next request; the time-to-live bounds what the version cannot see (a text edited
in place, a level that starts at noon).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

TTL_SECONDS = 10.0
MAX_ENTRIES = 512  # ~100 communes, a few pages of announcements, their feeds


@dataclass(frozen=True)
class Page:
    """A rendered page: its body, type and an ETag for conditional requests."""

    body: bytes
    media_type: str
    etag: str
    version: str
    made_at: float


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class PageCache:
    """Pages by key (path and validated parameters), least recently used dropped first."""

    def __init__(
        self,
        ttl: float = TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.ttl, self.clock, self.max_entries = ttl, clock, max_entries
        self.pages: OrderedDict[str, Page] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str, version: str) -> Page | None:
        """The page for ``key`` if it was made at ``version`` within the time-to-live."""
        with self.lock:
            page = self.pages.get(key)
            if page is None or page.version != version or self.clock() - page.made_at > self.ttl:
                return None
            self.pages.move_to_end(key)
            return page

    def put(self, key: str, version: str, body: bytes, media_type: str) -> Page:
        page = Page(body, media_type, etag_of(body), version, self.clock())
        with self.lock:
            self.pages[key] = page
            self.pages.move_to_end(key)
            while len(self.pages) > self.max_entries:
                self.pages.popitem(last=False)
        return page

    def clear(self) -> None:
        with self.lock:
            self.pages.clear()
