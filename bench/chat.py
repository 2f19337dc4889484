"""Chat latency under load: N people at once over the Telegram and Zalo OA webhooks.

Starts the stack the way `make run` does (real Rasa and action server, throw-away var dir)
with Telegram and Zalo OA pointed at fake APIs in this process. Each simulated person sends
BENCH_MESSAGES messages (default 5), one after another, waiting for the reply and then a
think time of 3-6 s (BENCH_THINK) before the next. Latency = from the
webhook POST to the reply arriving at the fake API. Prints a table and writes
bench/results/chat.json. BENCH_PEOPLE sets N (default 50).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.common import QUESTIONS, latency_summary, running_stack
from testkit.fakes import telegram as tg
from testkit.fakes import zalo_oa as oa
from testkit.fakes.env import TELEGRAM_SECRET, ZALO_OA_SECRET_KEY, channel_env
from testkit.fakes.server import serve

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "chat.json"
# Seconds a person takes to read the reply and type the next message (BENCH_THINK="3-6").
THINK = tuple(float(x) for x in os.environ.get("BENCH_THINK", "3-6").split("-"))


async def person(
    client: httpx.AsyncClient,
    post: Callable[[int, str], Any],
    replies: Callable[[], int],
    messages: int,
    person_id: int,
    timings: list[float],
    lost: list[int],
) -> None:
    rng = random.Random(person_id)
    # People are mid-conversation at different moments, not all starting in the same second
    # (a burst of 50 in one second would only measure Telegram's 30/s limit).
    await asyncio.sleep(rng.uniform(0, THINK[1]))
    for i in range(messages):
        before = replies()
        started = time.monotonic()
        await post(i, rng.choice(QUESTIONS))
        while replies() == before:
            if time.monotonic() - started > 30:
                lost.append(person_id)
                return
            await asyncio.sleep(0.005)
        timings.append((time.monotonic() - started) * 1000)
        await asyncio.sleep(rng.uniform(*THINK))


async def run_channel(
    name: str, app_url: str, fake: Any, people: int, messages: int
) -> dict[str, Any]:
    timings: list[float] = []
    lost: list[int] = []
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as client:

        def poster(pid: int) -> Callable[[int, str], Any]:
            async def post(i: int, text: str) -> None:
                if name == "telegram":
                    update = tg.update_message(pid * 1000 + i + 1, 800000 + pid, text)
                    await client.post(  # a timeout here fails the run: webhooks must ack fast
                        f"{app_url}/webhooks/telegram",
                        json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
                    )
                else:
                    event = oa.user_send_text(str(900000 + pid), text)
                    raw = json.dumps(event).encode()
                    sig = oa.sign_event(oa.APP_ID, raw, event["timestamp"], ZALO_OA_SECRET_KEY)
                    await client.post(
                        f"{app_url}/webhooks/zalo-oa",
                        content=raw,
                        headers={"X-ZEvent-Signature": sig, "content-type": "application/json"},
                    )

            return post

        def counter(pid: int) -> Callable[[], int]:
            key, who = (
                ("chat_id", 800000 + pid) if name == "telegram" else ("user_id", str(900000 + pid))
            )
            return lambda: sum(1 for m in fake.sent if m[key] == who)

        started = time.monotonic()
        await asyncio.gather(
            *(
                person(client, poster(p), counter(p), messages, p, timings, lost)
                for p in range(people)
            )
        )
        wall = time.monotonic() - started
    return {
        "people": people,
        "messages": len(timings),
        "lost": len(lost),
        **latency_summary(timings),
        "messages_per_s": round(len(timings) / wall, 1),
        "violations": len(fake.violations),
    }


def main() -> int:
    people = int(os.environ.get("BENCH_PEOPLE", "50"))
    messages = int(os.environ.get("BENCH_MESSAGES", "5"))
    telegram, zalo = tg.FakeTelegram(), oa.FakeZaloOA()
    results: dict[str, Any] = {"think_seconds": list(THINK)}
    with serve(telegram.app()) as tg_url, serve(zalo.app()) as oa_url:
        os.environ.update(channel_env(tg_url, oa_url))
        with running_stack() as cfg:
            for name, fake in (("telegram", telegram), ("zalo_oa", zalo)):
                results[name] = asyncio.run(run_channel(name, cfg.app_url, fake, people, messages))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"\nWebhook → reply at the fake API, {people} people at once (target p95 ≤ 300 ms)")
    print(
        "| channel | messages | lost | p50 ms | p95 ms | p99 ms | min | max | msg/s | over limit |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        if name == "think_seconds":
            continue
        cells = [name, r["messages"], r["lost"], r["p50_ms"], r["p95_ms"], r["p99_ms"]]
        cells += [r["min_ms"], r["max_ms"], r["messages_per_s"], r["violations"]]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
