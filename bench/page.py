"""`make bench-page`: the province's public pages with every commune of the country and 10,000
lockdown zones loaded, on SQLite and on PostgreSQL.

For each database: a fresh one is migrated and loaded — the Lạng Sơn demo content, a level for
each of the 3,321 communes (a decision of its own for one in three, the rest inherit their
province's), ``BENCH_ZONES`` zones (``BENCH_LANG_SON_ZONES`` of them in Lạng Sơn, the others
across the country; active, ending later, or lifted) and ``BENCH_ANNOUNCEMENTS`` published
announcements. The app is served in-process (uvicorn, real HTTP) and each page — ``/``, a
commune's page and the province's Atom feed — is timed over three runs of ``BENCH_REQUESTS``
requests, with the page cache cleared before every request (cold) and kept (warm). The table
shows p50 and the min/median/max of the three runs' p95 (target ≤ 100 ms) and each page's
weight in bytes (target ≤ 100 KB; the pages have no images).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bench.common import latency_summary
from bot import places
from bot import settings as settings_module
from bot.content import files
from bot.places.index import load_index
from bot.storage import content as models
from bot.storage.alerts import DONE, ONE_OFF, Broadcast
from bot.storage.content import AreaLevel, LockdownZone, Source
from bot.storage.engine import sessions
from bot.web.app import create_app
from testkit import postgres
from testkit.fakes.server import serve

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "page.json"
TARGET_P95_MS = 100.0
TARGET_BYTES = 100 * 1024
ZONES = int(os.environ.get("BENCH_ZONES", "10000"))
LANG_SON_ZONES = int(os.environ.get("BENCH_LANG_SON_ZONES", "300"))
ANNOUNCEMENTS = int(os.environ.get("BENCH_ANNOUNCEMENTS", "500"))
PER_RUN = int(os.environ.get("BENCH_REQUESTS", "40"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "3"))
DATABASES = tuple(os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(","))
LANG_SON = 20
KY_LUA = 6187  # the commune page timed: a ward of Lạng Sơn with zones and a level of its own
BATCH = 2000


def load(factory: sessionmaker[Session]) -> dict[str, int]:
    """The demo content, then levels for every commune, the zones and the announcements."""
    rng = random.Random(2026)
    now = datetime.now(UTC)
    with factory.begin() as session:
        files.load(files.read_file(files.DEMO), session=session, prefer_province="Lạng Sơn")
    ix = load_index()
    communes = list(ix.communes.values())
    with factory.begin() as session:
        source_id = session.scalar(sa.select(Source.id).where(Source.demo.is_(True)))
        assert source_id is not None, "the demo content has a demo source"
        levels: list[dict[str, Any]] = []
        for n, place in enumerate(communes):
            if n % 3 and place.code != KY_LUA:
                continue  # inherits its province's (Lạng Sơn's) or the country's none
            levels.append(
                {
                    "key": f"bench-level-{place.code}",
                    "province_code": place.province_code,
                    "commune_code": place.code,
                    "source_id": source_id,
                    "scheme": "tinh-huong-2020",
                    "valid_from": now - timedelta(days=rng.randint(1, 60)),
                    "valid_until": None,
                    "position": 0,
                    "level": rng.randint(1, 4),
                    "decision": f"BENCH-{n}/QĐ-UBND",
                    "note": None,
                }
            )
        session.execute(sa.insert(AreaLevel), levels)
        lang_son = [p for p in communes if p.province_code == LANG_SON]
        others = [p for p in communes if p.province_code != LANG_SON]
        spread = [lang_son[i % len(lang_son)] for i in range(LANG_SON_ZONES)]
        spread += [others[rng.randrange(len(others))] for _ in range(ZONES - LANG_SON_ZONES)]
        rows: list[dict[str, Any]] = []
        first_day = now - timedelta(days=400)
        for n, place in enumerate(spread):
            starts = first_day + timedelta(days=rng.uniform(0, 390))
            roll = rng.random()
            status, ends = (
                (models.ACTIVE, None) if roll < 0.3
                else (models.ACTIVE, now + timedelta(days=rng.randint(1, 60))) if roll < 0.6
                else (models.LIFTED, starts + timedelta(days=rng.randint(1, 9)))
            )  # fmt: skip
            rows.append(
                {
                    "key": f"bench-zone-{n:05d}",
                    "province_code": place.province_code,
                    "commune_code": place.code,
                    "source_id": source_id,
                    "name": f"Khu vực thử {n}",
                    "kind": rng.choice(models.ZONE_KINDS),
                    "status": status,
                    "starts_at": starts,
                    "ends_at": ends,
                    "decision": f"BENCH-{n}/QĐ-UBND",
                    "note": "Người dân ở tại nhà; hàng thiết yếu được mang đến tận cửa.",
                }
            )
        for lo in range(0, len(rows), BATCH):
            session.execute(sa.insert(LockdownZone), rows[lo : lo + BATCH])
        for n in range(ANNOUNCEMENTS):
            at = now - timedelta(hours=ANNOUNCEMENTS - n)
            place = lang_son[n % len(lang_son)]
            area = {"province_code": LANG_SON, "commune_code": None if n % 4 else place.code}
            session.add(
                Broadcast(
                    kind=ONE_OFF,
                    status=DONE,
                    areas=[area],
                    title=f"Thông báo thử {n}",
                    template="x",
                    text=f"Nội dung thông báo thử số {n}.",
                    created_at=at,
                    updated_at=at,
                    approved_at=at,
                )
            )
    with factory() as session:
        session.execute(sa.text("ANALYZE"))
        session.commit()
        return {
            "communes": len(communes),
            "communes_lang_son": len(places.units_in(LANG_SON)),
            "levels": int(session.scalar(sa.select(sa.func.count(AreaLevel.id))) or 0),
            "zones": int(session.scalar(sa.select(sa.func.count(LockdownZone.id))) or 0),
            "announcements": ANNOUNCEMENTS,
        }


def timed(client: httpx.Client, path: str, clear: Any) -> dict[str, Any]:
    """Three runs of ``PER_RUN`` requests; ``clear`` runs before each (the cold case)."""
    size = 0
    for _ in range(WARMUP):
        clear()
        size = len(client.get(path).content)
    runs = []
    for _ in range(RUNS):
        timings = []
        for _ in range(PER_RUN):
            clear()
            started = time.perf_counter()
            answer = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200:
                raise RuntimeError(f"{path}: {answer.status_code}")
        runs.append(latency_summary(timings))
    p95s = [r["p95_ms"] for r in runs]
    return {
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p95_min_ms": min(p95s),
        "p95_median_ms": statistics.median(p95s),
        "p95_max_ms": max(p95s),
        "bytes": size,
        "runs": runs,
    }


def bench_database(kind: str) -> dict[str, Any]:
    with ExitStack() as stack:
        url = stack.enter_context(postgres.migrated(kind, prefix="loa-bench-page-"))
        started = time.perf_counter()
        loaded = load(sessions(url))
        print(f"{kind}: loaded {loaded} in {time.perf_counter() - started:.0f} s", flush=True)
        cfg = replace(
            settings_module.Settings(),
            database_url=url,
            var_dir=Path(stack.enter_context(tempfile.TemporaryDirectory())),
            rasa_url="http://127.0.0.1:9",  # the pages never call Rasa
            webchat_secret="bench-page-webchat-secret",
            embedded_worker=0,
        )
        app = create_app(cfg)
        base = stack.enter_context(serve(app))
        client = stack.enter_context(httpx.Client(base_url=base, timeout=30))
        cache = app.state.public_pages.cache
        cases = []
        for name, path in (
            ("province page /", "/"),
            ("commune page", f"/xa/{KY_LUA}"),
            ("province feed", "/thong-bao/atom.xml"),
        ):
            for state, clear in (("cold", cache.clear), ("warm", lambda: None)):
                result = {"case": name, "path": path, "cache": state, **timed(client, path, clear)}
                cases.append(result)
                print(f"  {kind:<10} {name:<18} {state}  p95 {result['p95_median_ms']:.1f} ms"
                      f"  {result['bytes']:,} B", flush=True)  # fmt: skip
        return {"database": kind, **loaded, "cases": cases}


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        f"{'database':<10} {'page':<18} {'cache':<5} {'p50':>7} {'p95 min':>8} {'median':>8}"
        f" {'max':>8} {'bytes':>8}  target"
    ]
    for db in results:
        for c in db["cases"]:
            fast = c["p95_max_ms"] <= TARGET_P95_MS
            light = c["bytes"] <= TARGET_BYTES
            met = (
                "ok"
                if fast and light
                else "MISSED" + ("" if fast else " time") + ("" if light else " weight")
            )
            lines.append(
                f"{db['database']:<10} {c['case']:<18} {c['cache']:<5} {c['p50_ms']:>7.1f}"
                f" {c['p95_min_ms']:>8.1f} {c['p95_median_ms']:>8.1f} {c['p95_max_ms']:>8.1f}"
                f" {c['bytes']:>8,}  {met}"
            )
    return "\n".join(lines)


def main() -> int:
    results = [bench_database(kind) for kind in DATABASES]
    print()
    print(f"The public pages with {ZONES:,} zones and a level for every commune: ms, {RUNS} runs"
          f" of {PER_RUN} requests (target p95 ≤ {TARGET_P95_MS:.0f} ms, ≤ 100 KB)")  # fmt: skip
    print(table(results))
    RESULTS.write_text(
        json.dumps(
            {
                "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "zones": ZONES,
                "runs": RUNS,
                "per_run": PER_RUN,
                "target_p95_ms": TARGET_P95_MS,
                "target_bytes": TARGET_BYTES,
                "databases": results,
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    missed = [
        c
        for db in results
        for c in db["cases"]
        if c["p95_max_ms"] > TARGET_P95_MS or c["bytes"] > TARGET_BYTES
    ]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
