"""``serve``, which runs every fake: a server that stops is joined, one whose shutdown hangs or
that fails to start is an error, never a thread silently left behind."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from testkit.fakes.server import ServerDidNotStop, serve


def _threads(url: str) -> list[threading.Thread]:
    port = url.rsplit(":", 1)[1]
    return [t for t in threading.enumerate() if t.name == f"serve:{port}" and t.is_alive()]


def _lifespan_app(on_startup: str = "complete", release: threading.Event | None = None) -> Any:
    """A bare ASGI app whose startup succeeds or fails, and whose shutdown waits for
    ``release`` when one is given."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "lifespan"
        await receive()
        await send({"type": f"lifespan.startup.{on_startup}"})
        if on_startup != "complete":
            return
        await receive()
        while release is not None and not release.is_set():
            await asyncio.sleep(0.05)
        await send({"type": "lifespan.shutdown.complete"})

    return app


def test_a_server_that_stops_leaves_no_thread() -> None:
    with serve(_lifespan_app()) as url:
        assert _threads(url)
    assert _threads(url) == []


def test_a_server_whose_shutdown_hangs_is_an_error() -> None:
    release = threading.Event()
    try:
        hanging = serve(_lifespan_app(release=release), stop_timeout=0.5)
        with pytest.raises(ServerDidNotStop, match="has not stopped"), hanging as url:
            pass
        assert _threads(url)  # the hang was real
    finally:
        release.set()  # let the thread end rather than leak into the other tests
    deadline = time.monotonic() + 10
    while _threads(url) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _threads(url) == []


def test_a_server_that_fails_to_start_is_an_error_at_once() -> None:
    started = time.monotonic()
    with (
        pytest.raises(RuntimeError, match="stopped while starting"),
        serve(_lifespan_app(on_startup="failed")),
    ):
        pass
    assert time.monotonic() - started < 5  # not the 10 s start deadline
