"""The app wired to fake Telegram, Zalo OA and Zalo Bot APIs and a fake Rasa, all over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from bot import settings as settings_module
from bot.clock import utcnow
from bot.web.app import create_app
from testkit import http
from testkit.fakes import telegram as tg
from testkit.fakes import zalo_bot as zb
from testkit.fakes import zalo_oa as oa
from testkit.fakes.env import TELEGRAM_SECRET, ZALO_BOT_SECRET, ZALO_OA_SECRET_KEY, channel_env
from testkit.fakes.rasa import FakeRasa
from testkit.fakes.server import serve, serve_all

__all__ = ["TELEGRAM_SECRET", "ZALO_BOT_SECRET", "ZALO_OA_SECRET_KEY", "channel_env"]

FIXTURES = Path(__file__).parent / "fixtures" / "webhooks"
# When the webhook fixtures were recorded: the rig's wall clock stands here by default, so
# their Zalo timestamps stay inside the accepted window whatever today's date.
FIXTURES_NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)  # the day the fixture files were made


def fixtures_now() -> datetime:
    """The clock for tests that post the fixture files: Zalo refuses events dated more than
    a day away, and the files keep the date they were written on."""
    return FIXTURES_NOW


@dataclass
class Rig:
    url: str
    rasa: FakeRasa
    telegram: tg.FakeTelegram
    zalo_oa: oa.FakeZaloOA
    zalo_bot: zb.FakeZaloBot
    sessions: sessionmaker[Session]
    telegram_url: str = ""
    app: Any = None  # the FastAPI app under test, for what it publishes on ``app.state``

    def post(
        self, path: str, body: bytes | dict[str, Any], headers: dict[str, str]
    ) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        headers = {"content-type": "application/json", **headers}
        return http.post(f"{self.url}{path}", content=raw, headers=headers, timeout=10)

    def settle(self) -> None:
        """Wait until every answer the webhooks started has finished: then whatever was going
        to reach Rasa has, and "nothing reached Rasa" is a claim, not a guess."""
        wait_for(lambda: not self.app.state.webhook_tasks)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def zalo_oa_headers(raw: bytes, secret: str = ZALO_OA_SECRET_KEY) -> dict[str, str]:
    data = json.loads(raw)
    return {
        "X-ZEvent-Signature": oa.sign_event(
            str(data["app_id"]), raw, str(data["timestamp"]), secret
        )
    }


def wait_for(condition: Callable[[], Any], timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@contextmanager
def rig(
    database_url: str,
    sessions: sessionmaker[Session],
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = utcnow,
    **overrides: Any,
) -> Iterator[Rig]:
    """The app with every channel on (or as ``overrides`` say), and the fakes behind it;
    ``clock`` paces the throttles, ``now`` dates channel events."""
    fakes = Rig("", FakeRasa(), tg.FakeTelegram(), oa.FakeZaloOA(), zb.FakeZaloBot(), sessions)
    with ExitStack() as stack:
        apps = (fakes.rasa.app(), fakes.telegram.app(), fakes.zalo_oa.app(), fakes.zalo_bot.app())
        rasa_url, tg_url, oa_url, zb_url = stack.enter_context(serve_all(*apps))
        fakes.telegram_url = tg_url
        values: dict[str, Any] = dict(
            database_url=database_url,
            rasa_url=rasa_url,
            retry_interval=0.2,
            telegram_bot_token=tg.TOKEN,
            telegram_webhook_secret=TELEGRAM_SECRET,
            telegram_api_base_url=tg_url,
            zalo_oa_app_id=oa.APP_ID,
            zalo_oa_app_secret=oa.APP_SECRET,
            zalo_oa_secret_key=ZALO_OA_SECRET_KEY,
            zalo_oa_access_token=oa.ACCESS_TOKEN,
            zalo_oa_refresh_token=oa.REFRESH_TOKEN,
            zalo_oa_api_base_url=oa_url,
            zalo_oauth_base_url=oa_url,
            zalo_bot_token=zb.TOKEN,
            zalo_bot_webhook_secret=ZALO_BOT_SECRET,
            zalo_bot_api_base_url=zb_url,
            webchat_secret="test-webchat-secret",  # no key file written under var/
        )
        cfg = replace(
            settings_module.Settings(), **{**values, **overrides}
        )  # defaults, not this shell's environment
        fakes.app = create_app(cfg, clock=clock, now=now)
        fakes.url = stack.enter_context(serve(fakes.app))
        yield fakes
