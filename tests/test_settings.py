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


def test_several_rasa_servers() -> None:
    lock = {"RASA_LOCK_STORE_URL": "redis://127.0.0.1:6379/0"}
    cfg = load({"RASA_PORT": "6000", "RASA_PROCESSES": "3", **lock})
    assert cfg.rasa_urls == (
        "http://127.0.0.1:6000",
        "http://127.0.0.1:6001",
        "http://127.0.0.1:6002",
    )
    assert cfg.rasa_url == "http://127.0.0.1:6000"  # the first, for code that knows one
    assert Settings().rasa_urls == ("http://127.0.0.1:5005",)
    remote = load({"RASA_URLS": "http://rasa-a:5005/, http://rasa-b:5005", **lock})
    assert remote.rasa_urls == ("http://rasa-a:5005", "http://rasa-b:5005")
    assert remote.rasa_url == "http://rasa-a:5005"
    assert load({"RASA_URL": "http://rasa:5005", "RASA_PROCESSES": "2", **lock}).rasa_urls == (
        "http://rasa:5005",
        "http://rasa:5006",
    )
    # Derived values follow a replace(); values that were set stay.
    two = replace(Settings(), rasa_processes=2, rasa_lock_store_url="redis://r:6379/1")
    assert two.rasa_urls == ("http://127.0.0.1:5005", "http://127.0.0.1:5006")
    assert replace(two, rasa_port=7000).rasa_urls == (
        "http://127.0.0.1:7000",
        "http://127.0.0.1:7001",
    )
    assert replace(remote, rasa_port=7000).rasa_urls == remote.rasa_urls
    for settings in (cfg, remote, two):
        assert load(settings_module.environ(settings)) == settings


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RASA_PROCESSES": "2"}, "2 Rasa servers (RASA_PROCESSES or RASA_URLS) need a lock store"),
        ({"RASA_URLS": "http://a:5005,http://b:5005"}, "need a lock store they share"),
        ({"RASA_PROCESSES": "0"}, "RASA_PROCESSES must be 1 or more, got 0"),
        ({"RASA_CONCURRENCY": "0"}, "RASA_CONCURRENCY must be 1 or more, got 0"),
        ({"RASA_LOCK_STORE_URL": "http://r:6379"}, "RASA_LOCK_STORE_URL must look like redis://"),
        (
            {"RASA_LOCK_STORE_URL": "redis://r:6379/x"},
            "RASA_LOCK_STORE_URL must look like redis://",
        ),
        (
            {"RASA_LOCK_STORE_URL": "redis://r:port/0"},
            "RASA_LOCK_STORE_URL must look like redis://",
        ),
    ],
)
def test_several_rasa_servers_need_a_shared_lock_store(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load(env)
    assert message in str(raised.value)


def test_the_lock_store_url_as_rasa_takes_it() -> None:
    assert settings_module.redis_location("redis://127.0.0.1:6390/2") == ("127.0.0.1", 6390, 2, "")
    assert settings_module.redis_location("redis://:s%40cret@redis") == ("redis", 6379, 0, "s@cret")
    assert load({"RASA_LOCK_STORE_URL": "redis://127.0.0.1:6379/0"}).rasa_processes == 1
