"""Zalo OA token refresh against the fake OAuth server: the new pair is saved before anything
can fail, odd ``expires_in`` values are survived, and failed refreshes keep the stored pair."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.tokens import DbTokenStore
from bot.storage.channel_tokens import ChannelToken
from connectors.zalo_oa.tokens import DEFAULT_LIFETIME, TokenRefreshFailed, Tokens, ZaloTokens
from testkit.fakes import zalo_oa as oa
from testkit.fakes.server import free_port, serve
from tests.two_processes import own_sessions, run_in_threads

DATABASES = ("sqlite", "postgresql")  # run every test on both
INITIAL = Tokens(oa.ACCESS_TOKEN, oa.REFRESH_TOKEN, time.time() + 3600)


class FlakyStore(DbTokenStore):
    """The database store, whose next ``failing_saves`` saves fail as a full disk would."""

    failing_saves = 0

    def save(self, tokens: Tokens) -> None:
        if self.failing_saves:
            self.failing_saves -= 1
            raise OperationalError("UPDATE channel_tokens", {}, Exception("disk I/O error"))
        super().save(tokens)


@dataclass
class Rig:
    zalo: oa.FakeZaloOA
    store: FlakyStore
    tokens: ZaloTokens


@pytest.fixture
def fake() -> Iterator[tuple[oa.FakeZaloOA, str]]:
    zalo = oa.FakeZaloOA()
    with serve(zalo.app()) as url:
        yield zalo, url


@pytest.fixture
async def rig(fake, session_factory: sessionmaker[Session]) -> AsyncIterator[Rig]:
    zalo, url = fake
    store = FlakyStore(sessions=session_factory, channel="zalo_oa", initial=INITIAL)
    async with httpx.AsyncClient() as client:
        yield Rig(zalo, store, tokens_for(client, store, url))


def tokens_for(client: httpx.AsyncClient, store: DbTokenStore, url: str) -> ZaloTokens:
    return ZaloTokens(
        client=client, store=store, oauth_base_url=url, app_id=oa.APP_ID, app_secret=oa.APP_SECRET
    )


def same(stored: Tokens | None, expected: Tokens) -> bool:
    """The same pair (the database keeps times to the microsecond)."""
    return (
        stored is not None
        and (stored.access_token, stored.refresh_token)
        == (expected.access_token, expected.refresh_token)
        and abs(stored.expires_at - expected.expires_at) < 0.001
    )


def no_tokens_in(records: list[logging.LogRecord], *tokens: str) -> bool:
    return not any(t in r.getMessage() for r in records for t in tokens)


@pytest.mark.parametrize(
    ("label", "expires_in", "lifetime"),
    [
        ("a number", 7200, 7200),
        ("a float", 7200.0, 7200),
        ("a string, as Zalo sends it", "7200", 7200),
        ("a decimal string", "7200.0", 7200),
        ("the issue's value", "90000.0", 90000),
        ("missing", oa.NO_EXPIRES_IN, DEFAULT_LIFETIME),
        ("null", None, DEFAULT_LIFETIME),
        ("words", "soon", DEFAULT_LIFETIME),
        ("negative", -5, DEFAULT_LIFETIME),
        ("infinite", "1e400", DEFAULT_LIFETIME),
        ("a boolean", True, DEFAULT_LIFETIME),
        ("a list", [7200], DEFAULT_LIFETIME),
    ],
)
async def test_expires_in_is_read_defensively_and_the_new_pair_saved(
    rig: Rig, label: str, expires_in: Any, lifetime: float
) -> None:
    rig.zalo.expires_in = expires_in
    fresh = await rig.tokens.refresh(stale=oa.ACCESS_TOKEN)
    assert same(rig.store.load(), fresh)
    assert fresh.refresh_token == rig.zalo.refresh_token != oa.REFRESH_TOKEN
    assert fresh.expires_at - time.time() == pytest.approx(lifetime, abs=60)


@pytest.mark.parametrize(
    ("label", "breaks", "recovers"),
    [
        ("refused: the refresh token was used", "used", False),
        ("refused: wrong app secret", "secret", False),
        ("HTTP 500 from a proxy", "500", True),
        ("HTTP 200, not JSON", "html", True),
        ("no answer at all", "unreachable", True),
    ],
)
async def test_a_failed_refresh_keeps_the_stored_pair(
    rig: Rig, caplog: pytest.LogCaptureFixture, label: str, breaks: str, recovers: bool
) -> None:
    tokens = rig.tokens
    if breaks == "used":
        rig.zalo.refresh_token = "TEST-a-newer-refresh-token"
    elif breaks == "secret":
        tokens.app_secret = "TEST-wrong-secret"
    elif breaks == "unreachable":
        real_url, tokens.url = tokens.url, f"http://127.0.0.1:{free_port()}/v4/oa/access_token"
    else:
        rig.zalo.fail_next_refresh(1, breaks)
    with caplog.at_level(logging.INFO), pytest.raises(TokenRefreshFailed):
        await tokens.refresh(stale=oa.ACCESS_TOKEN)
    assert same(rig.store.load(), INITIAL)
    assert [r.levelname for r in caplog.records if r.name.startswith("connectors")] == ["ERROR"]
    assert no_tokens_in(caplog.records, oa.ACCESS_TOKEN, oa.REFRESH_TOKEN)

    if breaks == "unreachable":
        tokens.url = real_url
    if recovers:  # the refresh token was not spent: the kept pair still works
        fresh = await tokens.refresh(stale=oa.ACCESS_TOKEN)
        assert same(rig.store.load(), fresh) and fresh != INITIAL


async def test_a_failed_save_keeps_the_new_pair_in_memory_and_saves_it_again(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.store.failing_saves = 1
    with caplog.at_level(logging.INFO):
        fresh = await rig.tokens.refresh(stale=oa.ACCESS_TOKEN)
    assert same(rig.store.load(), INITIAL)  # the save failed
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "NOT saved" in errors[0]
    assert no_tokens_in(caplog.records, fresh.access_token, fresh.refresh_token)

    # The process keeps working with the new pair (no second refresh: the old one is spent),
    # and its next use saves it.
    assert await rig.tokens.access_token() == fresh.access_token
    assert rig.zalo.refresh_count == 1
    assert same(rig.store.load(), fresh)


def test_two_processes_refreshing_at_once_spend_the_refresh_token_once(
    fake, database_url: str
) -> None:
    """Two processes (a thread, event loop, engine and HTTP client each) find the token stale
    at the same moment: the barrier lets neither go on before both have read the stored pair.
    One refreshes; the other waits for its pair instead of spending the used refresh token."""
    zalo, url = fake
    setup = own_sessions(database_url)
    DbTokenStore(sessions=setup, channel="zalo_oa", initial=None).save(INITIAL)
    barrier = threading.Barrier(2, timeout=20)
    results: list[Tokens] = []

    def process() -> None:
        factory = own_sessions(database_url)
        read: list[bool] = []

        @event.listens_for(factory.kw["bind"], "after_cursor_execute")
        def read_together(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
            if "FROM channel_tokens" in statement and not read:
                read.append(True)
                barrier.wait()

        async def run() -> None:
            async with httpx.AsyncClient() as client:
                store = DbTokenStore(sessions=factory, channel="zalo_oa", initial=None)
                tokens = tokens_for(client, store, url)
                results.append(await tokens.refresh(stale=INITIAL.access_token))

        asyncio.run(run())
        factory.kw["bind"].dispose()

    run_in_threads(process, process)
    assert zalo.refresh_count == 1
    stored = DbTokenStore(sessions=setup, channel="zalo_oa", initial=None).load()
    assert stored is not None and stored.refresh_token == zalo.refresh_token
    assert [(t.access_token, t.refresh_token) for t in results] == [
        (stored.access_token, stored.refresh_token)
    ] * 2
    setup.kw["bind"].dispose()


@pytest.mark.parametrize(
    ("label", "claimed_for", "refreshed"),
    [
        ("a dead process's claim has lapsed: refresh", -1.0, True),
        ("a live process's claim: wait for its pair, never spend the token", 60.0, False),
    ],
)
async def test_a_refresh_claim_of_another_process(
    rig: Rig, label: str, claimed_for: float, refreshed: bool
) -> None:
    assert rig.store.load() == INITIAL  # the row exists
    with rig.store.sessions() as s:
        row = s.get(ChannelToken, "zalo_oa")
        assert row is not None
        row.refresh_claimed_until = datetime.now(UTC) + timedelta(seconds=claimed_for)
        s.commit()
    rig.tokens.claim_wait = 1.0  # the live one never brings its pair here
    if refreshed:
        fresh = await rig.tokens.refresh(stale=oa.ACCESS_TOKEN)
        assert same(rig.store.load(), fresh)
    else:
        with pytest.raises(TokenRefreshFailed):
            await rig.tokens.refresh(stale=oa.ACCESS_TOKEN)
        assert same(rig.store.load(), INITIAL)
    assert rig.zalo.refresh_count == int(refreshed)
