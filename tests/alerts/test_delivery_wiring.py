"""Where the delivery worker runs: one inside the app by default (started and stopped with
it, also with no sending channel, as in make run), none with EMBEDDED_WORKER=0; `loa worker`
refuses to start without a channel or with unreadable quiet hours."""

from __future__ import annotations

import time
from dataclasses import fields
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import settings as settings_module
from bot.alerts.delivery import Worker
from bot.cli import main
from bot.storage.alerts import DONE, UNREACHABLE, Broadcast, Delivery
from bot.storage.delivery import AlertWorker
from bot.storage.engine import sessions
from bot.storage.migrate import upgrade
from bot.web.app import create_app
from testkit import alerts_seed
from testkit.fakes import telegram as tg
from testkit.fakes.server import serve


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An environment of defaults (not this shell's) with a migrated database."""
    for spec in fields(settings_module.Settings):
        if name := spec.metadata.get("env"):
            monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'loa.db'}"
    upgrade(url)
    monkeypatch.setenv("LOA_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def workers(url: str) -> list[str]:
    with sessions(url)() as session:
        return list(session.scalars(select(AlertWorker.worker_id)))


def test_the_app_runs_one_worker_and_stops_it_cleanly(env: str) -> None:
    cfg = settings_module.Settings(
        database_url=env, telegram_bot_token=tg.TOKEN, webchat_secret="test-secret"
    )
    app = create_app(cfg)
    assert isinstance(app.state.delivery_worker, Worker)
    with serve(app):  # its lifespan starts the worker and stops it
        deadline = time.monotonic() + 10
        while not workers(env):
            assert time.monotonic() < deadline, "the embedded worker never beat"
            time.sleep(0.05)
    assert workers(env) == []  # stopped cleanly: its heartbeat row is gone


def test_with_only_the_web_chat_a_broadcast_finishes_and_says_whom_it_could_not_reach(
    env: str,
) -> None:
    """make run has no channel token: the web chat cannot be sent to, so its subscribers are
    marked unreachable and the broadcast is done, not "preparing" for ever."""
    factory = sessions(env)
    alerts_seed.subscribers(factory, 3, channel="webchat")
    with factory.begin() as session:
        broadcast_id = alerts_seed.approved_broadcast(session, areas=[(20, None)]).id
    # Quiet hours off: from 21:00 in Viet Nam (14:00 UTC) they would rightly hold it till 06:00.
    cfg = settings_module.Settings(database_url=env, webchat_secret="s", alert_quiet_hours="off")
    app = create_app(cfg)
    assert isinstance(app.state.delivery_worker, Worker)
    with serve(app):
        deadline = time.monotonic() + 30
        while True:
            with factory() as session:
                status = session.get(Broadcast, broadcast_id).status  # type: ignore[union-attr]
                outcomes = list(session.scalars(select(Delivery.status)))
            if status == DONE:
                break
            assert time.monotonic() < deadline, (status, outcomes)
            time.sleep(0.05)
    assert outcomes == [UNREACHABLE] * 3


def test_embedded_worker_0_leaves_deliveries_to_loa_worker(env: str) -> None:
    cfg = settings_module.Settings(
        database_url=env, telegram_bot_token=tg.TOKEN, embedded_worker=0, webchat_secret="s"
    )
    assert create_app(cfg).state.delivery_worker is None


def test_loa_worker_without_a_channel_says_so(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker"]) == 2
    assert "No channel is on" in capsys.readouterr().err


def test_loa_worker_names_a_bad_quiet_hours_setting(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", tg.TOKEN)
    monkeypatch.setenv("ALERT_QUIET_HOURS", "9pm-6am")
    assert main(["worker"]) == 2
    assert "ALERT_QUIET_HOURS must look like 21:00-06:00" in capsys.readouterr().err
