"""What the channels' HTTP sides share: the webhook secret-header check and the meaning of a
failed request for the message it carried."""

from __future__ import annotations

import hmac
from typing import Any

import aiohttp
import httpx

from connectors.base import SendResult

# Failures before the request left: the channel certainly did not get the message (httpx, and
# aiohttp under python-telegram-bot: connectors/telegram/request.py).
NEVER_SENT: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    aiohttp.ClientConnectorError,  # refused, unreachable, DNS
    aiohttp.ConnectionTimeoutError,  # no connection (or no free pool place) in time
)


def secret_matches(headers: Any, header: str, secret: str) -> bool:
    """Whether ``header`` carries our webhook ``secret`` (constant-time; no secret: never)."""
    given = headers.get(header, "")
    return bool(secret) and hmac.compare_digest(given.encode(), secret.encode())


def failed_request(exc: httpx.HTTPError) -> SendResult:
    """A request that got no answer: retry it if it never left, else it may have arrived."""
    if isinstance(exc, NEVER_SENT):
        return SendResult(ok=False, retryable=True, error=repr(exc))
    return SendResult(ok=False, uncertain=True, error=repr(exc))
