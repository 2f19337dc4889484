"""Settings: each default written once, bad values name their variable, derived values follow
the settings they come from, and the README lists every variable."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields, replace
from pathlib import Path

import pytest

from bot import settings as settings_module
from bot.settings import Settings, SettingsError, load

ROOT = Path(__file__).resolve().parents[1]


def test_an_empty_environment_gives_every_default() -> None:
    assert load({}) == Settings()
    assert load({}).database_url == f"sqlite:///{settings_module.ROOT / 'var' / 'loa.db'}"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "abc", "PORT must be a whole number, got 'abc'"),
        ("RASA_PORT", "5005.5", "RASA_PORT must be a whole number, got '5005.5'"),
        ("RETRY_INTERVAL_SECONDS", "soon", "RETRY_INTERVAL_SECONDS must be a number, got 'soon'"),
        ("TRIAGE_SPO2_BELOW", "9x", "TRIAGE_SPO2_BELOW must be a whole number, got '9x'"),
        ("TELEGRAM_PER_SECOND", "fast", "TELEGRAM_PER_SECOND must be a number, got 'fast'"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load({name: value})
    assert str(raised.value) == message


def test_values_and_derived_values() -> None:
    cfg = load({"LOA_VAR_DIR": "/srv/loa", "RASA_PORT": "6000", "PORT": " 9000 "})
    assert cfg.port == 9000
    assert cfg.database_url == "sqlite:////srv/loa/loa.db"
    assert cfg.rasa_url == "http://127.0.0.1:6000"
    assert cfg.rasa_tracker_db == "/srv/loa/rasa-tracker.db"
    assert load({"RASA_URL": "http://rasa:5005/"}).rasa_url == "http://rasa:5005"
    assert load({"ZALO_OA_PER_SECOND": "10"}).rate_limits == {"zalo_oa_per_second": 10.0}


def test_channels_on_follow_the_tokens() -> None:
    assert Settings().channels_on == ("webchat",)
    on = replace(Settings(), telegram_bot_token="t", zalo_oa_refresh_token="r")
    assert on.channels_on == ("webchat", "telegram", "zalo_oa")
    assert replace(on, telegram_bot_token="").channels_on == ("webchat", "zalo_oa")


def test_the_readme_names_every_variable() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = [f.metadata["env"] for f in fields(Settings) if "env" in f.metadata]
    assert len(names) >= 29
    assert [n for n in names if f"`{n}`" not in readme] == []


def test_loa_refuses_to_start_with_a_bad_value() -> None:
    env = {"PATH": "/usr/bin:/bin", "PORT": "abc"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db-upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "PORT must be a whole number, got 'abc'" in done.stderr
    assert "Traceback" not in done.stderr


def test_environ_reads_back_to_the_same_settings() -> None:
    changed = replace(
        Settings(),
        var_dir=Path("/srv/loa"),
        port=9000,
        rasa_timeout_seconds=2.5,
        telegram_bot_token="t",
        rate_limits={"telegram_per_second": 5.0},
    )
    for settings in (Settings(), changed):
        assert load(settings_module.environ(settings)) == settings
