"""The lock store several Rasa servers share (bot/assistant/lock_store.py), on a real Redis with
Rasa's Python: two servers taking one person's turns at the same moment each get their own
ticket, and the lock is gone once every turn is done."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bot.training import rasa_env
from testkit.redis import redis_server

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
pytestmark = pytest.mark.slow  # imports Rasa (a few seconds per process)

TURNS = 200  # per process; Rasa's own store gave 92 duplicate numbers in 400 tickets here


def race(kind: str, redis_url: str) -> dict[str, object]:
    port = redis_url.rsplit(":", 1)[1].split("/")[0]
    done = subprocess.run(
        [str(RASA_PYTHON), str(Path(__file__).with_name("lock_race.py")), kind, port, str(TURNS)],
        cwd=ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_two_servers_at_once_each_get_their_own_ticket() -> None:
    with redis_server() as url:
        result = race("atomic", url)
    tickets = result["tickets"]
    assert isinstance(tickets, list) and len(tickets) == 2 * TURNS
    assert len(set(tickets)) == 2 * TURNS, "one ticket number was issued twice"
    assert result["left"] is None  # every turn done: no lock left behind
