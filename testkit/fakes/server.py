"""Run an ASGI app on a free 127.0.0.1 port in a background thread (real HTTP for fakes)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


class ServerDidNotStop(RuntimeError):
    """The server thread outlived its stop: a hung shutdown, which would otherwise leak a
    thread (and its port, its database connections) into every later test."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(server: uvicorn.Server) -> None:
    with contextlib.suppress(SystemExit):  # uvicorn's way out of a failed startup: reported
        server.run()


@contextmanager
def serve(app: Any, *, stop_timeout: float = 10) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL. Raises if the server does not
    start, or has not stopped ``stop_timeout`` seconds after the block ends."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=_run, args=(server,), name=f"serve:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"server on port {port} stopped while starting (see its log)")
        if time.monotonic() > deadline:
            raise TimeoutError("fake server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=stop_timeout)
        if thread.is_alive():
            raise ServerDidNotStop(f"server on port {port} has not stopped in {stop_timeout} s")
