"""Chat under load: N people over the Telegram and Zalo OA webhooks, a capacity curve, memory.

Starts the stack the way `make run` does (real Rasa and action server, throw-away var dir)
with Telegram and Zalo OA pointed at fake APIs in this process. Latency = from the webhook
POST to the reply arriving at the fake API. Three parts, each printed as Markdown tables:

- closed loop: BENCH_PEOPLE people (default 50) each send BENCH_MESSAGES messages (default
  5), one after another, waiting for the reply and then a think time of 3-6 s (BENCH_THINK);
- capacity curve over Zalo OA (bench/curve.py): open-loop offered load stepping through
  BENCH_STEPS msg/s (default 5,10,20,30,40,60), BENCH_STEP_SECONDS each (default 20) after a
  BENCH_WARMUP_SECONDS warm-up (default 10); per step achieved rate, p50, p95, lost (no reply
  within 30 s after the step). BENCH_RUNS runs (default 3), each on a fresh stack, for each
  number of Rasa processes in BENCH_RASA (default 1,2; more than one needs the RASA_PROCESSES
  and RASA_LOCK_STORE_URL settings and testkit.redis, else "not available"). Capacity = the
  highest offered rate with p95 ≤ 1000 ms and nothing lost, per run, then min/median/max;
- memory: on a fresh stack per configuration, RSS of each process at rest and after a fifth,
  half and all of BENCH_CONVERSATIONS (default 10000) people's conversations of 1-2 messages,
  offered at BENCH_MEMORY_RATE msg/s (default: the median capacity, at most 30).

The curve measures the stack, not pacing, so its stacks pace Zalo OA at
ZALO_OA_PER_SECOND=1000 (Loa's own 60/s would cap it) and the fake Zalo OA's per-minute cap
is 1,000,000 (its realistic 4,000/min too).

bench/results/chat.json (curve and memory keyed by the number of Rasa processes, "1", "2"):
  think_seconds, telegram, zalo_oa      the closed loop's figures per channel
  curve.settings                        the BENCH_* values used
  curve.<n>.available                   false: the configuration was skipped
  curve.<n>.runs[].steps[]              offered_per_s, sent, achieved_per_s, p50_ms, p95_ms,
                                        lost, people, max_send_lag_ms, drained_after_s,
                                        cpu_percent {process: % of a core; bench: this one}
  curve.<n>.summary                     steps[] ({min, median, max} per figure),
                                        capacity_per_run, capacity {min, median, max}
  curve.capacity_ratio                  median capacity with 2 / with 1
  memory.<n>                            samples[] {conversations, rss_mb {process: MB}},
                                        growth_mb, growth_after_warmup_mb, lost, p50_ms…
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import httpx

from bench import curve as load
from bench.common import QUESTIONS, latency_summary, running_stack, started_stack
from bench.curve_report import curve_tables, memory_table
from bot import settings as settings_module
from bot.settings import Settings
from bot.supervisor import Stack
from testkit import capacity
from testkit.fakes import telegram as tg
from testkit.fakes import zalo_oa as oa
from testkit.fakes.env import TELEGRAM_SECRET, ZALO_OA_SECRET_KEY, channel_env
from testkit.fakes.server import serve

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "chat.json"
# Seconds a person takes to read the reply and type the next message (BENCH_THINK="3-6").
THINK = tuple(float(x) for x in os.environ.get("BENCH_THINK", "3-6").split("-"))
# The curve measures the stack, not pacing: Loa's own Zalo OA pacing (connectors/zalo_oa:
# PER_SECOND = 60, counting each send until a second after its answer) would cap it.
UNPACED = {"ZALO_OA_PER_SECOND": "1000"}
FAKE_PER_MINUTE_CAP = 1_000_000  # the fake's "about 4000/min per app" (66/s) would too
MEMORY_RATE_MAX = 30.0  # msg/s offered to the memory run at most


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


@dataclass(frozen=True)
class CurveSettings:
    steps: list[float]
    step_seconds: float
    warmup_seconds: float
    runs: int
    rasa: list[int]
    conversations: int
    memory_rate: float | None  # None: the median capacity, at most MEMORY_RATE_MAX

    def memory_rate_for(self, capacity: float | None) -> float:
        """The memory part's offered rate: BENCH_MEMORY_RATE, else the median ``capacity``
        (at most MEMORY_RATE_MAX), else the first step."""
        return self.memory_rate or min(MEMORY_RATE_MAX, capacity or self.steps[0])

    @classmethod
    def from_env(cls) -> CurveSettings:
        env = os.environ.get
        memory_rate = env("BENCH_MEMORY_RATE", "")
        return cls(
            steps=[float(x) for x in env("BENCH_STEPS", "5,10,20,30,40,60").split(",")],
            step_seconds=float(env("BENCH_STEP_SECONDS", "20")),
            warmup_seconds=float(env("BENCH_WARMUP_SECONDS", "10")),
            runs=int(env("BENCH_RUNS", "3")),
            rasa=[int(x) for x in env("BENCH_RASA", "1,2").split(",")],
            conversations=int(env("BENCH_CONVERSATIONS", "10000")),
            memory_rate=float(memory_rate) if memory_rate else None,
        )


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` in os.environ (read by settings.load in started_stack), restored after."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def several_rasa_available() -> bool:
    """Whether this tree can run several Rasa processes (settings and a Redis for the bench)."""
    names = {spec.name for spec in fields(settings_module.Settings)}
    return {"rasa_processes", "rasa_lock_store_url"} <= names and (
        importlib.util.find_spec("testkit.redis") is not None
    )


@contextmanager
def rasa_processes(count: int) -> Iterator[dict[str, str]]:
    """The settings for ``count`` Rasa processes (with a Redis lock store when more than one)."""
    if count == 1:
        yield {"RASA_PROCESSES": "1", "RASA_LOCK_STORE_URL": ""}
        return
    redis = importlib.import_module("testkit.redis")  # another branch's work, maybe absent
    with redis.redis_server() as url:
        yield {"RASA_PROCESSES": str(count), "RASA_LOCK_STORE_URL": url}


@contextmanager
def zalo_stack(
    settings: dict[str, str],
) -> Iterator[tuple[Settings, Stack, oa.FakeZaloOA]]:
    """A fresh stack with ``settings``, its Zalo OA pointed at a fake with the cap raised."""
    telegram, zalo = tg.FakeTelegram(), oa.FakeZaloOA(per_minute_cap=FAKE_PER_MINUTE_CAP)
    with serve(telegram.app()) as tg_url, serve(zalo.app()) as oa_url:
        values = {**channel_env(tg_url, oa_url), **settings, **UNPACED}
        with environment(values), started_stack(ready_timeout=900) as (cfg, stack):
            yield cfg, stack, zalo


def capacity_and_memory(
    cs: CurveSettings, curve: dict[str, Any], memory: dict[str, Any], save: Callable[[], None]
) -> None:
    """The curve (BENCH_RUNS fresh stacks) and then memory (one more) for each number of Rasa
    processes, into ``curve`` and ``memory``; ``save`` after each part (a long run stopped
    halfway keeps what it measured)."""
    curve["settings"] = asdict(cs) | {"unpaced": UNPACED}
    for count in cs.rasa:
        key = str(count)
        if count > 1 and not several_rasa_available():
            print(f"{count} Rasa processes: not available (no RASA_PROCESSES setting here)")
            curve[key] = {"available": False}
            continue
        with rasa_processes(count) as settings:
            runs = []
            for index in range(cs.runs):
                print(f"curve, {count} Rasa process(es), run {index + 1}/{cs.runs}…", flush=True)
                with zalo_stack(settings) as (cfg, stack, fake):
                    args = (cs.steps, cs.step_seconds, cs.warmup_seconds, index)
                    runs.append(asyncio.run(load.curve(cfg.app_url, fake, stack, *args)))
            summary = capacity.summarize([run["steps"] for run in runs])
            curve[key] = {"available": True, "runs": runs, "summary": summary}
            save()
            rate = cs.memory_rate_for(summary["capacity"]["median"])
            print(f"memory, {count} Rasa process(es), {cs.conversations} conversations…")
            with zalo_stack(settings) as (cfg, stack, fake):
                args2 = (stack, cs.conversations, rate)
                memory[key] = asyncio.run(load.conversations(cfg.app_url, fake, *args2))
            save()
    one, two = (curve.get(k, {}).get("summary", {}).get("capacity", {}) for k in ("1", "2"))
    if one.get("median") and two.get("median"):
        curve["capacity_ratio"] = round(two["median"] / one["median"], 2)
    save()


def closed_loop(results: dict[str, Any]) -> None:
    people = int(os.environ.get("BENCH_PEOPLE", "50"))
    messages = int(os.environ.get("BENCH_MESSAGES", "5"))
    telegram, zalo = tg.FakeTelegram(), oa.FakeZaloOA()
    with (
        serve(telegram.app()) as tg_url,
        serve(zalo.app()) as oa_url,
        environment(channel_env(tg_url, oa_url)),
        running_stack() as cfg,
    ):
        for name, fake in (("telegram", telegram), ("zalo_oa", zalo)):
            results[name] = asyncio.run(run_channel(name, cfg.app_url, fake, people, messages))
    print(f"\nWebhook → reply at the fake API, {people} people at once (target p95 ≤ 300 ms)")
    print(
        "| channel | messages | lost | p50 ms | p95 ms | p99 ms | min | max | msg/s | over limit |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in ("telegram", "zalo_oa"):
        r = results[name]
        cells = [name, r["messages"], r["lost"], r["p50_ms"], r["p95_ms"], r["p99_ms"]]
        cells += [r["min_ms"], r["max_ms"], r["messages_per_s"], r["violations"]]
        print("| " + " | ".join(str(c) for c in cells) + " |")


def memory_only(cs: CurveSettings) -> int:
    """``python -m bench.chat memory``: only the memory part, for each number of Rasa processes
    in BENCH_RASA, at BENCH_MEMORY_RATE (default: the stored curve's median capacity, at most
    MEMORY_RATE_MAX); the result replaces that configuration's ``memory`` entry in chat.json
    and keeps everything else there (a 10,000-conversation run takes about 15 minutes per
    configuration, the whole bench hours)."""
    stored = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    memory = stored.setdefault("memory", {})
    for count in cs.rasa:
        key = str(count)
        if count > 1 and not several_rasa_available():
            print(f"{count} Rasa processes: not available (no RASA_PROCESSES setting here)")
            continue
        summary = stored.get("curve", {}).get(key, {}).get("summary", {})
        rate = cs.memory_rate_for(summary.get("capacity", {}).get("median"))
        print(f"memory, {count} Rasa process(es), {cs.conversations} conversations at {rate}/s…")
        with rasa_processes(count) as settings, zalo_stack(settings) as (cfg, stack, fake):
            memory[key] = asyncio.run(
                load.conversations(cfg.app_url, fake, stack, cs.conversations, rate)
            )
        RESULTS.write_text(json.dumps(stored, indent=2), encoding="utf-8")
    print(memory_table(memory))
    return 0


def main() -> int:
    if sys.argv[1:] == ["memory"]:
        return memory_only(CurveSettings.from_env())
    results: dict[str, Any] = {"think_seconds": list(THINK), "curve": {}, "memory": {}}
    stored = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    kept = {k: v for k, v in stored.items() if k.startswith("turn")}  # make bench-turn's

    def save() -> None:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({**kept, **results}, indent=2), encoding="utf-8")

    closed_loop(results)
    save()
    capacity_and_memory(CurveSettings.from_env(), results["curve"], results["memory"], save)
    print(curve_tables(results["curve"]))
    print(memory_table(results["memory"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
