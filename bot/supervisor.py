"""Start Rasa, the action server and the app on 127.0.0.1, wait until all answer, stop them all.

Used by ``loa run`` (``make run``) and by the end-to-end tests, so both run the same stack.
Each process gets its own process group, so stopping kills its children too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from bot.settings import ROOT, Settings
from bot.training import ASSISTANT, rasa_bin, rasa_env


@dataclass
class Process:
    name: str
    command: list[str]
    env: dict[str, str]
    health_url: str
    popen: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None


@dataclass
class Stack:
    """The three processes of Loa, configured from one ``Settings``."""

    settings: Settings
    model: Path
    log_dir: Path
    processes: list[Process] = field(default_factory=list)

    def __post_init__(self) -> None:
        s = self.settings
        env = dict(os.environ)
        env.update(
            DATABASE_URL=s.database_url,
            HOST=s.host,
            PORT=str(s.port),
            RASA_PORT=str(s.rasa_port),
            RASA_URL=s.rasa_url,
            ACTION_SERVER_PORT=str(s.action_server_port),
            LOA_ACTION_ENDPOINT_URL=f"{s.action_server_url}/webhook",
            LOA_RASA_TRACKER_DB=s.rasa_tracker_db,
            SANIC_HOST="127.0.0.1",  # rasa-sdk listens on all interfaces otherwise
            PYTHONUNBUFFERED="1",
        )
        rasa = [
            str(rasa_bin()), "run", "--enable-api",
            "--model", str(self.model),
            "--interface", "127.0.0.1", "--port", str(s.rasa_port),
            "--endpoints", str(ASSISTANT / "endpoints.yml"),
            "--credentials", str(ASSISTANT / "credentials.yml"),
        ]  # fmt: skip
        actions = [sys.executable, "-m", "rasa_sdk", "--actions", "actions"]
        actions += ["--port", str(s.action_server_port)]
        app = [sys.executable, "-m", "uvicorn", "bot.web.app:create_app", "--factory"]
        app += ["--host", s.host, "--port", str(s.port), "--log-level", "warning"]
        self.processes = [
            Process("actions", actions, env, f"{s.action_server_url}/health"),
            Process("rasa", rasa, {**rasa_env(), **env}, f"{s.rasa_url}/"),
            Process("app", app, env, f"{s.app_url}/healthz"),
        ]

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        Path(self.settings.rasa_tracker_db).parent.mkdir(parents=True, exist_ok=True)
        for proc in self.processes:
            proc.log = (self.log_dir / f"{proc.name}.log").open("ab")
            proc.popen = subprocess.Popen(
                proc.command,
                cwd=ROOT,
                env=proc.env,
                stdout=proc.log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 300) -> None:
        """Block until every process answers its health URL; raise if one dies or time runs out."""
        deadline = time.monotonic() + timeout
        waiting = list(self.processes)
        with httpx.Client() as client:
            while waiting:
                for proc in list(waiting):
                    self._check_alive(proc)
                    try:
                        if client.get(proc.health_url, timeout=2).status_code == 200:
                            waiting.remove(proc)
                    except httpx.HTTPError:
                        pass
                if waiting and time.monotonic() > deadline:
                    names = ", ".join(p.name for p in waiting)
                    raise TimeoutError(
                        f"not ready after {timeout:.0f}s: {names} (see {self.log_dir})"
                    )
                if waiting:
                    time.sleep(0.5)

    def _check_alive(self, proc: Process) -> None:
        if proc.popen is not None and proc.popen.poll() is not None:
            raise RuntimeError(
                f"{proc.name} exited with code {proc.popen.returncode}; "
                f"see {self.log_dir / (proc.name + '.log')}"
            )

    def first_exited(self) -> Process | None:
        """A process that has stopped on its own, if any."""
        return next((p for p in self.processes if p.popen and p.popen.poll() is not None), None)

    def stop(self, grace: float = 10) -> None:
        """SIGTERM every process group, then SIGKILL what is left after ``grace`` seconds."""
        running = [p for p in reversed(self.processes) if p.popen and p.popen.poll() is None]
        for proc in running:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in running:
            assert proc.popen is not None
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.popen.wait(timeout=5)
        for proc in self.processes:  # children left behind in a group whose leader exited
            _signal_group(proc, signal.SIGKILL)
            if proc.log:
                proc.log.close()


def _signal_group(proc: Process, sig: signal.Signals) -> None:
    if proc.popen is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.popen.pid, sig)
