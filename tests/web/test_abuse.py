"""A web chat flood with rotating ids and addresses: Rasa's web chat call rate stays under the
site-wide cap, and a Telegram user is still answered promptly."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from testkit.fakes.telegram import update_message
from tests.channels_rig import TELEGRAM_SECRET, Rig, rig, wait_for

DATABASES = ("sqlite", "postgresql")
CAP = 5.0  # web chat messages per second to Rasa, for the whole site
TELEGRAM_USER = 4242


@pytest.fixture
def app(database_url, session_factory) -> Iterator[Rig]:
    with rig(
        database_url,
        session_factory,
        webchat_nlu_per_second=CAP,
        trusted_proxy_header="X-Forwarded-For",
    ) as r:
        yield r


def _flood(url: str, stop: threading.Event, statuses: list[int], worker: int) -> None:
    """Post as fast as possible, each time as a new browser from a new address."""
    i = 0
    with httpx.Client(base_url=url, timeout=10) as client:
        while not stop.is_set():
            i += 1
            client.cookies.clear()
            response = client.post(
                "/api/chat/messages",
                json={"message_id": str(i), "text": "spam"},
                headers={"x-forwarded-for": f"10.{worker}.{i // 250}.{i % 250}"},
            )
            statuses.append(response.status_code)


def test_a_rotating_flood_stays_under_the_cap_and_telegram_is_still_answered(app: Rig) -> None:
    stop = threading.Event()
    statuses: list[int] = []
    workers = [
        threading.Thread(target=_flood, args=(app.url, stop, statuses, n), daemon=True)
        for n in range(4)
    ]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    try:
        wait_for(lambda: len(statuses) > 50, timeout=30)  # the flood is on
        asked = time.monotonic()
        update = update_message(1, TELEGRAM_USER, "số đường dây nóng")
        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
        assert app.post("/webhooks/telegram", update, headers).status_code == 200
        wait_for(lambda: any(m["chat_id"] == TELEGRAM_USER for m in app.telegram.sent))
        telegram_wait = time.monotonic() - asked
        time.sleep(1.0)  # keep flooding a little after the Telegram answer
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
            assert not worker.is_alive()
    elapsed = time.monotonic() - started
    webchat_calls = [r for r in app.rasa.received if r["sender"].startswith("webchat:")]
    allowed = 2 * CAP + CAP * elapsed  # the burst, then the refill
    assert statuses.count(429) > len(webchat_calls)  # it was a flood, and it was held back
    assert 0 < len(webchat_calls) <= allowed
    assert set(statuses) <= {200, 429}
    assert telegram_wait < 3.0, f"Telegram answered after {telegram_wait:.2f} s"
