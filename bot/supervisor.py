"""Start Rasa, the action server and the app on 127.0.0.1, wait until all answer, stop them all.

Used by ``loa run`` (``make run``) and by the end-to-end tests, so both run the same stack.
Each process gets its own process group, so stopping kills its children too.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

import httpx

from bot.rasa_client import rasa_name
from bot.settings import ROOT, Settings, environ, redis_location
from bot.storage.private import UMASK, private_dir, private_file, private_sqlite
from bot.training import ASSISTANT, base_env, rasa_bin, rasa_env


@dataclass
class Process:
    name: str
    command: list[str]
    env: dict[str, str]
    health_url: str
    popen: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None


# The settings the action server reads (actions/: the database, the province, triage); it
# gets these and nothing else of ours: no channel token, no webhook secret.
ACTION_SETTINGS = (
    "LOA_VAR_DIR",
    "DATABASE_URL",
    "LOA_PROVINCE",
    "TRIAGE_SPO2_BELOW",
    "TRIAGE_SPO2_BELOW_AT_RISK",
    "TRIAGE_BREATHS_ABOVE",
    "TRIAGE_BREATHS_ABOVE_AT_RISK",
)
# The app talks to Telegram and Zalo: it may need the way out through a proxy.
PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


@dataclass
class Stack:
    """The three processes of Loa, configured from one ``Settings``.

    Each process gets an environment built from an allowlist: what every program needs
    (``base_env``) and only the settings it reads. Rasa's HTTP API requires ``rasa_token``
    (``RASA_TOKEN``, or a new random one per stack); the REST channel the app uses and ``/``
    stay open, as Rasa has them.
    """

    settings: Settings
    model: Path
    log_dir: Path
    processes: list[Process] = field(default_factory=list)
    rasa_token: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.rasa_token = s.rasa_token or secrets.token_urlsafe(32)
        python = {"PYTHONUNBUFFERED": "1"}
        every_setting = environ(replace(s, rasa_token=self.rasa_token))
        proxies = {name: os.environ[name] for name in PROXY_ENV if name in os.environ}
        app_env = {**base_env(), **proxies, **every_setting, **python}
        actions_env = {name: every_setting[name] for name in ACTION_SETTINGS}
        # rasa-sdk listens on all interfaces otherwise.
        actions_env = {**base_env(), **actions_env, **python, "SANIC_HOST": "127.0.0.1"}
        rasa_vars = {
            **rasa_env(),
            **python,
            # Read by endpoints.yml.
            "LOA_ACTION_ENDPOINT_URL": f"{s.action_server_url}/webhook",
            "LOA_RASA_TRACKER_DB": s.rasa_tracker_db,
        }
        endpoints = ASSISTANT / "endpoints.yml"
        if s.rasa_lock_store_url:  # read by endpoints-redis.yml
            host, port, db, password = redis_location(s.rasa_lock_store_url)
            endpoints = ASSISTANT / "endpoints-redis.yml"
            rasa_vars |= {
                "LOA_RASA_LOCK_STORE_HOST": host,
                "LOA_RASA_LOCK_STORE_PORT": str(port),
                "LOA_RASA_LOCK_STORE_DB": str(db),
                "LOA_RASA_LOCK_STORE_PASSWORD": password,
            }
        # RASA_PROCESSES servers on consecutive ports, sharing the tracker store (and the lock
        # store); the first is named "rasa" as when there was only one.
        rasas = []
        for index in range(s.rasa_processes):
            port = s.rasa_port + index
            rasa = [
                str(rasa_bin()), "run", "--enable-api", "--auth-token", self.rasa_token,
                "--model", str(self.model),
                "--interface", "127.0.0.1", "--port", str(port),
                "--endpoints", str(endpoints),
                "--credentials", str(ASSISTANT / "credentials.yml"),
            ]  # fmt: skip
            health = f"{s.rasa_url}/" if index == 0 else f"http://127.0.0.1:{port}/"
            rasas.append(Process(rasa_name(index), rasa, dict(rasa_vars), health))
        actions = [sys.executable, "-m", "rasa_sdk", "--actions", "actions"]
        actions += ["--port", str(s.action_server_port)]
        app = [sys.executable, "-m", "bot.web", "--host", s.host, "--port", str(s.port)]
        self.processes = [
            Process("actions", actions, actions_env, f"{s.action_server_url}/health"),
            *rasas,
            Process("app", app, app_env, f"{s.app_url}/healthz"),
        ]

    @property
    def rasa_names(self) -> tuple[str, ...]:
        """The names of the Rasa processes: rasa, rasa-2, …"""
        return tuple(rasa_name(i) for i in range(self.settings.rasa_processes))

    def start(self, only: Collection[str] | None = None) -> None:
        """Start every process not started yet (``only``: just those named); they, their logs
        and what they create under var/ are owner-only (umask 077)."""
        private_dir(self.settings.var_dir)
        private_dir(self.log_dir)
        tracker = Path(self.settings.rasa_tracker_db)
        private_sqlite(tracker)  # Rasa's, made owner-only for it
        shared_sqlite(tracker)  # before any Rasa opens it: the switch needs the file alone
        for proc in self.processes:
            if proc.popen is not None or (only is not None and proc.name not in only):
                continue
            proc.log = private_file(self.log_dir / f"{proc.name}.log").open("ab")
            proc.popen = subprocess.Popen(
                proc.command,
                cwd=ROOT,
                env=proc.env,
                stdout=proc.log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                umask=UMASK,
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


def shared_sqlite(path: Path) -> None:
    """Put Rasa's SQLite file into WAL mode (it stays so): readers never wait for the writer,
    and Loa's tracker store commits without an fsync (bot/assistant/tracker_store.py).
    Measured with two Rasa processes and 64 people at once on 2 cores: no "database is
    locked" in either mode, 11 turns/s in the default rollback journal mode and 15 in WAL."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")


def _signal_group(proc: Process, sig: signal.Signals) -> None:
    if proc.popen is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.popen.pid, sig)
