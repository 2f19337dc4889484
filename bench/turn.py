"""One conversation turn: what it costs, where the time goes, and whether it grows.

Starts the stack as `make run` does (Zalo OA pointed at a fake API in this process) and, one
message at a time (nobody else talking):
- **rasa_rest**: the REST channel the gateway uses, straight to Rasa; BENCH_TURN_PEOPLE people
  (default 5) each have a conversation of BENCH_TURNS turns (default 60). p50 per band of turns.
- **parse**: Rasa's ``/model/parse`` (the NLU alone), for the same messages.
- **gateway**: the whole path a citizen sees on Zalo OA, from the webhook to the reply at the
  fake API (gateway, Rasa, the action server, the outbox), for one conversation of the same length
  (0.3 s between a reply and the next message, as no person types faster).
- **inside Rasa**: ``bench/turn_profile.py``, run with Rasa's Python, times each stage of a turn
  (NLU, policies, tracker load and save, the action call) on a tracker store of its own.
Three runs; each number is the min/median/max over the runs of the per-run p50. Prints tables
and writes ``turn`` into bench/results/chat.json (the other keys are kept).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import running_stack
from bot.training import ASSISTANT, ensure_model, rasa_bin, rasa_env
from testkit.capacity import spread
from testkit.fakes import zalo_oa as oa
from testkit.fakes.env import ZALO_OA_SECRET_KEY, channel_env
from testkit.fakes.server import serve

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "chat.json"
PEOPLE = int(os.environ.get("BENCH_TURN_PEOPLE", "5"))
TURNS = int(os.environ.get("BENCH_TURNS", "60"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
BANDS = ((1, 20), (21, 40), (41, 60))
# Between a reply and the next message on Zalo OA: longer than Loa's 0.2 s between two sends
# to one person (connectors/zalo_oa), which would otherwise be measured instead of the turn.
THINK = 0.3
# A conversation that goes round the topics, each message answered at once (no form opens):
# an action that reads the database, a response from the domain, a place, smalltalk.
MESSAGES = [
    "xin chào",
    "số đường dây nóng",
    "trieu chung covid la gi",
    "lam sao de phong benh",
    "Lạng Sơn đang ở cấp độ mấy",
    "phường Đông Kinh có bị phong tỏa không",
    "tôi mất việc thì được hỗ trợ gì",
    "cam on nhieu",
]


def bands(timings: dict[int, list[float]]) -> dict[str, float]:
    """p50 per band of turns (turn numbers from 1), and turn 1 alone (a new person)."""
    out = {"first_turn": round(statistics.median(timings[1]), 1)}
    for low, high in BANDS:
        if high <= TURNS:
            rows = [t for n in range(low, high + 1) for t in timings[n]]
            out[f"turns_{low}_{high}"] = round(statistics.median(rows), 1)
    return out


async def rasa_rest(client: httpx.AsyncClient, rasa_url: str, tag: str) -> dict[str, float]:
    timings: dict[int, list[float]] = {n: [] for n in range(1, TURNS + 1)}
    for person in range(PEOPLE):
        sender = f"bench-turn-{tag}-{person}"
        for n in range(1, TURNS + 1):
            text = MESSAGES[(person + n) % len(MESSAGES)]
            started = time.perf_counter()
            response = await client.post(
                f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
            )
            timings[n].append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return bands(timings)


async def parse(client: httpx.AsyncClient, rasa_url: str, token: str) -> float:
    timings = []
    for i in range(PEOPLE * 20):
        started = time.perf_counter()
        response = await client.post(
            f"{rasa_url}/model/parse",
            params={"token": token},
            json={"text": MESSAGES[i % len(MESSAGES)]},
        )
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return round(statistics.median(timings), 1)


async def gateway(client: httpx.AsyncClient, app_url: str, fake: Any, tag: str) -> dict[str, float]:
    """One person's conversation over the Zalo OA webhook: webhook POST → reply at the fake."""
    timings: dict[int, list[float]] = {n: [] for n in range(1, TURNS + 1)}
    user = f"77{abs(hash(tag)) % 10**8}"
    for n in range(1, TURNS + 1):
        before = sum(1 for m in fake.sent if m["user_id"] == user)
        event = oa.user_send_text(user, MESSAGES[n % len(MESSAGES)])
        raw = json.dumps(event).encode()
        sig = oa.sign_event(oa.APP_ID, raw, event["timestamp"], ZALO_OA_SECRET_KEY)
        started = time.perf_counter()
        response = await client.post(
            f"{app_url}/webhooks/zalo-oa",
            content=raw,
            headers={"X-ZEvent-Signature": sig, "content-type": "application/json"},
        )
        response.raise_for_status()
        while sum(1 for m in fake.sent if m["user_id"] == user) == before:
            if time.perf_counter() - started > 30:
                raise RuntimeError(f"no reply to turn {n} within 30 s")
            await asyncio.sleep(0.001)
        timings[n].append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(THINK)
    return bands(timings)


def inside_rasa(action_server_url: str) -> dict[str, Any]:
    """bench/turn_profile.py with Rasa's Python, on a tracker store of its own."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **rasa_env(),
            "PYTHONPATH": str(ROOT),
            "LOA_ACTION_ENDPOINT_URL": f"{action_server_url}/webhook",
            "LOA_RASA_TRACKER_DB": str(Path(tmp) / "tracker.db"),
        }
        command = [str(rasa_bin().parent / "python"), str(ROOT / "bench" / "turn_profile.py")]
        command += [str(ensure_model()), str(ASSISTANT / "endpoints.yml"), str(PEOPLE)]
        command += [str(TURNS), *MESSAGES]
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"turn_profile failed:\n{done.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result


async def one_run(cfg: Any, fake: Any, tag: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=60) as client:
        return {
            "parse_ms": await parse(client, cfg.rasa_url, cfg.rasa_token),
            "rasa_rest": await rasa_rest(client, cfg.rasa_url, tag),
            "gateway": await gateway(client, cfg.app_url, fake, tag),
        }


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs' numbers side by side as min/median/max, keeping the nesting."""
    first = runs[0]
    if isinstance(first, dict):
        return {key: combine([r[key] for r in runs]) for key in first}
    return spread([float(r) for r in runs], 2)


def main() -> int:
    fake = oa.FakeZaloOA()
    runs: list[dict[str, Any]] = []
    with serve(fake.app()) as oa_url:
        os.environ.update(channel_env("http://127.0.0.1:9", oa_url))
        os.environ["SENDER_PER_MINUTE"] = "6000"  # one person typing faster than anyone can
        with running_stack() as cfg:
            for run in range(RUNS):
                tag = f"{int(time.time())}-{run}"
                measured = asyncio.run(one_run(cfg, fake, tag))
                measured["inside_rasa"] = inside_rasa(cfg.action_server_url)
                runs.append(measured)
                print(f"run {run + 1}/{RUNS} done", file=sys.stderr)
    result = {"people": PEOPLE, "turns": TURNS, "runs": RUNS, **combine(runs)}
    stored = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    stored["turn"] = result
    RESULTS.write_text(json.dumps(stored, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print_tables(result)
    return 0


def cell(value: dict[str, float]) -> str:
    return f"{value['median']} ({value['min']}–{value['max']})"


def print_tables(r: dict[str, Any]) -> None:
    print(f"\nOne turn at a time, p50 ms, median (min–max) of {r['runs']} runs")
    columns = [k for k in r["rasa_rest"] if k != "first_turn"]
    print("| path | new person | " + " | ".join(columns) + " |")
    print("|---|---:|" + "---:|" * len(columns))
    for name in ("gateway", "rasa_rest"):
        row = r[name]
        cells = [cell(row["first_turn"]), *(cell(row[c]) for c in columns)]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"| /model/parse | {cell(r['parse_ms'])} |" + " |" * len(columns))
    inside = r["inside_rasa"]
    stages = [k for k in inside["first_turn"]]
    print("\nInside Rasa (in-process, no HTTP), p50 ms per turn")
    print("| turns | " + " | ".join(stages) + " | events | tracker kB |")
    print("|---|" + "---:|" * (len(stages) + 2))
    for band in ("first_turn", *[k for k in inside if k.startswith("turns_")]):
        values = inside[band]
        sizes = [cell(values[k]) if k in values else "" for k in ("events", "tracker_kb")]
        print(f"| {band} | " + " | ".join([*(cell(values[s]) for s in stages), *sizes]) + " |")


if __name__ == "__main__":
    sys.exit(main())
