"""The stack's processes, without starting Rasa: each gets only the settings it needs, Rasa's
API needs a token, and what they write under var/ is owner-only."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.settings import Settings, load
from bot.supervisor import Process, Stack

SECRETS = dict(
    telegram_bot_token="777000:FAKE-telegram-token-for-the-test",
    telegram_webhook_secret="tg-webhook-secret-xyz",
    zalo_oa_app_secret="zalo-app-secret-xyz",
    zalo_oa_secret_key="zalo-oa-secret-key-xyz",
    zalo_oa_access_token="zalo-access-token-xyz",
    zalo_oa_refresh_token="zalo-refresh-token-xyz",
    zalo_bot_token="2000:FAKE-zalo-bot-token-xyz",
    zalo_bot_webhook_secret="zalo-bot-webhook-secret-xyz",
    webchat_secret="webchat-cookie-key-xyz",
)
SHELL_SECRET = "AKIA-a-secret-of-the-shell-not-ours"


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stack:
    # Secrets also in the shell `loa run` starts from: they must not leak through it either.
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", SECRETS["telegram_bot_token"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SHELL_SECRET)
    cfg = replace(Settings(), var_dir=tmp_path / "var", province="Cao Bằng", **SECRETS)
    return Stack(cfg, model=tmp_path / "model.tar.gz", log_dir=tmp_path / "var" / "log")


def by_name(stack: Stack) -> dict[str, Process]:
    return {p.name: p for p in stack.processes}


def leaked(env: dict[str, str]) -> list[str]:
    values = [*SECRETS.values(), SHELL_SECRET]
    return [name for name, value in env.items() if any(s in value for s in values)]


def test_rasa_and_the_action_server_get_no_channel_secret(stack: Stack) -> None:
    procs = by_name(stack)
    assert leaked(procs["rasa"].env) == []
    assert leaked(procs["actions"].env) == []
    assert "TELEGRAM_BOT_TOKEN" not in procs["actions"].env
    assert "AWS_SECRET_ACCESS_KEY" not in procs["app"].env  # nothing unknown passes
    assert procs["rasa"].env["PATH"] == os.environ["PATH"]


def test_each_process_still_gets_what_it_reads(stack: Stack) -> None:
    procs = by_name(stack)
    assert load(procs["app"].env) == replace(stack.settings, rasa_token=stack.rasa_token)
    actions = load(procs["actions"].env)
    assert actions.database_url == stack.settings.database_url
    assert (actions.province, actions.triage_spo2_below) == ("Cao Bằng", 96)
    assert procs["actions"].env["SANIC_HOST"] == "127.0.0.1"
    rasa = procs["rasa"].env
    assert rasa["LOA_RASA_TRACKER_DB"] == stack.settings.rasa_tracker_db
    assert rasa["LOA_ACTION_ENDPOINT_URL"] == f"{stack.settings.action_server_url}/webhook"


def test_rasa_api_needs_a_token(stack: Stack, tmp_path: Path) -> None:
    command = by_name(stack)["rasa"].command
    assert command[command.index("--auth-token") + 1] == stack.rasa_token
    assert len(stack.rasa_token) >= 32
    other = Stack(stack.settings, model=stack.model, log_dir=stack.log_dir)
    assert other.rasa_token != stack.rasa_token  # a new random one per stack
    chosen = replace(stack.settings, rasa_token="chosen-by-the-operator")
    assert Stack(chosen, model=stack.model, log_dir=stack.log_dir).rasa_token == chosen.rasa_token


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual 022, so files come out world-readable unless Loa says otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_what_the_processes_write_is_owner_only(stack: Stack, loose_umask: None) -> None:
    # The real start(), with a stand-in process that writes a file the way Rasa writes its own.
    var = stack.settings.var_dir
    write = f"open({str(var / 'written.db')!r}, 'w').write('x'); print('started')"
    stack.processes = [Process("probe", [sys.executable, "-c", write], {}, "http://unused")]
    stack.start()
    try:
        assert stack.processes[0].popen is not None
        assert stack.processes[0].popen.wait(timeout=30) == 0
    finally:
        stack.stop()
    assert mode(var) == 0o700
    assert mode(stack.log_dir) == 0o700
    assert mode(stack.log_dir / "probe.log") == 0o600
    assert (stack.log_dir / "probe.log").read_text().strip() == "started"
    assert mode(var / "written.db") == 0o600
    assert mode(Path(stack.settings.rasa_tracker_db)) == 0o600


def test_an_existing_var_dir_and_logs_are_tightened(stack: Stack, loose_umask: None) -> None:
    log = stack.log_dir / "probe.log"
    stack.log_dir.mkdir(parents=True)
    log.write_text("from an older version\n")
    stack.settings.var_dir.chmod(0o755)
    log.chmod(0o644)
    stack.processes = [Process("probe", [sys.executable, "-c", "pass"], {}, "http://unused")]
    stack.start()
    stack.stop()
    assert (mode(stack.settings.var_dir), mode(log)) == (0o700, 0o600)


def test_start_only_some_then_the_rest_starts_each_process_once(stack: Stack) -> None:
    """``loa run`` starts Rasa first and the others once the database is ready."""
    stack.processes = [
        Process(name, [sys.executable, "-c", "pass"], {}, "http://unused")
        for name in ("actions", "rasa", "app")
    ]
    try:
        stack.start(only=("rasa",))
        started = {p.name: p.popen for p in stack.processes if p.popen is not None}
        assert list(started) == ["rasa"]
        stack.start()
        assert all(p.popen is not None for p in stack.processes)
        assert by_name(stack)["rasa"].popen is started["rasa"]  # not started a second time
    finally:
        stack.stop()


def arg(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_one_rasa_by_default_without_a_lock_store(stack: Stack) -> None:
    assert stack.rasa_names == ("rasa",)
    assert [p.name for p in stack.processes] == ["actions", "rasa", "app"]
    rasa = by_name(stack)["rasa"]
    assert arg(rasa.command, "--endpoints").endswith("/bot/assistant/endpoints.yml")
    assert not any(name.startswith("LOA_RASA_LOCK_STORE") for name in rasa.env)


def test_several_rasa_processes_share_the_stores(stack: Stack) -> None:
    cfg = replace(
        stack.settings,
        rasa_port=6100,
        rasa_processes=3,
        rasa_lock_store_url="redis://:pa%3Ass@127.0.0.1:6390/2",
    )
    several = Stack(cfg, model=stack.model, log_dir=stack.log_dir)
    assert several.rasa_names == ("rasa", "rasa-2", "rasa-3")
    assert [p.name for p in several.processes] == ["actions", "rasa", "rasa-2", "rasa-3", "app"]
    procs = by_name(several)
    rasas = [procs[name] for name in several.rasa_names]
    assert [arg(p.command, "--port") for p in rasas] == ["6100", "6101", "6102"]
    assert [p.health_url for p in rasas] == [f"{url}/" for url in cfg.rasa_urls]
    for proc in rasas:
        assert arg(proc.command, "--endpoints").endswith("/bot/assistant/endpoints-redis.yml")
        assert arg(proc.command, "--auth-token") == several.rasa_token
        assert arg(proc.command, "--model") == str(stack.model)
        assert proc.env["LOA_RASA_TRACKER_DB"] == cfg.rasa_tracker_db
        assert {k: v for k, v in proc.env.items() if k.startswith("LOA_RASA_LOCK")} == {
            "LOA_RASA_LOCK_STORE_HOST": "127.0.0.1",
            "LOA_RASA_LOCK_STORE_PORT": "6390",
            "LOA_RASA_LOCK_STORE_DB": "2",
            "LOA_RASA_LOCK_STORE_PASSWORD": "pa:ss",
        }
        assert leaked(proc.env) == []
    # The app spreads people over all of them.
    assert load(procs["app"].env).rasa_urls == cfg.rasa_urls


def test_the_redis_endpoints_are_endpoints_yml_and_a_lock_store() -> None:
    import yaml

    assistant = Path(__file__).resolve().parents[1] / "bot" / "assistant"
    plain = yaml.safe_load((assistant / "endpoints.yml").read_text())
    redis = yaml.safe_load((assistant / "endpoints-redis.yml").read_text())
    assert redis.pop("lock_store") == {
        "type": "bot.assistant.lock_store.AtomicRedisLockStore",
        "url": "${LOA_RASA_LOCK_STORE_HOST}",
        "port": "${LOA_RASA_LOCK_STORE_PORT}",
        "db": "${LOA_RASA_LOCK_STORE_DB}",
        "password": "${LOA_RASA_LOCK_STORE_PASSWORD}",
    }
    assert redis == plain


def journal_mode(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return str(db.execute("PRAGMA journal_mode").fetchone()[0])


@pytest.mark.parametrize("processes", [1, 2])
def test_the_tracker_store_is_in_wal_mode_before_rasa_starts(stack: Stack, processes: int) -> None:
    cfg = replace(
        stack.settings,
        rasa_tracker_db=str(stack.settings.var_dir / f"tracker-{processes}.db"),
        rasa_processes=processes,
        rasa_lock_store_url="redis://127.0.0.1/0",
    )
    several = Stack(cfg, model=stack.model, log_dir=stack.log_dir)
    several.processes = []  # only what start() prepares
    several.start()
    several.stop()
    assert journal_mode(Path(cfg.rasa_tracker_db)) == "wal"
