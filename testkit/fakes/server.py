"""Run ASGI apps on free 127.0.0.1 ports in background threads (real HTTP for fakes)."""

from __future__ import annotations

import contextlib
import random
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


# Ports for servers that bind later (another process) are taken below Linux's ephemeral range
# (32768-60999), which every outgoing connection draws from: a port picked from that range can
# be taken by a client socket before the server binds it.
_PORTS = range(20000, 32768)
_pick = random.Random()


def free_port() -> int:
    """A port free on 127.0.0.1 now, outside the ephemeral range (for a server another process
    will bind; a server in this process binds its own socket, see ``_Running``)."""
    for _ in range(200):
        port = _pick.choice(_PORTS)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found between 20000 and 32767")


class _Running:
    """One app's server in its own thread."""

    def __init__(self, app: Any) -> None:
        # The socket is bound here and handed to uvicorn: picking a free port and letting the
        # server bind it later raced with other servers and tests (a CI run lost one that way).
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name=f"serve:{self.port}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with contextlib.suppress(SystemExit):  # uvicorn's way out of a failed startup
                self.server.run(sockets=[self.sock])
        finally:
            self.sock.close()

    def wait_started(self, deadline: float) -> str:
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"server on port {self.port} stopped while starting (see log)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"server on port {self.port} did not start")
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.port}"


# A server stops as soon as its app's lifespan ends; the bound only catches a hung shutdown.
# 10 s was once exceeded on a 2-core machine under a load of 6 (an app finishing a turn).
STOP_TIMEOUT = 30.0


@contextmanager
def serve(app: Any, *, stop_timeout: float = STOP_TIMEOUT) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL. Raises if the server does not
    start, or has not stopped ``stop_timeout`` seconds after the block ends."""
    with serve_all(app, stop_timeout=stop_timeout) as (url,):
        yield url


@contextmanager
def serve_all(*apps: Any, stop_timeout: float = STOP_TIMEOUT) -> Iterator[tuple[str, ...]]:
    """Serve ``apps`` side by side, started together and stopped together (each stop takes a
    tick of uvicorn's loop: several fakes stop in the time of one); yields their URLs."""
    running = [_Running(app) for app in apps]
    try:
        deadline = time.monotonic() + 10
        urls = tuple(r.wait_started(deadline) for r in running)
    except BaseException:
        _stop(running, stop_timeout)
        raise
    try:
        yield urls
    finally:
        _stop(running, stop_timeout)


def _stop(running: list[_Running], timeout: float) -> None:
    """Ask every server to exit, then wait for each thread; raise if one is still running."""
    for r in running:
        r.server.should_exit = True
    deadline = time.monotonic() + timeout
    for r in running:
        r.thread.join(timeout=max(0.0, deadline - time.monotonic()))
    stuck = [str(r.port) for r in running if r.thread.is_alive()]
    if stuck:
        raise ServerDidNotStop(f"server on port {', '.join(stuck)} has not stopped in {timeout} s")
