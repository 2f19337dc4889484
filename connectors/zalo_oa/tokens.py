"""Zalo OA access tokens: refreshed before they expire; the single-use refresh token is saved
the moment it arrives.

Docs: developers.zalo.me — "Lấy Access Token từ Refresh Token": POST /v4/oa/access_token with
header secret_key, form app_id, grant_type=refresh_token, refresh_token. The access token lasts
25 h; each refresh token works once and lasts 3 months.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Protocol

import httpx

REFRESH_MARGIN = 3600  # seconds before expiry at which we refresh
DEFAULT_LIFETIME = 90_000  # seconds (25 h), when the answer does not say

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: float  # unix time


class TokenStore(Protocol):
    """Where tokens live between restarts; ``save`` must be durable when it returns."""

    def load(self) -> Tokens | None: ...

    def save(self, tokens: Tokens) -> None: ...


class TokenRefreshFailed(RuntimeError):
    """Zalo refused the refresh (wrong app secret, used or expired refresh token)."""


class ZaloTokens:
    """Hands out a valid access token, refreshing it once at a time."""

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        store: TokenStore,
        oauth_base_url: str,
        app_id: str,
        app_secret: str,
    ) -> None:
        self.client = client
        self.store = store
        self.url = oauth_base_url.rstrip("/") + "/v4/oa/access_token"
        self.app_id = app_id
        self.app_secret = app_secret
        self._lock = asyncio.Lock()

    async def access_token(self) -> str:
        """A token valid for at least a while; refreshes first when it is about to expire."""
        tokens = self._current()
        if tokens.expires_at - time.time() < REFRESH_MARGIN and tokens.refresh_token:
            tokens = await self.refresh(stale=tokens.access_token)
        return tokens.access_token

    async def refresh(self, *, stale: str) -> Tokens:
        """Exchange the refresh token, unless someone already replaced the ``stale`` token."""
        async with self._lock:
            tokens = self._current()
            if tokens.access_token != stale:
                return tokens  # refreshed while we waited for the lock
            response = await self.client.post(
                self.url,
                headers={"secret_key": self.app_secret},
                data={
                    "app_id": self.app_id,
                    "grant_type": "refresh_token",
                    "refresh_token": tokens.refresh_token,
                },
                timeout=30,
            )
            body = response.json()
            if not body.get("access_token") or not body.get("refresh_token"):
                logger.error("zalo token refresh refused: %s", body.get("error_name") or body)
                raise TokenRefreshFailed(str(body.get("error_name") or body.get("error")))
            fresh = Tokens(
                access_token=body["access_token"],
                refresh_token=body["refresh_token"],
                expires_at=time.time() + int(body.get("expires_in") or DEFAULT_LIFETIME),
            )
            # The old refresh token is spent: nothing may happen between here and the save.
            self.store.save(fresh)
            logger.info("zalo access token refreshed")
            return fresh

    def _current(self) -> Tokens:
        tokens = self.store.load()
        if tokens is None:
            raise TokenRefreshFailed("no Zalo OA tokens configured")
        return tokens
