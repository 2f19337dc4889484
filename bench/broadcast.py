"""`make bench-broadcast`: how fast approved broadcasts go out, on SQLite and PostgreSQL.

For each database a fresh one is migrated and seeded with BENCH_BROADCAST_PEOPLE subscribers
(default 100,000) of Lạng Sơn spread over its communes (``testkit.alerts_seed``). The fake
Telegram API runs in its own process (``testkit.fakes.telegram_server``), the delivery worker in
this one, as `loa worker` runs it. Three runs of each case:

- unlimited: the fake without limits and the worker unpaced; a broadcast for the province →
  deliveries per second (first to last arrival at the fake; target ≥ 1,000/s on 2 cores) and
  the time from the approval's commit to the first message at the fake (target ≤ 1 s; the
  audience's rows are made in between);
- paced: the fake enforcing 30/s (429 with retry_after beyond it) and the worker at Telegram's
  30/s; BENCH_BROADCAST_PACED people (default 1,500) → achieved rate (target ≥ 95 % of 30/s)
  and the 429s seen (target 0).

Prints a table (min / median / max over the runs) and writes bench/results/broadcast.json,
with the machine's load average, since the machine's other work shows in every figure.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.delivery import Worker
from bot.alerts.rules import SendRules
from bot.settings import Settings
from bot.storage.alerts import APPROVED, DONE, DRAFT, Broadcast
from bot.storage.engine import sessions
from connectors.ratelimit import RateLimiter
from connectors.telegram import outbound as telegram
from connectors.telegram.request import AiohttpRequest
from testkit import alerts_seed, postgres
from testkit.capacity import spread
from testkit.fakes import telegram as tg
from testkit.fakes.server import free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "broadcast.json"
PEOPLE = int(os.environ.get("BENCH_BROADCAST_PEOPLE", "100000"))
PACED = int(os.environ.get("BENCH_BROADCAST_PACED", "1500"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
DATABASES = tuple(os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(","))
CONCURRENCY = int(os.environ.get("ALERT_SEND_CONCURRENCY", str(Settings().alert_send_concurrency)))
TARGET_RATE, TARGET_PACED_SHARE, TARGET_FIRST_S = 1000.0, 0.95, 1.0


@contextmanager
def fake_telegram(per_second: int | None) -> Iterator[str]:
    """The fake in its own process; its URL."""
    port = free_port()
    command = [sys.executable, "-m", "testkit.fakes.telegram_server", str(port)]
    process = subprocess.Popen([*command, *([str(per_second)] if per_second else [])], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                stats(url, time.time())
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the fake Telegram did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def stats(url: str, since: float) -> dict[str, Any]:
    """What arrived at the fake since ``since`` (wall seconds)."""
    answer: dict[str, Any] = httpx.get(f"{url}/_fake/stats?since={since}", timeout=30).json()
    return answer


def draft(factory: sessionmaker[Session]) -> int:
    """A broadcast for the whole province, not approved yet (the run approves it)."""
    with factory() as session:
        row = alerts_seed.approved_broadcast(session, areas=[(alerts_seed.LANG_SON, None)])
        row.status = DRAFT
        session.commit()
        return row.id


async def one_run(factory: sessionmaker[Session], url: str, per_second: float) -> dict[str, Any]:
    """Approve one broadcast and deliver it with a worker; what the fake saw."""
    broadcast_id = draft(factory)
    request = AiohttpRequest(CONCURRENCY, read_timeout=15)
    channel = telegram.TelegramChannel(telegram.make_bot(tg.TOKEN, url, request=request))
    worker = Worker(
        sessions=factory,
        channels={"telegram": channel},
        limiters={"telegram": RateLimiter(per_second=per_second, chat_interval=1.0)},
        rules=SendRules(quiet=None, daily_cap=0),
        concurrency=CONCURRENCY,
    )
    running = asyncio.create_task(worker.run())
    await asyncio.sleep(1.0)  # the worker is up and idle, as it would be in production
    with factory() as session:
        session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(status=APPROVED, approved_at=datetime.now(UTC), version=Broadcast.version + 1)
        )
        session.commit()
        approved = time.time()
    while True:
        await asyncio.sleep(0.2)
        with factory() as session:
            status = session.scalar(select(Broadcast.status).where(Broadcast.id == broadcast_id))
        if status == DONE:
            break
    done = time.time()
    worker.stop()
    await running
    await channel.aclose()
    seen = stats(url, approved)
    sent, first, last = seen["sent"], seen["first_wall"], seen["last_wall"]
    return {
        "delivered": sent,
        "most_to_one_chat": seen["most_to_one_chat"],
        # n messages span n - 1 intervals between the first and last arrival
        "rate_per_s": round((sent - 1) / (last - first), 1) if sent > 1 and last > first else None,
        "approval_to_first_s": round(first - approved, 3) if first else None,
        "approval_to_done_s": round(done - approved, 1),
        "429s": seen["violations"],
    }


def bench(kind: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    with postgres.migrated(kind, prefix="loa-bench-broadcast-") as url:
        factory = sessions(url)
        seeded = alerts_seed.subscribers(factory, PEOPLE)
        with fake_telegram(None) as fake:
            runs = [asyncio.run(one_run(factory, fake, 10**6)) for _ in range(RUNS)]
        result["unlimited"] = {"people": seeded.people, "runs": runs}
    with postgres.migrated(kind, prefix="loa-bench-broadcast-") as url:
        factory = sessions(url)
        alerts_seed.subscribers(factory, PACED)
        with fake_telegram(telegram.PER_SECOND) as fake:
            runs = [asyncio.run(one_run(factory, fake, telegram.PER_SECOND)) for _ in range(RUNS)]
        result["paced"] = {"people": PACED, "limit_per_s": telegram.PER_SECOND, "runs": runs}
    return result


def table(results: dict[str, Any]) -> None:
    print(f"\n{'database':<11} {'case':<34} {'min':>9} {'median':>9} {'max':>9}  target")
    for kind, res in results["databases"].items():
        unlimited, paced = res["unlimited"]["runs"], res["paced"]["runs"]
        rows = [
            ("deliveries/s, no limit", [r["rate_per_s"] for r in unlimited], "≥ 1000"),
            ("approval → first delivery (s)", [r["approval_to_first_s"] for r in unlimited], "≤ 1"),
            ("approval → all done (s)", [r["approval_to_done_s"] for r in unlimited], ""),
            ("paced rate /s (fake at 30/s)", [r["rate_per_s"] for r in paced], "≥ 28.5"),
            ("429s at 30/s", [r["429s"] for r in paced], "0"),
        ]
        for name, values, target in rows:
            s = spread(values, 3)
            cells = " ".join(f"{'' if v is None else v:>9}" for v in s.values())
            print(f"{kind:<11} {name:<34} {cells}  {target}")


def main() -> int:
    results: dict[str, Any] = {
        "people": PEOPLE,
        "paced_people": PACED,
        "runs": RUNS,
        "send_concurrency": CONCURRENCY,
        "load_average_at_start": os.getloadavg(),
        "databases": {kind: bench(kind) for kind in DATABASES},
        "load_average_at_end": os.getloadavg(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    table(results)
    every = [
        run
        for res in results["databases"].values()
        for case in ("unlimited", "paced")
        for run in res[case]["runs"]
    ]
    return 0 if all(r["most_to_one_chat"] == 1 for r in every) else 1


if __name__ == "__main__":
    sys.exit(main())
