"""The abusers of the soak (bench/abuse.py), run in a process of their own.

Each kind of abuse is paced at a fixed rate, whatever the answers' pace, with at most
``MAX_IN_FLIGHT`` requests waiting per kind: a tick that finds that many still waiting is
counted as skipped (the app is not keeping up). Answers are tallied per request label: the
status code (with the webhooks' detail on a 200, so a replay shows as ``200 repeat``), or the
client error's name when no answer came.
"""

from __future__ import annotations

import asyncio
import json
import queue
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from bench import hostile
from bench.common import latency_summary
from testkit.fakes import telegram as tg
from testkit.fakes import zalo_oa as oa
from testkit.fakes.env import TELEGRAM_SECRET, ZALO_OA_SECRET_KEY

PROXY_HEADER = "X-Forwarded-For"  # the app is started trusting it; the soak plays the proxy
MAX_IN_FLIGHT = 64  # per abuse kind
TIMEOUT = 30.0  # seconds; longer counts as no answer
OVERSIZE = 1 << 20  # bytes streamed without a length by ``oversize_chunked``
RATES = {  # abuse kind → requests per second (times BENCH_ABUSE_SCALE)
    "web_flood_rotating": 20.0,  # web chat, no cookie, a new address each time
    "web_flood_one_address": 10.0,  # web chat, no cookie, one address
    "web_flood_one_conversation": 5.0,  # web chat, one browser (cookie kept), one address
    "telegram_flood": 10.0,  # one Telegram sender, new update ids, signed
    "replay": 10.0,  # normal users' signed updates sent again
    "fuzz": 20.0,  # bench/hostile.py, to every webhook and web chat route
    "oversize_chunked": 1.0,  # 1 MB chunked uploads, no Content-Length
}


@dataclass
class Tally:
    """Answers per request label, a few 5xx with the request that caused them, and ticks
    skipped per abuse kind."""

    answers: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    examples: list[dict[str, Any]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)

    def record(self, shot: hostile.Shot, answer: str, status: int = 0) -> None:
        self.answers[shot.label][answer] += 1
        if status >= 500 and len(self.examples) < 20:
            content = shot.content or b""
            self.examples.append(
                {
                    "label": shot.label,
                    "status": status,
                    "method": shot.method,
                    "path": shot.path,
                    "headers": shot.headers,
                    "body_bytes": len(content),
                    "body_head": repr(content[:300]),
                }
            )

    def plain(self) -> dict[str, Any]:
        return {
            "answers": {k: dict(v) for k, v in self.answers.items()},
            "examples": self.examples,
            "skipped": dict(self.skipped),
        }


def classes(answers: dict[str, int]) -> dict[str, int]:
    """Answers grouped: 2xx, 3xx, 4xx, 5xx; ``errors``: no answer (timeout, reset);
    ``unsent``: a request the client itself refused to send."""
    out = dict.fromkeys(("2xx", "3xx", "4xx", "5xx", "errors", "unsent"), 0)
    for answer, n in answers.items():
        if answer[:1].isdigit():
            out[f"{answer[0]}xx"] += n
        else:
            out["unsent" if answer.startswith("unsent") else "errors"] += n
    return out


async def send(
    client: httpx.AsyncClient, tally: Tally, shot: hostile.Shot, *, chunked: int = 0
) -> httpx.Response | None:
    """Send ``shot`` (or ``chunked`` bytes streamed without a length); record the answer."""
    content: Any = _chunks(chunked) if chunked else shot.content
    try:
        response = await client.request(
            shot.method, shot.path, headers=shot.headers, content=content
        )
    except (httpx.LocalProtocolError, httpx.InvalidURL, UnicodeError) as exc:
        tally.record(shot, f"unsent {type(exc).__name__}")
        return None
    except httpx.HTTPError as exc:
        tally.record(shot, type(exc).__name__)
        return None
    tally.record(shot, _answer(response), response.status_code)
    return response


def _answer(response: httpx.Response) -> str:
    """``200``, or ``200 repeat`` / ``200 ok`` / ``200 ignored`` for a webhook's answer."""
    status = str(response.status_code)
    if response.status_code == 200 and response.request.url.path.startswith("/webhooks/"):
        try:
            return f"{status} {response.json().get('detail')}"
        except (ValueError, AttributeError):
            return status
    return status


async def _chunks(total: int, size: int = 16 * 1024) -> Any:
    for _ in range(0, total, size):
        yield b"a" * size


class LoopLag:
    """How late a 100 ms timer fires: a busy event loop would inflate what it measures."""

    def __init__(self) -> None:
        self.lags_ms: list[float] = []

    async def watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + 0.1
            await asyncio.sleep(0.1)
            self.lags_ms.append((loop.time() - due) * 1000)

    def summary(self) -> dict[str, float]:
        return latency_summary(self.lags_ms) if self.lags_ms else {}


class _NoCookies(DefaultCookiePolicy):
    """A client that never keeps a cookie: every web chat post starts a new conversation."""

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False


def attack(
    app_url: str, seconds: float, seed: int, scale: float, go: Any, replays: Any, results: Any
) -> None:
    """Process entry: wait for ``go``, abuse for ``seconds``, put the tally on ``results``."""
    results.put(asyncio.run(_attack(app_url, seconds, seed, scale, go, replays)))


async def _attack(
    app_url: str, seconds: float, seed: int, scale: float, go: Any, replays: Any
) -> dict[str, Any]:
    rng = random.Random(seed)
    tally, lag, pool = Tally(), LoopLag(), ReplayPool(replays, rng)
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=200)
    jar = CookieJar(_NoCookies())
    plain = httpx.AsyncClient(base_url=app_url, timeout=TIMEOUT, limits=limits, cookies=jar)
    browser = httpx.AsyncClient(base_url=app_url, timeout=TIMEOUT, limits=limits)

    def web(label: str, address: Callable[[], str], client: httpx.AsyncClient) -> Any:
        return lambda i: send(client, tally, web_post(label, rng, address()))

    def replay(i: int) -> Awaitable[Any] | None:
        shot = pool.take()
        return send(plain, tally, shot) if shot else None

    kinds: dict[str, Callable[[int], Awaitable[Any] | None]] = {
        "web_flood_rotating": web("web_flood_rotating", lambda: rotating(rng), plain),
        "web_flood_one_address": web("web_flood_one_address", lambda: "203.0.113.7", plain),
        "web_flood_one_conversation": web(
            "web_flood_one_conversation", lambda: "203.0.113.8", browser
        ),
        "telegram_flood": lambda i: send(plain, tally, telegram_flood(i, rng)),
        "replay": replay,
        "fuzz": lambda i: send(plain, tally, hostile.fuzz(rng, i)),
        "oversize_chunked": lambda i: oversize(plain, tally, rng),
    }
    async with plain, browser:
        await asyncio.to_thread(go.wait)
        cpu, started = time.process_time(), time.monotonic()
        watcher = asyncio.create_task(lag.watch())
        await asyncio.gather(
            *(
                paced(kind, RATES[kind] * scale, seconds, make, tally)
                for kind, make in kinds.items()
                if RATES[kind] * scale > 0
            )
        )
        wall = time.monotonic() - started
        watcher.cancel()
    return {
        **tally.plain(),
        "wall_seconds": round(wall, 1),
        "cpu_percent": round(100 * (time.process_time() - cpu) / wall, 1),
        "loop_lag_ms": lag.summary(),
    }


async def paced(
    kind: str,
    rate: float,
    seconds: float,
    make: Callable[[int], Awaitable[Any] | None],
    tally: Tally,
) -> None:
    """Start one request every 1/``rate`` s for ``seconds``; wait for the last answers."""
    loop = asyncio.get_running_loop()
    start, tasks, i = loop.time(), set[asyncio.Future[Any]](), 0
    while (due := start + i / rate) < start + seconds:
        if (wait := due - loop.time()) > 0:
            await asyncio.sleep(wait)
        i += 1
        request = make(i) if len(tasks) < MAX_IN_FLIGHT else None
        if request is None:
            tally.skipped[kind] += 1
            continue
        task = asyncio.ensure_future(request)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks)


def rotating(rng: random.Random) -> str:
    """A new client address (sometimes behind an address the client claims itself)."""
    address = f"198.18.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    return f"10.0.0.1, {address}" if rng.random() < 0.2 else address


def web_post(label: str, rng: random.Random, address: str) -> hostile.Shot:
    body = {"message_id": str(uuid.uuid4()), "text": rng.choice(hostile.QUESTIONS)}
    headers = {PROXY_HEADER: address, "content-type": "application/json"}
    return hostile.Shot(label, "POST", "/api/chat/messages", headers, json.dumps(body).encode())


def telegram_shot(label: str, update_id: int, chat_id: int, text: str) -> hostile.Shot:
    update = tg.update_message(update_id, chat_id, text)
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    headers["content-type"] = "application/json"
    return hostile.Shot(label, "POST", "/webhooks/telegram", headers, json.dumps(update).encode())


def telegram_flood(i: int, rng: random.Random) -> hostile.Shot:
    text = rng.choice(hostile.QUESTIONS)
    return telegram_shot("telegram_flood", 3_000_000_000 + i, 666_666, text)


def zalo_shot(label: str, user_id: str, text: str) -> hostile.Shot:
    event = oa.user_send_text(user_id, text)
    raw = json.dumps(event).encode()
    signature = oa.sign_event(oa.APP_ID, raw, event["timestamp"], ZALO_OA_SECRET_KEY)
    headers = {"X-ZEvent-Signature": signature, "content-type": "application/json"}
    return hostile.Shot(label, "POST", "/webhooks/zalo-oa", headers, raw)


async def oversize(client: httpx.AsyncClient, tally: Tally, rng: random.Random) -> None:
    """1 MB streamed without a length: the app must stop reading at its cap and answer 413."""
    path, headers = rng.choice(
        [
            ("/webhooks/telegram", {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}),
            ("/webhooks/zalo-oa", {"X-ZEvent-Signature": "mac=0"}),
            ("/api/chat/messages", {PROXY_HEADER: rotating(rng)}),
        ]
    )
    headers["content-type"] = "application/json"
    shot = hostile.Shot("oversize_chunked", "POST", path, headers)
    await send(client, tally, shot, chunked=OVERSIZE)


class ReplayPool:
    """Normal users' signed updates (sent on by the soak's main process) to send again."""

    def __init__(self, queue: Any, rng: random.Random, size: int = 5000) -> None:
        self.queue, self.rng, self.size = queue, rng, size
        self.shots: list[hostile.Shot] = []

    def take(self) -> hostile.Shot | None:
        for _ in range(200):
            try:
                path, headers, content = self.queue.get_nowait()
            except queue.Empty:
                break
            shot = hostile.Shot("replay", "POST", path, headers, content)
            if len(self.shots) < self.size:
                self.shots.append(shot)
            else:
                self.shots[self.rng.randrange(self.size)] = shot
        return self.rng.choice(self.shots) if self.shots else None
