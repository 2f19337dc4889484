"""A throw-away Redis server on a loopback port, from Debian's redis-server package (Rasa's
lock store in the tests of several Rasa processes)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from testkit.fakes.server import free_port

# Debian puts it in /usr/bin; /usr/sbin in case.
CANDIDATES = ("redis-server", "/usr/bin/redis-server", "/usr/sbin/redis-server")


def binary() -> str | None:
    """The redis-server program, or None when it is not installed."""
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


def ping(port: int, timeout: float = 0.5) -> bool:
    """Whether a Redis server answers PING on 127.0.0.1:``port`` (RESP inline command)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def command(url: str, *args: str | bytes, timeout: float = 2) -> bytes | int | None:
    """Send one command to the server at ``url`` (``redis://127.0.0.1:<port>/0``) in Redis's
    wire protocol (RESP) and return its reply: bytes for a bulk or simple string, an int for
    an integer, None for nil. Enough for a test to look at and hold Rasa's locks."""
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    parts = [a.encode() if isinstance(a, str) else a for a in args]
    request = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in parts)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        reply = b""
        while b"\r\n" not in reply:
            reply += sock.recv(4096)
        head, _, body = reply.partition(b"\r\n")
        kind, value = head[:1], head[1:]
        if kind == b"+":
            return value
        if kind == b":":
            return int(value)
        if kind != b"$":
            raise RuntimeError(f"redis answered {head!r}")
        size = int(value)
        if size < 0:
            return None
        while len(body) < size + 2:
            body += sock.recv(4096)
        return body[:size]


def get(url: str, key: str, timeout: float = 2) -> bytes | None:
    """The value of ``key`` on the server at ``url``, or None."""
    value = command(url, "GET", key, timeout=timeout)
    assert value is None or isinstance(value, bytes)
    return value


@contextmanager
def redis_server(timeout: float = 20) -> Iterator[str]:
    """Start a Redis server with no persistence in a temporary directory; yield its URL,
    ``redis://127.0.0.1:<port>/0``; stop it."""
    program = binary()
    if program is None:
        raise RuntimeError("redis-server is not installed (scripts/install-test-deps installs it)")
    with tempfile.TemporaryDirectory(prefix="loa-redis-") as tmp:
        port = free_port()
        log = Path(tmp) / "redis.log"
        command = [
            program, "--bind", "127.0.0.1", "--port", str(port), "--dir", tmp,
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", str(log),
        ]  # fmt: skip
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + timeout
            while not ping(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    text = log.read_text(errors="replace") if log.exists() else ""
                    raise RuntimeError(f"redis-server did not start on port {port}:\n{text}")
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
