"""A web chat flood with rotating ids and addresses: Rasa's web chat call rate stays under the
site-wide cap, the web chat holds at most its turns in Rasa, and a Telegram user is still
answered promptly."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from bot.web.webchat import Bulkhead
from testkit.fakes.telegram import update_message
from tests.channels_rig import TELEGRAM_SECRET, Rig, rig, wait_for

DATABASES = ("sqlite", "postgresql")
CAP = 5.0  # web chat messages per second to Rasa, for the whole site
TELEGRAM_USER = 4242


@pytest.fixture
def app(database_url, session_factory) -> Iterator[Rig]:
    # A stopped clock: the site's bucket holds its burst and never refills, so the flood is
    # held back however slowly a loaded machine posts it (on real time, a machine under a load
    # of 6 posted so slowly that the refill let most of the flood through). The refill itself
    # is tested in tests/web/test_throttle.py.
    with rig(
        database_url,
        session_factory,
        clock=lambda: 0.0,
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
    webchat_calls = [r for r in app.rasa.received if r["sender"].startswith("webchat:")]
    allowed = 2 * CAP  # the burst; the stopped clock refills nothing
    assert statuses.count(429) > len(webchat_calls)  # it was a flood, and it was held back
    assert 0 < len(webchat_calls) <= allowed
    assert set(statuses) <= {200, 429}
    assert telegram_wait < 3.0, f"Telegram answered after {telegram_wait:.2f} s"


def test_the_web_chat_never_holds_more_than_its_turns_in_rasa(
    database_url, session_factory
) -> None:
    """A slow Rasa and twelve browsers at once: two web chat turns in Rasa at a time, the
    others wait their turn and are answered."""
    with rig(
        database_url,
        session_factory,
        trusted_proxy_header="X-Forwarded-For",
        webchat_rasa_concurrency=2,
    ) as app:
        app.rasa.delay = 0.3
        statuses: list[int] = []

        def browser(n: int) -> None:
            with httpx.Client(base_url=app.url, timeout=30) as client:
                response = client.post(
                    "/api/chat/messages",
                    json={"message_id": "1", "text": "xin chào"},
                    headers={"x-forwarded-for": f"10.9.0.{n}"},
                )
                statuses.append(response.status_code)

        threads = [threading.Thread(target=browser, args=(n,)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
            assert not thread.is_alive()
    assert statuses == [200] * 12
    assert app.rasa.max_in_flight == 2


async def test_a_full_bulkhead_refuses_at_once_and_a_long_wait_gives_up() -> None:
    turns = Bulkhead(1, wait=0.2, queue=1)
    assert await turns.enter()  # the one place
    waiter = asyncio.create_task(turns.enter())
    await asyncio.sleep(0)  # it is queued now
    assert turns.waiting == 1
    assert not await turns.enter()  # the queue is full: refused without waiting
    assert not await waiter  # no place within 0.2 s
    turns.leave()
    assert await turns.enter()  # the place is free again
