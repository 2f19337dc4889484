"""Open-loop load over the Zalo OA webhook: a capacity curve, and many short conversations.

Messages go out at even intervals whatever the replies do (one task per message, so a slow
reply never slows the sender); testkit.capacity says when and from whom. A message is
answered by the next reply other than a gateway notice that reaches the fake Zalo OA API
for its sender; latency is from the webhook POST to that reply's arrival at the fake (the
fake runs in this process, on the same monotonic clock).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.abusers import zalo_shot
from bench.common import NOTICES, QUESTIONS, latency_summary, process_stats
from bot.supervisor import Stack
from testkit import capacity
from testkit.fakes import zalo_oa as oa

LOST_AFTER = 30.0  # seconds after a step's end (or a message, in conversations): lost
REST = 4.0  # seconds a person waits after an answer before writing again (see People)
PAUSE = 1.0  # seconds of quiet between steps, once the previous one has drained
DRAIN_MAX = 120.0  # seconds after a step's end to wait for late answers to its lost messages
CURVE_BASE = 3_000_000  # Zalo user ids of the curve's people: CURVE_BASE + person
CONVERSATION_BASE = 5_000_000  # …and of the conversations' people


@dataclass
class Inbox:
    """Replies at the fake, one pass over its new entries every few ms: each resolves the
    waiting message of its recipient; their arrival times make the achieved rate."""

    fake: oa.FakeZaloOA
    seen: int = 0
    waiting: dict[str, asyncio.Future[float]] = field(default_factory=dict)
    answers_at: list[float] = field(default_factory=list)
    notices: int = 0
    unexpected: int = 0  # a reply to someone with nothing waiting

    def expect(self, who: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[who] = future
        return future

    def look(self) -> None:
        end = len(self.fake.sent)  # the fake's thread appends; entries before ``end`` are whole
        for entry in self.fake.sent[self.seen : end]:
            if entry.get("text") in NOTICES:
                self.notices += 1
                continue
            self.answers_at.append(entry["at"])
            future = self.waiting.pop(entry["user_id"], None)
            if future is None or future.done():
                self.unexpected += 1
            else:
                future.set_result(entry["at"])
        self.seen = end

    async def watch(self) -> None:
        while True:
            self.look()
            await asyncio.sleep(0.005)

    def answered_between(self, start: float, end: float) -> int:
        return sum(1 for at in self.answers_at if start <= at < end)


@dataclass
class Load:
    """One stack under load: the client, the inbox and what went wrong on the way in."""

    client: httpx.AsyncClient
    inbox: Inbox
    # Each of the stack's processes' figures (bench.common.process_stats), for their CPU use.
    stats: Callable[[], dict[str, dict[str, float]]] = dict
    refused: int = 0  # webhook POSTs not answered 200, or not answered at all

    async def message(self, who: str, text: str, deadline: float) -> tuple[float, float | None]:
        """POST one message from ``who``; (sent at, answered at or None if not by deadline)."""
        answer = self.inbox.expect(who)
        shot = zalo_shot("curve", who, text)
        sent = time.monotonic()
        try:
            response = await self.client.post(shot.path, content=shot.content, headers=shot.headers)
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        if not ok:
            self.refused += 1
            self.inbox.waiting.pop(who, None)
            return sent, None
        try:
            return sent, await asyncio.wait_for(answer, max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            self.inbox.waiting.pop(who, None)
            return sent, None


async def _at(moment: float) -> None:
    if (delay := moment - time.monotonic()) > 0:
        await asyncio.sleep(delay)


async def step(
    load: Load, people: capacity.People, rng: random.Random, rate: float, seconds: float
) -> dict[str, Any]:
    """Offer ``rate`` messages a second for ``seconds``; wait until each is answered or lost
    (the queue drained); the step's figures."""
    start, answers_before, refused_before = (
        time.monotonic(),
        len(load.inbox.answers_at),
        load.refused,
    )
    end, late = start + seconds, 0.0
    sends: list[asyncio.Task[tuple[float, float | None]]] = []

    async def one(person: int) -> tuple[float, float | None]:
        sent, done = await load.message(
            str(CURVE_BASE + person), rng.choice(QUESTIONS), end + LOST_AFTER
        )
        if done is not None:
            people.release(person, time.monotonic())
        return sent, done

    cpu_before, own_before = load.stats(), time.process_time()
    for offset in capacity.send_offsets(rate, seconds):
        await _at(start + offset)
        late = max(late, time.monotonic() - start - offset)
        sends.append(asyncio.create_task(one(people.take(time.monotonic()))))
    await _at(end)
    cpu = _cpu_percent(cpu_before, load.stats(), seconds)
    cpu["bench"] = round(100 * (time.process_time() - own_before) / seconds)  # and the fakes
    results = await asyncio.gather(*sends)
    # A lost message may still be queued in the app: let it drain before the next step.
    accepted = len(results) - (load.refused - refused_before)
    while len(load.inbox.answers_at) - answers_before < accepted:
        if time.monotonic() > end + DRAIN_MAX:
            break
        await asyncio.sleep(0.1)
    figures = capacity.step_figures(rate, seconds, results, load.inbox.answered_between(start, end))
    figures.update(
        people=people.created,
        max_send_lag_ms=round(late * 1000, 1),
        drained_after_s=round(time.monotonic() - end, 1),
        cpu_percent=cpu,
    )
    return figures


def _cpu_percent(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]], seconds: float
) -> dict[str, float]:
    """Each process's CPU use between two readings, in % of one core."""
    return {
        name: round(100 * (after[name]["cpu_s"] - p["cpu_s"]) / seconds)
        for name, p in before.items()
        if name in after
    }


def client(app_url: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
    return httpx.AsyncClient(base_url=app_url, timeout=LOST_AFTER, limits=limits)


async def curve(
    app_url: str,
    fake: oa.FakeZaloOA,
    stack: Stack,
    rates: list[float],
    seconds: float,
    warmup: float,
    seed: int,
) -> dict[str, Any]:
    """A warm-up (not measured) at the first rate, then each rate in turn."""
    inbox, rng = Inbox(fake), random.Random(seed)
    watcher = asyncio.create_task(inbox.watch())
    people = capacity.People(REST)
    async with client(app_url) as http:
        load = Load(http, inbox, stats=lambda: process_stats(stack))
        if warmup > 0 and rates:
            await step(load, people, rng, rates[0], warmup)
        steps = []
        for rate in rates:
            await asyncio.sleep(PAUSE)
            steps.append(await step(load, people, rng, rate, seconds))
    watcher.cancel()
    return {
        "steps": steps,
        "refused": load.refused,
        "notices": inbox.notices,
        "unexpected_replies": inbox.unexpected,
    }


def checkpoints(total: int) -> list[int]:
    """After how many finished conversations memory is read: a fifth (past warm-up), half,
    all."""
    return sorted({n for n in (total // 5, total // 2, total) if n > 0})


async def conversations(
    app_url: str,
    fake: oa.FakeZaloOA,
    stack: Stack,
    total: int,
    rate: float,
    settle: float = 5.0,
) -> dict[str, Any]:
    """``total`` people, each a conversation of 1 or 2 messages (the second a second after the
    first's answer), started at even intervals so that about ``rate`` messages a second are
    offered; each process's memory at rest (``settle`` seconds after the call) and after each
    checkpoint's conversations."""
    await asyncio.sleep(settle)
    inbox = Inbox(fake)
    watcher = asyncio.create_task(inbox.watch())
    marks = checkpoints(total)
    samples = [(0, process_stats(stack))]  # (conversations finished, each process's figures)
    timings: list[float] = []
    finished = lost = messages = 0

    async def talk(load: Load, person: int) -> None:
        nonlocal finished, lost, messages
        rng = random.Random(person)
        for turn in range(rng.choice((1, 2))):
            if turn:
                await asyncio.sleep(1.0)
            messages += 1
            who = str(CONVERSATION_BASE + person)
            deadline = time.monotonic() + LOST_AFTER
            sent, done = await load.message(who, rng.choice(QUESTIONS), deadline)
            if done is None:
                lost += 1
                break
            timings.append((done - sent) * 1000)
        finished += 1

    async def sampler() -> None:
        for mark in marks:
            while finished < mark:
                await asyncio.sleep(0.05)
            samples.append((mark, process_stats(stack)))

    started = time.monotonic()
    per_conversation = 1.5 / rate  # 1 or 2 messages each, 1.5 on average
    async with client(app_url) as http:
        load = Load(http, inbox)
        reader = asyncio.create_task(sampler())
        talks = []
        for person in range(total):
            await _at(started + person * per_conversation)
            talks.append(asyncio.create_task(talk(load, person)))
        await asyncio.gather(*talks)
        await reader
    watcher.cancel()
    first, warm, after = samples[0][1], samples[min(1, len(samples) - 1)][1], samples[-1][1]
    return {
        "conversations": total,
        "offered_messages_per_s": rate,
        "messages": messages,
        "lost": lost,
        "refused": load.refused,
        "seconds": round(time.monotonic() - started, 1),
        **(latency_summary(timings) if timings else {}),
        "samples": [{"conversations": n, "rss_mb": _rss(p)} for n, p in samples],
        "growth_mb": _growth(first, after),
        "growth_after_warmup_mb": _growth(warm, after),
    }


def _rss(processes: dict[str, dict[str, float]]) -> dict[str, float]:
    return {name: p["rss_mb"] for name, p in processes.items()}


def _growth(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]
) -> dict[str, float]:
    return {
        name: round(after[name]["rss_mb"] - p["rss_mb"], 1)
        for name, p in before.items()
        if name in after
    }
