"""What the delivery tests share: the worker wired to the fake Telegram and Zalo OA APIs, people
with accounts and subscriptions, and running the worker until nothing is left to do."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.delivery import Worker
from bot.alerts.rules import SendRules
from bot.alerts.subscriptions import AreaCode, subscribe
from bot.channels.tokens import DbTokenStore
from bot.storage.alerts import PENDING, SENDING, Delivery
from bot.storage.conversations import ChannelAccount, account_for
from connectors.ratelimit import RateLimiter
from connectors.telegram.outbound import TelegramChannel, make_bot
from connectors.telegram.request import AiohttpRequest
from connectors.zalo_oa.outbound import ZaloOAChannel
from connectors.zalo_oa.tokens import Tokens, ZaloTokens
from testkit.fakes import telegram as tg
from testkit.fakes import zalo_oa as oa

NO_RULES = SendRules(quiet=None, daily_cap=0)  # tests must not depend on the time of day


@dataclass
class MovableClock:
    """Real time plus an offset the test moves forward (back-off waits pass at once)."""

    offset: float = 0.0
    moves: list[float] = field(default_factory=list)
    stopped_at: datetime | None = None  # set: the date stands still between moves

    def now(self) -> datetime:
        return (self.stopped_at or datetime.now(UTC)) + timedelta(seconds=self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        self.moves.append(round(seconds, 1))


def worker(
    sessions: sessionmaker[Session],
    client: httpx.AsyncClient,
    *,
    telegram_url: str,
    zalo_url: str | None = None,
    rules: SendRules = NO_RULES,
    clock: MovableClock | None = None,
    telegram_per_second: float = 30,
    worker_id: str | None = None,
    lease: float = 30.0,
) -> Worker:
    """A worker on the fake Telegram (and Zalo OA, if given) at the channels' real limits."""
    request = AiohttpRequest(64, read_timeout=15)
    OPENED.append(request)
    channels: dict = {
        "telegram": TelegramChannel(make_bot(tg.TOKEN, telegram_url, request=request))
    }
    limiters = {"telegram": RateLimiter(per_second=telegram_per_second, chat_interval=1.0)}
    if zalo_url:
        initial = Tokens(oa.ACCESS_TOKEN, oa.REFRESH_TOKEN, time.time() + 20 * 3600)
        tokens = ZaloTokens(
            client=client,
            store=DbTokenStore(sessions=sessions, channel="zalo_oa", initial=initial),
            oauth_base_url=zalo_url,
            app_id=oa.APP_ID,
            app_secret=oa.APP_SECRET,
        )
        channels["zalo_oa"] = ZaloOAChannel(client=client, tokens=tokens, base_url=zalo_url)
        limiters["zalo_oa"] = RateLimiter(per_second=60, chat_interval=0.2)
    return Worker(
        sessions=sessions,
        channels=channels,
        limiters=limiters,
        rules=rules,
        worker_id=worker_id,
        lease=lease,
        now=clock.now if clock else (lambda: datetime.now(UTC)),
    )


OPENED: list[AiohttpRequest] = []  # the workers' Telegram connections, closed by close_opened


async def close_opened() -> None:
    """Close the Telegram connections the test's workers opened (in the test's event loop):
    one left open is reported when collected, in whatever test runs then."""
    while OPENED:
        await OPENED.pop().shutdown()


def person(
    session: Session,
    sender: str,
    *areas: AreaCode,
    wrote_ago: timedelta = timedelta(hours=1),
    same_person_as: ChannelAccount | None = None,
) -> ChannelAccount:
    """An account ``channel:id`` that last wrote ``wrote_ago``, subscribed to ``areas``."""
    channel, _, external_id = sender.partition(":")
    account = account_for(session=session, channel=channel, external_id=external_id)
    if same_person_as is not None:
        account.person_id = same_person_as.person_id
    account.last_inbound_at = datetime.now(UTC) - wrote_ago
    session.flush()
    if areas:
        subscribe(session=session, account_id=account.id, areas=areas, now=datetime.now(UTC))
    session.flush()
    return account


def open_rows(sessions: sessionmaker[Session]) -> list[tuple[str, datetime | None]]:
    with sessions() as session:
        return list(
            session.execute(  # type: ignore[arg-type]
                select(Delivery.status, Delivery.next_attempt_at).where(
                    Delivery.status.in_((PENDING, SENDING))
                )
            ).all()
        )


def statuses(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        return dict(
            session.execute(  # type: ignore[arg-type]
                select(Delivery.status, func.count()).group_by(Delivery.status)
            ).all()
        )


async def settle(w: Worker, clock: MovableClock | None = None, *, timeout: float = 30.0) -> None:
    """Passes of the worker until no delivery is pending or sending. A wait for a retry
    passes on ``clock`` when given (else in real time, e.g. a 429's retry_after)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = await w.pass_once()
        await w.drain()
        left = open_rows(w.sessions)
        if not left:
            return
        if not started:
            due = min((t for _, t in left if t is not None), default=None)
            if clock is not None and due is not None and due > clock.now():
                clock.advance((due - clock.now()).total_seconds() + 0.01)
            else:
                await asyncio.sleep(0.05)
    raise AssertionError(f"the worker did not finish: {statuses(w.sessions)}")
