"""python-telegram-bot's network layer on aiohttp: PTB's documented way to bring one's own HTTP
client (a ``BaseRequest`` subclass; PTB still builds the calls and reads the answers).

Why not PTB's own ``HTTPXRequest``: on these machines an httpx request costs about 1.4 ms of
CPU (its connection pool checks every idle connection with system calls on each request) and
an aiohttp one 0.17 ms; a broadcast of 100,000 messages is that cost 100,000 times.

What a failure means for the message matters more than its name (``connectors.http``): a
request that never left (connection refused, no connection in time) raises ``NetworkError`` or
``TimedOut`` *from* an exception in ``NEVER_SENT``, so it is retried; a request that left and got
no complete answer (read timeout, the server hung up) raises ``TimedOut``, which the connector
takes as "may have arrived" — never sent twice.
"""

from __future__ import annotations

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from connectors.http import NEVER_SENT

JSON = "application/json"


class AiohttpRequest(BaseRequest):
    """Requests through one ``aiohttp.ClientSession`` of at most ``connection_pool_size``
    connections. Timeouts as PTB's: connect (incl. waiting for a pool place), read, per call."""

    __slots__ = ("_connect_timeout", "_pool_size", "_read_timeout", "_session")

    def __init__(
        self,
        connection_pool_size: int = 64,
        *,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                cookie_jar=aiohttp.DummyCookieJar(),  # the Bot API sets none worth keeping
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            await self.initialize()  # PTB initialises the Bot; a bare use must work too
        assert self._session is not None
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = (
            self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        )
        timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_read=read)
        headers = {"User-Agent": self.USER_AGENT}
        body: bytes | None = None
        if request_data is not None and request_data.multipart_data:
            # Loa sends pictures by URL; an upload would need a multipart body, not built here.
            raise ValueError("file uploads are not supported: send the picture's URL")
        if request_data is not None:
            body, headers["Content-Type"] = request_data.json_payload, JSON
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except NEVER_SENT as exc:
            if isinstance(exc, aiohttp.ConnectionTimeoutError):
                raise TimedOut("no connection in time: not sent") from exc
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        except TimeoutError as exc:  # sock_read: it may have arrived
            raise TimedOut("no answer in time") from exc
        except aiohttp.ClientError as exc:  # the connection broke after the request left
            raise TimedOut(f"no complete answer: aiohttp.{type(exc).__name__}: {exc}") from exc
