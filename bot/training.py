"""Train the Rasa model when its inputs changed; models are named by the hash of their inputs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from bot.settings import ROOT

ASSISTANT = ROOT / "bot" / "assistant"
MODELS = ROOT / "models"
# Everything that changes what the model learns, Rasa's exact environment included.
INPUTS = (
    "bot/assistant/config.yml",
    "bot/assistant/domain",
    "bot/assistant/vi_tokenizer.py",
    "bot/text.py",
    "nlu",
    "stories",
    "requirements/rasa.lock",  # the exact Rasa environment
)

# Passed from our environment to every process we start (see ``base_env``).
BASE_ENV = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP"}
    | {"SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"}
    | {"PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONIOENCODING", "PYTHONWARNINGS"}
    | {"TF_CPP_MIN_LOG_LEVEL", "SQLALCHEMY_SILENCE_UBER_WARNING", "RASA_TELEMETRY_ENABLED"}
    | {"OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"}
)
BASE_ENV_PREFIXES = ("LC_",)


def rasa_bin() -> Path:
    """The ``rasa`` command of the Python 3.10 environment (override: LOA_RASA_BIN)."""
    return Path(os.environ.get("LOA_RASA_BIN") or ROOT / ".venv-rasa" / "bin" / "rasa")


def base_env() -> dict[str, str]:
    """The part of our own environment every process we start may see: where programs,
    libraries and certificates are, language, time zone, temporary files. Nothing else passes,
    so a channel token reaches only the process that uses it."""
    return {
        name: value
        for name, value in os.environ.items()
        if name in BASE_ENV or name.startswith(BASE_ENV_PREFIXES)
    }


def rasa_env() -> dict[str, str]:
    """Environment for Rasa processes: our standard-library NLU code on the path, quiet TF."""
    env = base_env()
    env["PYTHONPATH"] = str(ROOT)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    return env


def _files() -> list[Path]:
    found: list[Path] = []
    for name in INPUTS:
        path = ROOT / name
        found += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return found


def inputs_hash() -> str:
    """A short hash of every training input (names and contents)."""
    digest = hashlib.sha256()
    for path in _files():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path() -> Path:
    return MODELS / f"loa-{inputs_hash()}.tar.gz"


def ensure_model(*, quiet: bool = False) -> Path:
    """The model for the current inputs, trained first if it is not there yet."""
    path = model_path()
    if path.exists():
        return path
    MODELS.mkdir(exist_ok=True)
    print(f"Training the Rasa model ({path.name}); this takes a few minutes…", flush=True)
    command = [
        str(rasa_bin()),
        "train",
        "--config", str(ASSISTANT / "config.yml"),
        "--domain", str(ASSISTANT / "domain"),
        "--data", str(ROOT / "nlu"), str(ROOT / "stories"),
        "--out", str(MODELS),
        "--fixed-model-name", path.name.removesuffix(".tar.gz"),
    ]  # fmt: skip
    subprocess.run(
        command,
        check=True,
        cwd=ROOT,
        env=rasa_env(),
        stdout=subprocess.DEVNULL if quiet else None,
        stderr=subprocess.STDOUT if quiet else None,
    )
    if not path.exists():
        sys.exit(f"rasa train finished but {path} is missing")
    by_age = sorted(MODELS.glob("loa-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    for stale in by_age[:-2]:  # keep the new model and the one before it
        stale.unlink(missing_ok=True)
    return path
