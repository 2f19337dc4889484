"""Rasa itself: the data validates (the conversation test stories are run on the model the
end-to-end stack serves: tests/e2e/test_conversations.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.training import ASSISTANT, rasa_bin, rasa_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def rasa(*args: str, tmp: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    env = {
        **rasa_env(),
        "LOA_RASA_TRACKER_DB": str(tmp / "tracker.db"),
        "LOA_ACTION_ENDPOINT_URL": "http://127.0.0.1:9/webhook",  # no custom action is called
    }
    return subprocess.run(
        [str(rasa_bin()), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_rasa_data_validate(tmp_path: Path) -> None:
    result = rasa(
        "data", "validate",
        "--config", str(ASSISTANT / "config.yml"),
        "--domain", str(ASSISTANT / "domain"),
        "--data", "nlu", "stories",
        "--fail-on-warnings",
        tmp=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
