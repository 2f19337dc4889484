"""Rasa itself: the data validates, and every conversation test story passes on the model."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.training import ASSISTANT, ensure_model, rasa_bin, rasa_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def rasa(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(rasa_bin()), *args],
        cwd=ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_rasa_data_validate() -> None:
    result = rasa(
        "data", "validate",
        "--config", str(ASSISTANT / "config.yml"),
        "--domain", str(ASSISTANT / "domain"),
        "--data", "nlu", "stories",
        "--fail-on-warnings",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_conversation_stories(tmp_path: Path) -> None:
    result = rasa(
        "test", "core",
        "--model", str(ensure_model(quiet=True)),
        "--stories", "tests/conversations",
        "--endpoints", str(ASSISTANT / "endpoints.yml"),
        "--out", str(tmp_path),
        "--fail-on-prediction-errors",
    )  # fmt: skip
    failed = tmp_path / "failed_test_stories.yml"
    detail = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, detail + result.stdout[-3000:] + result.stderr[-3000:]
