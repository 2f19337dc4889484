"""The Rasa client over several servers: each person always on the same one, people spread
over all, a refused connection tried on the next server (other failures are not), and no more
turns in one server at once than the limit."""

from __future__ import annotations

import asyncio
import zlib
from collections import Counter

import httpx
import pytest

from bot.rasa_client import RasaClient, RasaUnavailable
from testkit.fakes.rasa import FakeRasa
from testkit.fakes.server import free_port, serve

URLS = ("http://127.0.0.1:5005", "http://127.0.0.1:5006", "http://127.0.0.1:5007")


def client(urls: str | tuple[str, ...]) -> RasaClient:
    return RasaClient(urls, client=httpx.AsyncClient(), timeout=5)


def test_one_url_as_before() -> None:
    rasa = client("http://127.0.0.1:5005/")
    assert rasa.base_urls == ("http://127.0.0.1:5005",)
    assert rasa.base_url == "http://127.0.0.1:5005"
    assert rasa.urls_for("telegram:1") == ("http://127.0.0.1:5005",)


def test_a_person_always_goes_to_the_same_server_and_people_spread() -> None:
    rasa = client(URLS)
    senders = [f"zalo_oa:{n}" for n in range(3000)]
    first = {sender: rasa.urls_for(sender)[0] for sender in senders}
    # Stable: the same in a new client (another app process) and by the documented rule.
    again = client(URLS)
    assert all(again.urls_for(s)[0] == url for s, url in first.items())
    assert first["zalo_oa:7"] == URLS[zlib.crc32(b"zalo_oa:7") % 3]
    spread = Counter(first.values())
    assert set(spread) == set(URLS)
    assert all(800 < n < 1200 for n in spread.values()), spread
    # The others follow in order, each server once.
    order = rasa.urls_for("zalo_oa:7")
    assert sorted(order) == sorted(URLS)
    assert order == URLS[URLS.index(order[0]) :] + URLS[: URLS.index(order[0])]


def sender_on(rasa: RasaClient, url: str) -> str:
    return next(s for n in range(100) if rasa.urls_for(s := f"webchat:{n}")[0] == url)


async def test_a_refused_connection_goes_to_the_next_server() -> None:
    fake = FakeRasa()
    with serve(fake.app()) as up:
        down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        async with httpx.AsyncClient() as http:
            rasa = RasaClient((down, up), client=http, timeout=5)
            person = sender_on(rasa, down)
            replies = await rasa.converse(person, "xin chào")
            assert [r.text for r in replies] == ["echo: xin chào"]
            assert [b["sender"] for b in fake.received] == [person]
            # Its own server answers: it stays there.
            other = sender_on(rasa, up)
            await rasa.converse(other, "a")
            assert len(fake.received) == 2


async def test_every_server_refusing_is_unavailable() -> None:
    downs = tuple(f"http://127.0.0.1:{free_port()}" for _ in range(2))
    async with httpx.AsyncClient() as http:
        with pytest.raises(RasaUnavailable, match="unreachable"):
            await RasaClient(downs, client=http, timeout=5).converse("webchat:1", "a")


@pytest.mark.parametrize("mode", ["error", "timeout"])
async def test_other_failures_are_not_sent_again_elsewhere(mode: str) -> None:
    # A 500 or a timeout may come after Rasa took the turn: sending it to another server
    # could answer it twice, so it is left to the gateway's retry.
    broken, spare = FakeRasa(mode="error" if mode == "error" else "ok"), FakeRasa()
    broken.delay = 2.0 if mode == "timeout" else 0.0
    with serve(broken.app()) as first, serve(spare.app()) as second:
        async with httpx.AsyncClient() as http:
            rasa = RasaClient((first, second), client=http, timeout=0.5)
            with pytest.raises(RasaUnavailable):
                await rasa.converse(sender_on(rasa, first), "a")
    assert spare.received == []


def test_no_url_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        client(())


@pytest.mark.parametrize(("limit", "most"), [(3, 3), (None, 12)])
async def test_turns_beyond_the_limit_wait_in_the_app_not_in_rasa(
    limit: int | None, most: int
) -> None:
    fake = FakeRasa(delay=0.2)
    with serve(fake.app()) as url:
        async with httpx.AsyncClient() as http:
            # The wait for a slot is not the request's: 12 turns of 0.2 s three at a time take
            # 0.8 s, past the 0.5 s timeout, and none times out.
            rasa = RasaClient(url, client=http, timeout=0.5, concurrency=limit)
            people = [f"zalo_oa:{n}" for n in range(12)]
            answers = await asyncio.gather(*(rasa.converse(p, f"hỏi {p}") for p in people))
    assert [a[0].text for a in answers] == [f"echo: hỏi {p}" for p in people]
    assert fake.max_in_flight == most
