"""The whole stack, started exactly as `make run` starts it (``loa run``), on free ports.

The fixture stops it with SIGINT, like Ctrl-C, and checks that every port is free again and no
process of it is left.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from testkit.fakes import telegram as tg
from testkit.fakes import zalo_oa as oa
from testkit.fakes.server import free_port, serve
from tests.channels_rig import channel_env

ROOT = Path(__file__).resolve().parents[2]
RASA_TOKEN = "e2e-rasa-api-token"  # Rasa's HTTP API (/model/parse…) needs it


@dataclass(frozen=True)
class RunningStack:
    app_url: str
    rasa_url: str
    ports: tuple[int, int, int]
    output: Path
    database_url: str
    rasa_token: str = RASA_TOKEN


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class ChannelFakes:
    telegram: tg.FakeTelegram
    zalo_oa: oa.FakeZaloOA
    env: dict[str, str]


@pytest.fixture(scope="session")
def channel_fakes() -> Iterator[ChannelFakes]:
    """Fake Telegram and Zalo OA APIs the whole session's stack sends to."""
    telegram, zalo = tg.FakeTelegram(), oa.FakeZaloOA()
    with serve(telegram.app()) as tg_url, serve(zalo.app()) as oa_url:
        env = channel_env(tg_url, oa_url)
        yield ChannelFakes(telegram, zalo, env)


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory, channel_fakes: ChannelFakes
) -> Iterator[RunningStack]:
    var = tmp_path_factory.mktemp("var")
    app_port, rasa_port, action_port = free_port(), free_port(), free_port()
    env = dict(os.environ)
    env.update(
        LOA_VAR_DIR=str(var),
        DATABASE_URL=f"sqlite:///{var / 'loa.db'}",
        PORT=str(app_port),
        RASA_PORT=str(rasa_port),
        ACTION_SERVER_PORT=str(action_port),
        RETRY_INTERVAL_SECONDS="1",
        # Every test here is a new web chat conversation from 127.0.0.1: lift the per-address
        # limits (tests/web/ checks them) so they do not stop the suite half-way.
        WEBCHAT_NEW_PER_ADDRESS_PER_MINUTE="6000",
        WEBCHAT_PER_ADDRESS_PER_MINUTE="6000",
        RASA_TOKEN=RASA_TOKEN,
        **channel_fakes.env,
    )
    env.pop("RASA_URL", None)
    output = var / "loa-run.out"
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = RunningStack(
        f"http://127.0.0.1:{app_port}",
        f"http://127.0.0.1:{rasa_port}",
        (app_port, rasa_port, action_port),
        output,
        env["DATABASE_URL"],
    )
    deadline = time.monotonic() + 600
    while b"Loa is running" not in output.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("loa run did not start:\n" + output.read_text(errors="replace")[-5000:])
        time.sleep(0.2)  # a read of a short file: the tests start as soon as the stack is up
    try:
        yield running
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C does to `make run`
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("loa run did not stop within 60 s of SIGINT")
        found = subprocess.run(
            # "--": the pattern starts with dashes, which pgrep would take for an option
            # (exit 2, no output: a check that could never fail).
            ["pgrep", "-f", "--", f"--port {rasa_port}|--port {action_port}|--port {app_port}"],
            capture_output=True,
            text=True,
        )
        assert code == 0, output.read_text(errors="replace")[-3000:]
        assert found.returncode in (0, 1), f"pgrep could not look: {found.stderr}"
        left = found.stdout.split()
        assert left == [], f"processes left behind: {left}"
        assert not any(_port_open(p) for p in running.ports), "a port is still taken"
        secrets = [
            v for k, v in channel_fakes.env.items() if k.endswith(("TOKEN", "SECRET", "KEY"))
        ]
        leaks = _leaks(var, [*secrets, RASA_TOKEN])
        assert leaks == [], f"secrets or phone numbers in the logs: {leaks[:5]}"


# Phone numbers the end-to-end tests send (tests/e2e/test_channels.py): none may reach a log.
PHONES = ("0912 345 678", "0912345678", "0987.654.321", "0987654321")


def _leaks(var: Path, secrets: list[str]) -> list[str]:
    """Log lines of the whole run (the three processes and ``loa run``'s own output) that
    hold a token, a secret or one of the phone numbers people sent."""
    words = [*secrets, *PHONES]
    logs = [*sorted((var / "log").glob("*.log")), var / "loa-run.out"]
    assert len(logs) >= 4, f"the run's logs are missing: {logs}"
    return [
        f"{path.name}: {line[:200]}"
        for path in logs
        for line in path.read_text(errors="replace").splitlines()
        if any(word in line for word in words)
    ]


@pytest.fixture(scope="session")
def http(stack: RunningStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.app_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
def rasa_api(stack: RunningStack) -> Iterator[httpx.Client]:
    """A client of Rasa's HTTP API with the token, kept open for the session."""
    params = {"token": stack.rasa_token}
    with httpx.Client(base_url=stack.rasa_url, params=params, timeout=30) as client:
        yield client
