"""Abuse soak: normal chat on Telegram, Zalo OA and the web chat while others flood and fuzz.

The stack starts as `make run` starts it (real Rasa and action server, the app as its own
uvicorn process, a throw-away var dir), with Telegram and Zalo OA pointed at fake APIs served
in this process, and TRUSTED_PROXY_HEADER=X-Forwarded-For so the soak can play many client
addresses from 127.0.0.1 (it stands in for the trusted proxy; the app takes the header's last
entry). Each run has a fresh stack and three phases:

- warm-up (BENCH_WARMUP_SECONDS, default 15): normal users only, not measured (Rasa's first
  answers are slow);
- baseline (BENCH_BASELINE_SECONDS, default 120): normal users only;
- abuse (BENCH_SECONDS, default 600): normal users and the abusers.

Normal users: BENCH_PEOPLE (default 8) per channel, each continuing one conversation (a web
chat user keeps its own cookie jar and address), sending bench/chat.py's questions with a think
time of BENCH_THINK seconds (default 3-6) after each answer. Latency: webhook POST → answer at
the fake API (Telegram, Zalo OA), POST → answer in its response (web chat); the gateway's own
notices (busy, too fast…, from bot/system_messages.yml) are not answers. No answer within 30 s
is a timeout (so is a web chat response with only a notice). The webhook POST's own answer (the
ack; Zalo wants it within 2 s) is timed too. After the abuse phase the soak waits (at least
5 s, until every accepted message is answered, nothing changes for 30 s, or 120 s) and counts
each user's answers (at the fakes; the web chat's own GET) against the messages the app
accepted: fewer is a lost reply, more a message sent twice.

Abusers (bench/abusers.py, with their rates) run in a process of their own, so the normal
users' event loop, which measures latency, is not slowed by them: web chat floods (rotating
addresses without cookies, one address, one conversation), a Telegram flood from one sender,
replays of normal users' signed updates, fuzz (bench/hostile.py, seeded by BENCH_SEED, default
8, plus the run's number) and 1 MB chunked uploads. BENCH_ABUSE_SCALE (default 1) multiplies
every rate.

Targets, judged on every run (a figure meets its target only if all runs do): no 5xx; no
traceback in the app's log; replays answered "repeat"; each channel's normal p95 during abuse
≤ 1.5 × its baseline p95; webhook acks p95 ≤ 2 s (Zalo's deadline); no lost reply, no message
sent twice, no answer later than 30 s; web chat messages answered per second during abuse ≤
WEBCHAT_NLU_PER_SECOND plus its burst spread over the phase; memory flat: each process group's
RSS (/proc/<pid>/status VmRSS of the processes bot.supervisor.Stack started, with their
children) at the end of the abuse ≤ 1.2 × at its start (the baseline has warmed them up; a leak
at the soak's rates would show as steady growth, and 1.2 leaves room for allocator noise). The
soak's own health: the normal users' event-loop lag p95 ≤ 50 ms; the abusers' loop lag, CPU
and achieved rates are reported (an achieved rate below the scheduled one with a quiet loop
means the app kept 64 requests of that kind waiting).

BENCH_RUNS (default 3) runs; prints Markdown tables (each run, min/median/max, target, met) and
writes bench/results/abuse.json (settings, every run, summary).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import abuse_report, hostile
from bench.abusers import (
    PROXY_HEADER,
    RATES,
    LoopLag,
    Tally,
    attack,
    classes,
    send,
    telegram_shot,
    zalo_shot,
)
from bench.common import NOTICES, latency_summary, process_stats, started_stack
from testkit.fakes import telegram as tg
from testkit.fakes import zalo_oa as oa
from testkit.fakes.env import channel_env
from testkit.fakes.server import serve

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "abuse.json"
REPLY_TIMEOUT = 30.0  # seconds a normal user waits for an answer before counting a timeout
SETTLE = (5.0, 30.0, 120.0)  # seconds: at least, quiet for, at most (see the docstring)
CHANNELS = ("telegram", "zalo_oa", "webchat")
PHASES = ("baseline", "abuse")


@dataclass(frozen=True)
class Config:
    runs: int = int(os.environ.get("BENCH_RUNS", "3"))
    warmup: float = float(os.environ.get("BENCH_WARMUP_SECONDS", "15"))
    baseline: float = float(os.environ.get("BENCH_BASELINE_SECONDS", "120"))
    abuse: float = float(os.environ.get("BENCH_SECONDS", "600"))
    people: int = int(os.environ.get("BENCH_PEOPLE", "8"))
    think: tuple[float, ...] = tuple(
        float(x) for x in os.environ.get("BENCH_THINK", "3-6").split("-")
    )
    scale: float = float(os.environ.get("BENCH_ABUSE_SCALE", "1"))
    seed: int = int(os.environ.get("BENCH_SEED", "8"))


@dataclass
class Timeline:
    """Which phase the soak is in; every user reads the same clock."""

    start: float
    cfg: Config

    def ends(self) -> dict[str, float]:
        warmup = self.start + self.cfg.warmup
        baseline = warmup + self.cfg.baseline
        return {"warmup": warmup, "baseline": baseline, "abuse": baseline + self.cfg.abuse}

    def phase(self) -> str | None:
        """ "warmup", "baseline", "abuse", or None once the soak is over."""
        now = time.monotonic()
        return next((name for name, end in self.ends().items() if now < end), None)

    def until(self, phase: str) -> float:
        return max(0.0, self.ends()[phase] - time.monotonic())


class Mailbox:
    """Messages at a fake API per recipient, answers and notices apart (one pass over the
    new entries on each look)."""

    def __init__(self, sent: list[dict[str, Any]], key: str) -> None:
        self.sent, self.key, self.seen = sent, key, 0
        self.answers: Counter[Any] = Counter()
        self.notices: Counter[Any] = Counter()

    def look(self, who: Any) -> tuple[int, int]:
        """(answers, notices) sent to ``who`` so far."""
        end = len(self.sent)  # the fake's thread appends; entries before ``end`` are complete
        for entry in self.sent[self.seen : end]:
            box = self.notices if entry.get("text") in NOTICES else self.answers
            box[entry[self.key]] += 1
        self.seen = end
        return self.answers[who], self.notices[who]


@dataclass
class Normal:
    """What the normal users did and saw."""

    tally: Tally = field(default_factory=Tally)
    samples: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    acks: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    refused: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, phase)
    timeouts: Counter[tuple[str, str]] = field(default_factory=Counter)
    accepted: Counter[tuple[str, int]] = field(default_factory=Counter)  # (channel, person)
    uncertain: Counter[tuple[str, int]] = field(default_factory=Counter)  # a post unanswered


@dataclass
class Soak:
    """One run's normal users against one stack."""

    app_url: str
    cfg: Config
    seed: int
    boxes: dict[str, Mailbox]
    replays: Any  # multiprocessing queue to the abusers
    timeline: Timeline
    normal: Normal = field(default_factory=Normal)
    update_ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 10**9)))

    @staticmethod
    def who(channel: str, pid: int) -> Any:
        return 700_000 + pid if channel == "telegram" else str(900_000 + pid)

    async def person(self, channel: str, pid: int, client: httpx.AsyncClient) -> None:
        rng = random.Random(self.seed * 1000 + pid * 3 + CHANNELS.index(channel))
        await asyncio.sleep(rng.uniform(0, self.cfg.think[1]))
        while (phase := self.timeline.phase()) is not None:
            text = rng.choice(hostile.QUESTIONS)
            if channel == "webchat":
                await self.web_message(pid, phase, client, text)
            else:
                await self.webhook_message(channel, pid, phase, client, text)
            await asyncio.sleep(rng.uniform(*self.cfg.think))

    async def webhook_message(
        self, channel: str, pid: int, phase: str, client: httpx.AsyncClient, text: str
    ) -> None:
        who, box, key = self.who(channel, pid), self.boxes[channel], (channel, pid)
        if channel == "telegram":
            shot = telegram_shot("normal_telegram", next(self.update_ids), who, text)
        else:
            shot = zalo_shot("normal_zalo_oa", who, text)
        started = time.monotonic()
        response = await send(client, self.normal.tally, shot)
        self.normal.acks[(channel, phase)].append((time.monotonic() - started) * 1000)
        if response is None or response.status_code != 200:
            self.normal.uncertain[key] += 1
            return
        self.normal.accepted[key] += 1
        self.replays.put((shot.path, shot.headers, shot.content))
        # Answers come in order, so this message is answered once all accepted ones are.
        while box.look(who)[0] < self.normal.accepted[key]:
            if time.monotonic() - started > REPLY_TIMEOUT:
                self.normal.timeouts[(channel, phase)] += 1
                return
            await asyncio.sleep(0.01)
        self.normal.samples[(channel, phase)].append((time.monotonic() - started) * 1000)

    async def web_message(self, pid: int, phase: str, client: httpx.AsyncClient, text: str) -> None:
        body = json.dumps({"message_id": str(uuid.uuid4()), "text": text}).encode()
        headers = {"content-type": "application/json"}
        shot = hostile.Shot("normal_webchat", "POST", "/api/chat/messages", headers, body)
        started = time.monotonic()
        response = await send(client, self.normal.tally, shot)
        ms = (time.monotonic() - started) * 1000
        if response is None:
            self.normal.uncertain[("webchat", pid)] += 1
        elif response.status_code == 429:
            self.normal.refused[("webchat", phase)] += 1
        elif response.status_code == 200:
            self.normal.accepted[("webchat", pid)] += 1
            replies = response.json().get("replies") or []
            if any(r.get("text") not in NOTICES for r in replies):
                self.normal.samples[("webchat", phase)].append(ms)
            if (
                ms > REPLY_TIMEOUT * 1000
                or not replies
                or all(r.get("text") in NOTICES for r in replies)
            ):  # late, or only a notice: the answer comes later, if at all
                self.normal.timeouts[("webchat", phase)] += 1
        else:
            self.normal.uncertain[("webchat", pid)] += 1

    async def received(self, channel: str, pid: int, client: httpx.AsyncClient) -> tuple[int, int]:
        """(answers, notices) this person has received in all."""
        if channel != "webchat":
            return self.boxes[channel].look(self.who(channel, pid))
        response = await client.get("/api/chat/messages", params={"after": 0})
        texts = [r.get("text") for r in response.json().get("replies", [])]
        notices = sum(1 for t in texts if t in NOTICES)
        return len(texts) - notices, notices

    async def settle(self, clients: dict[tuple[str, int], httpx.AsyncClient]) -> dict[str, Any]:
        """Wait for late answers (see SETTLE); each person's (answers, notices)."""
        least, quiet, most = SETTLE
        start = changed = time.monotonic()
        last: dict[tuple[str, int], tuple[int, int]] = {}
        while True:
            counted = {key: await self.received(*key, c) for key, c in clients.items()}
            now = time.monotonic()
            if counted != last:
                last, changed = counted, now
            answered = all(counted[k][0] >= self.normal.accepted[k] for k in counted)
            if now - start >= least and (answered or now - changed >= quiet or now - start >= most):
                return {"counted": counted, "seconds": round(now - start, 1)}
            await asyncio.sleep(2)


def web_client(app_url: str, pid: int) -> httpx.AsyncClient:
    """One browser: its own cookie jar, its own address."""
    address = f"10.77.{pid // 250}.{pid % 250 + 1}"
    return httpx.AsyncClient(base_url=app_url, timeout=60, headers={PROXY_HEADER: address})


def app_log(stack: Any) -> dict[str, Any]:
    """Tracebacks and error lines in the app's log, with the first exception named."""
    lines = (stack.log_dir / "app.log").read_text(errors="replace").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
    first = None
    if starts:
        after = lines[starts[0] + 1 :]
        first = next((x for x in after if x and not x.startswith((" ", "Traceback"))), None)
    errors = sum(1 for line in lines if "ERROR" in line)
    return {"tracebacks": len(starts), "error_lines": errors, "first_exception": first}


def run_once(cfg: Config, index: int) -> dict[str, Any]:
    """A fresh stack, fakes and abusers; warm-up, baseline and abuse; the run's figures."""
    seed = cfg.seed + index
    telegram, zalo = tg.FakeTelegram(), oa.FakeZaloOA()
    with serve(telegram.app()) as tg_url, serve(zalo.app()) as oa_url:
        os.environ.update(channel_env(tg_url, oa_url))
        os.environ["TRUSTED_PROXY_HEADER"] = PROXY_HEADER
        # Rasa can take minutes to load on a busy machine.
        with started_stack(ready_timeout=900) as (settings, stack):
            spawn = multiprocessing.get_context("spawn")
            go, replays, results = spawn.Event(), spawn.Queue(), spawn.Queue()
            args = (settings.app_url, cfg.abuse, seed, cfg.scale, go, replays, results)
            abusers = spawn.Process(target=attack, args=args, daemon=True)
            abusers.start()
            try:
                boxes = {
                    "telegram": Mailbox(telegram.sent, "chat_id"),
                    "zalo_oa": Mailbox(zalo.sent, "user_id"),
                }
                timeline = Timeline(time.monotonic(), cfg)
                soak = Soak(settings.app_url, cfg, seed, boxes, replays, timeline)
                run = asyncio.run(drive(soak, stack, go, results))
                run["app_log"] = app_log(stack)
            finally:
                abusers.join(timeout=10)
                if abusers.is_alive():
                    abusers.kill()
    run.update(seed=seed, abuse_seconds=cfg.abuse)
    run["webchat_nlu_per_second"] = settings.webchat_nlu_per_second
    run["fake_api_limit_violations"] = len(telegram.violations) + len(zalo.violations)
    return run


async def drive(soak: Soak, stack: Any, go: Any, results: Any) -> dict[str, Any]:
    """Normal users through every phase; the abusers let loose for the abuse phase."""
    cfg, lag = soak.cfg, LoopLag()
    watcher = asyncio.create_task(lag.watch())
    clients = {
        (channel, pid): web_client(soak.app_url, pid)
        if channel == "webchat"
        else httpx.AsyncClient(base_url=soak.app_url, timeout=REPLY_TIMEOUT)
        for channel in CHANNELS
        for pid in range(cfg.people)
    }
    people = [asyncio.create_task(soak.person(c, p, k)) for (c, p), k in clients.items()]
    stats: dict[str, Any] = {}
    await asyncio.sleep(soak.timeline.until("warmup"))
    stats["baseline_start"] = process_stats(stack)
    await asyncio.sleep(soak.timeline.until("baseline"))
    stats["abuse_start"] = process_stats(stack)
    cpu = time.process_time()
    go.set()
    peak = {name: s["rss_mb"] for name, s in stats["abuse_start"].items()}
    while (left := soak.timeline.until("abuse")) > 0:
        await asyncio.sleep(min(10.0, left))
        now = process_stats(stack)
        peak = {name: max(mb, now[name]["rss_mb"]) for name, mb in peak.items()}
    stats["abuse_end"] = process_stats(stack)
    stats["abuse_peak_rss_mb"] = peak
    main_cpu = round(100 * (time.process_time() - cpu) / cfg.abuse, 1)
    await asyncio.gather(*people)
    attacked = await asyncio.to_thread(results.get, True, REPLY_TIMEOUT + 120)
    settled = await soak.settle(clients)
    for client in clients.values():
        await client.aclose()
    watcher.cancel()
    return {
        "requests": requests(soak.normal.tally.plain(), attacked, cfg),
        "fivexx_examples": soak.normal.tally.examples + attacked["examples"],
        "normal": normal_summary(soak.normal, settled["counted"]),
        "settle_seconds": settled["seconds"],
        "processes": stats,
        "bench": {
            "main_loop_lag_ms": lag.summary(),
            "main_cpu_percent": main_cpu,
            "abusers_loop_lag_ms": attacked["loop_lag_ms"],
            "abusers_cpu_percent": attacked["cpu_percent"],
            "abusers_wall_seconds": attacked["wall_seconds"],
        },
    }


def requests(normal: dict[str, Any], attacked: dict[str, Any], cfg: Config) -> dict[str, Any]:
    """Per request label: answers, their classes and rate (over the phases it ran in); per
    abuse kind: scheduled and achieved rate and skipped ticks."""
    labels: dict[str, Any] = {}
    everything = cfg.warmup + cfg.baseline + cfg.abuse
    for source, seconds in ((normal, everything), (attacked, cfg.abuse)):
        for label, answers in sorted(source["answers"].items()):
            count = sum(answers.values())
            labels[label] = {"count": count, "per_second": round(count / seconds, 2)}
            labels[label].update(classes(answers), answers=answers)
    kinds = {}
    for kind, rate in RATES.items():
        done = sum(v["count"] for k, v in labels.items() if k.startswith(kind))
        kinds[kind] = {
            "scheduled_per_second": rate * cfg.scale,
            "achieved_per_second": round(done / cfg.abuse, 2),
            "skipped": attacked["skipped"].get(kind, 0),
        }
    return {"labels": labels, "abuse_kinds": kinds}


def normal_summary(normal: Normal, counted: dict[tuple[str, int], tuple[int, int]]) -> dict:
    """Per channel: messages accepted, answers and notices received, lost and doubled
    answers, and per phase the latency of the answered ones."""
    out: dict[str, Any] = {}
    for channel in CHANNELS:
        people = [key for key in counted if key[0] == channel]
        accepted = {k: normal.accepted[k] for k in people}
        answers = {k: counted[k][0] for k in people}
        entry: dict[str, Any] = {
            "accepted": sum(accepted.values()),
            "answers": sum(answers.values()),
            "notices": sum(counted[k][1] for k in people),
            "lost": sum(max(0, accepted[k] - answers[k]) for k in people),
            "sent_twice": sum(
                max(0, answers[k] - accepted[k] - normal.uncertain[k]) for k in people
            ),
            "uncertain": sum(normal.uncertain[k] for k in people),
        }
        for phase in PHASES:
            samples = normal.samples[(channel, phase)]
            entry[phase] = {
                "answered": len(samples),
                "refused_429": normal.refused[(channel, phase)],
                "timeouts": normal.timeouts[(channel, phase)],
                **(latency_summary(samples) if samples else {}),
            }
            if acks := normal.acks[(channel, phase)]:  # the webhook's own answer
                entry[phase]["ack_p95_ms"] = latency_summary(acks)["p95_ms"]
        base, abused = entry["baseline"].get("p95_ms"), entry["abuse"].get("p95_ms")
        entry["p95_ratio"] = round(abused / base, 2) if base and abused else None
        out[channel] = entry
    return out


def main() -> int:
    cfg = Config()
    runs = []
    for index in range(cfg.runs):
        print(f"run {index + 1}/{cfg.runs}…", flush=True)
        runs.append(run_once(cfg, index))
    summary = abuse_report.summarize(runs)
    settings = {
        "runs": cfg.runs,
        "warmup_seconds": cfg.warmup,
        "baseline_seconds": cfg.baseline,
        "abuse_seconds": cfg.abuse,
        "people_per_channel": cfg.people,
        "think_seconds": list(cfg.think),
        "abuse_per_second": {k: v * cfg.scale for k, v in RATES.items()},
        "seed": cfg.seed,
        "trusted_proxy_header": PROXY_HEADER,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {"settings": settings, "runs": runs, "summary": summary}
    RESULTS.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(abuse_report.tables(report))
    return 0  # a target not met is reported in the table, not as a failed make


if __name__ == "__main__":
    sys.exit(main())
