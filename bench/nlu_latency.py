"""/model/parse latency on a running Rasa server (the shipped model), p50/p95/p99.

Starts the stack the way `make run` does (free ports, a throw-away var dir), sends
BENCH_REQUESTS (default 500) parse requests one after another, then the same with 8 in
parallel; prints a table and writes the "parse_latency" part of bench/results/nlu.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import httpx

from bench.common import latency_summary, running_stack

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "nlu.json"
SENTENCES = [
    "xin chào",
    "trieu chung covid la gi",
    "tôi bị sốt và khó thở",
    "phường Tam Thanh có bị phong tỏa ko",
    "tôi mất việc thì được hỗ trợ gì",
    "nhà tôi hết gạo rồi",
    "đăng ký nhận thông báo",
    "số đường dây nóng",
    "giá vàng hôm nay",
    "dạ cho em hỏi bố em năm nay 70 tuổi bị tiểu đường, giờ sốt 38.5 và ho nhiều thì nên làm gì ạ",
]


async def run(url: str, token: str, n: int, parallel: int) -> list[float]:
    timings: list[float] = []
    async with httpx.AsyncClient(timeout=30, params={"token": token}) as client:
        for text in SENTENCES:  # warm-up
            await client.post(f"{url}/model/parse", json={"text": text})

        async def worker(offset: int) -> None:
            for i in range(offset, n, parallel):
                t0 = time.perf_counter()
                response = await client.post(
                    f"{url}/model/parse", json={"text": SENTENCES[i % len(SENTENCES)]}
                )
                response.raise_for_status()
                timings.append((time.perf_counter() - t0) * 1000)

        await asyncio.gather(*(worker(i) for i in range(parallel)))
    return timings


def main() -> int:
    n = int(os.environ.get("BENCH_REQUESTS", "500"))
    rows = {}
    with running_stack() as cfg:
        for parallel in (1, 8):
            timings = asyncio.run(run(cfg.rasa_url, cfg.rasa_token, n, parallel))
            rows[f"concurrency_{parallel}"] = {
                "requests": len(timings),
                **latency_summary(timings),
            }
    report = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    report["parse_latency"] = rows
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print("\n/model/parse latency (target p95 ≤ 50 ms)")
    print("| concurrency | requests | p50 ms | p95 ms | p99 ms | min | max |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        cells = [name.split("_")[1], r["requests"], r["p50_ms"], r["p95_ms"], r["p99_ms"]]
        print("| " + " | ".join(str(c) for c in [*cells, r["min_ms"], r["max_ms"]]) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
