"""Zalo OA access tokens: refreshed before they expire; the single-use refresh token is saved
the moment it arrives.

Docs: developers.zalo.me — "Lấy Access Token từ Refresh Token": POST /v4/oa/access_token with
header secret_key, form app_id, grant_type=refresh_token, refresh_token. The access token lasts
25 h; each refresh token works once and lasts 3 months.

Once Zalo answers with a new pair, the old refresh token is spent: nothing that can fail runs
between that answer and the save (``expires_in`` is read defensively). If the save itself
fails, the pair is kept in memory, so this process goes on working, and saved again at the next
use. An answer without a pair (refused, 5xx, not JSON, no answer) leaves the stored pair as it
was and raises ``TokenRefreshFailed``. Tokens never reach the log.

Processes sharing one store (app processes, broadcast workers) refresh one at a time: a
process first claims the stored refresh token in the store (``claim_refresh``); one that
cannot waits for the claimant's new pair and uses it. A claim lapses after
``REFRESH_CLAIM`` seconds, so a process that died mid-refresh does not block the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

REFRESH_MARGIN = 3600  # seconds before expiry at which we refresh
DEFAULT_LIFETIME = 90_000  # seconds (25 h), when the answer does not say
MAX_LIFETIME = 90 * 24 * 3600  # a longer ``expires_in`` is not believed (refresh tokens: 3 months)
REFRESH_CLAIM = 60.0  # seconds a refresh may take (the request's timeout is 30 s)
CLAIM_POLL = 0.2  # seconds between looks for a peer's new pair

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: float  # unix time


class TokenStore(Protocol):
    """Where tokens live between restarts; ``save`` must be durable when it returns, and
    ends the refresh claim."""

    def load(self) -> Tokens | None: ...

    def save(self, tokens: Tokens) -> None: ...

    def claim_refresh(self, refresh_token: str, seconds: float) -> bool:
        """Take the right to spend ``refresh_token`` for ``seconds``; False when it is not
        the stored one any more or another process holds an unlapsed claim."""
        ...

    def release_refresh(self, refresh_token: str) -> None:
        """End a claim whose refresh failed."""
        ...


class TokenRefreshFailed(RuntimeError):
    """No new pair: Zalo refused the refresh (wrong app secret, used or expired refresh
    token), answered something else, or could not be reached; or no tokens are configured."""


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
        self._unsaved: Tokens | None = None  # a new pair the store failed to save
        # How long to wait for another process's refresh: its claim lapses before.
        self.claim_wait = REFRESH_CLAIM + 5

    async def access_token(self) -> str:
        """A token valid for at least a while; refreshes first when it is about to expire."""
        tokens = self._current()
        if tokens.expires_at - time.time() < REFRESH_MARGIN and tokens.refresh_token:
            tokens = await self.refresh(stale=tokens.access_token)
        return tokens.access_token

    async def refresh(self, *, stale: str) -> Tokens:
        """Exchange the refresh token, unless someone already replaced the ``stale`` token
        (this process while we waited for the lock, or another one while we waited for its
        claim)."""
        async with self._lock:
            tokens = self._current()
            give_up = time.monotonic() + self.claim_wait
            while tokens.access_token == stale:
                if self._unsaved is not None or self._claim(tokens.refresh_token):
                    return await self._spend(tokens.refresh_token)
                if time.monotonic() > give_up:  # the claim should have lapsed by now
                    logger.error("zalo token refresh: another process's claim never ended")
                    raise TokenRefreshFailed("another process is refreshing")
                await asyncio.sleep(CLAIM_POLL)  # another process is refreshing
                tokens = self._current()
            return tokens

    def _claim(self, refresh_token: str) -> bool:
        try:
            return self.store.claim_refresh(refresh_token, REFRESH_CLAIM)
        except Exception as exc:  # the database: no refresh now, the message waits
            logger.error("zalo token refresh not claimed: %s", type(exc).__name__)
            raise TokenRefreshFailed("token store unreadable") from None

    async def _spend(self, refresh_token: str) -> Tokens:
        """Exchange the claimed refresh token and save the new pair (which ends the claim);
        a failure ends the claim, so the next try need not wait for it to lapse."""
        try:
            body = await self._exchange(refresh_token)
            access, refresh = body.get("access_token"), body.get("refresh_token")
            if not (access and refresh and isinstance(access, str) and isinstance(refresh, str)):
                reason = body.get("error_name") or body.get("error") or "no tokens in the answer"
                logger.error("zalo token refresh refused: %s", str(reason)[:200])
                raise TokenRefreshFailed(str(reason)[:200])
        except TokenRefreshFailed:
            with contextlib.suppress(Exception):  # it lapses anyway
                self.store.release_refresh(refresh_token)
            raise
        # The old refresh token is spent: save first; only what cannot fail runs before.
        fresh = Tokens(access, refresh, time.time() + lifetime(body.get("expires_in")))
        self._unsaved = fresh
        self._save_unsaved()
        logger.info("zalo access token refreshed")
        return fresh

    async def _exchange(self, refresh_token: str) -> dict[str, Any]:
        """Zalo's answer as a dict; TokenRefreshFailed when there is none to read (the stored
        pair is kept: after a 5xx the refresh token may or may not have been spent)."""
        try:
            response = await self.client.post(
                self.url,
                headers={"secret_key": self.app_secret},
                data={
                    "app_id": self.app_id,
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                },
                timeout=30,
            )
        except httpx.HTTPError as exc:
            logger.error("zalo token refresh got no answer: %s", type(exc).__name__)
            raise TokenRefreshFailed(f"no answer: {type(exc).__name__}") from None
        if response.status_code >= 500:
            logger.error(
                "zalo token refresh: HTTP %s; kept the stored pair (its refresh token may be "
                "spent)",
                response.status_code,
            )
            raise TokenRefreshFailed(f"HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            logger.error(
                "zalo token refresh: HTTP %s, not a JSON object; kept the stored pair",
                response.status_code,
            )
            raise TokenRefreshFailed(f"unreadable answer (HTTP {response.status_code})")
        return body

    def _current(self) -> Tokens:
        """The newest pair: one whose save failed, else the stored one."""
        self._save_unsaved()
        if self._unsaved is not None:
            return self._unsaved
        try:
            tokens = self.store.load()
        except Exception as exc:  # the database: no tokens now, the message waits
            logger.error("zalo tokens could not be read: %s", type(exc).__name__)
            raise TokenRefreshFailed("token store unreadable") from None
        if tokens is None:
            raise TokenRefreshFailed("no Zalo OA tokens configured")
        return tokens

    def _save_unsaved(self) -> None:
        """Save the pair a failed save left in memory; on failure keep it there and log."""
        if self._unsaved is None:
            return
        try:
            self.store.save(self._unsaved)
        except Exception as exc:  # keep working from memory; the next use saves again
            logger.error(
                "zalo tokens NOT saved (%s): kept in memory, saved again at the next use; "
                "if this process stops first, the OA needs new tokens (loa zalo set-tokens)",
                type(exc).__name__,
            )
            return
        self._unsaved = None


def lifetime(expires_in: Any) -> float:
    """Seconds the access token lasts, from Zalo's ``expires_in`` (a number or a numeric string
    such as "90000" or "90000.0"); anything else gives ``DEFAULT_LIFETIME`` and a log line."""
    seconds: float | None = None
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
        seconds = float(expires_in)
    elif isinstance(expires_in, str):
        try:
            seconds = float(expires_in.strip())
        except ValueError:
            seconds = None
    if seconds is not None and math.isfinite(seconds) and 0 < seconds <= MAX_LIFETIME:
        return seconds
    logger.warning("zalo expires_in %s: assuming %s s", repr(expires_in)[:40], DEFAULT_LIFETIME)
    return float(DEFAULT_LIFETIME)
