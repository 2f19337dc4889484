"""Place-reading accuracy on the testkit table; action latency with 10,000 zones, 1,000 schemes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

import httpx
from sqlalchemy import and_, func, or_, select

from bench.common import latency_summary
from bot import places
from bot.content import areas, files
from bot.places.index import load_index
from bot.storage import content as models
from bot.storage.content import LockdownZone, SchemeGroup, Source, SupportGroup, SupportScheme
from bot.storage.engine import sessions
from bot.storage.migrate import upgrade
from testkit.fakes.server import free_port
from testkit.place_table import CASES, QUESTIONS, SENTENCES, check, check_asked, check_found

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "knowledge.json"
FIXTURE = ROOT / "tests" / "fixtures" / "content" / "small.yml"
PROVINCE = "Lạng Sơn"
LANG_SON = 20
LANG_SON_FOCUS = (5986, 5977, 6187, 6184)  # Tam Thanh, Đông Kinh, Kỳ Lừa, Đồng Đăng
ACCURACY_TARGET = 98.0  # % of the test table
P95_TARGET_MS = 30.0  # per action request

ZONES = int(os.environ.get("BENCH_ZONES", "10000"))
LANG_SON_ZONES = int(os.environ.get("BENCH_LANG_SON_ZONES", "300"))
SCHEMES = int(os.environ.get("BENCH_SCHEMES", "1000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "300"))  # per case and run
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "20"))
PARALLEL = int(os.environ.get("BENCH_PARALLEL", "8"))
MIXED = int(os.environ.get("BENCH_MIXED_PER_CASE", "100"))  # per case in the concurrent run
RESOLVE_ROUNDS = int(os.environ.get("BENCH_RESOLVE_ROUNDS", "20"))  # timing passes over the table


# --- 1. place resolution -------------------------------------------------------------------


def _short(text: str, width: int = 60) -> str:
    shown = repr(text)
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def place_accuracy() -> dict[str, Any]:
    started = time.perf_counter()
    places.resolve("Tam Thanh")  # builds the index
    index_s = time.perf_counter() - started

    failing: list[dict[str, str]] = []
    for label, text, expected in CASES:
        try:
            check(places.resolve(text), expected)
        except AssertionError as exc:
            failing.append({"label": label, "text": text[:200], "error": str(exc)[:300]})
    timings: list[float] = []
    for _ in range(RESOLVE_ROUNDS):
        for _label, text, _expected in CASES:
            t0 = time.perf_counter()
            places.resolve(text)
            timings.append((time.perf_counter() - t0) * 1000)
    correct = len(CASES) - len(failing)

    sentence_failing: list[dict[str, str]] = []
    sentence_timings: list[float] = []
    for sentence, expected_found in SENTENCES:
        try:
            check_found(places.find_places(sentence), expected_found)
        except AssertionError as exc:
            sentence_failing.append({"text": sentence, "error": str(exc)[:300]})
    for _ in range(RESOLVE_ROUNDS):
        for sentence, _found in SENTENCES:
            t0 = time.perf_counter()
            places.find_places(sentence)
            sentence_timings.append((time.perf_counter() - t0) * 1000)
    sentence_correct = len(SENTENCES) - len(sentence_failing)

    # What a question is about, with the entities Rasa's model gave and with none.
    asked = [
        (t, typed, said) for _l, t, ents, said in QUESTIONS for typed in dict.fromkeys((ents, ()))
    ]
    question_failing: list[dict[str, str]] = []
    for text, typed, said in asked:
        found = areas.understand(text, province=PROVINCE, typed=typed)
        try:
            name = found.area.name if found.area else None
            check_asked(name, [c.name for c in found.choices], said)
        except AssertionError as exc:
            question_failing.append({"text": f"{text} {list(typed)}", "error": str(exc)[:300]})
    question_timings: list[float] = []
    for _ in range(RESOLVE_ROUNDS):
        for text, typed, _said in asked:
            t0 = time.perf_counter()
            areas.understand(text, province=PROVINCE, typed=typed)
            question_timings.append((time.perf_counter() - t0) * 1000)
    question_correct = len(asked) - len(question_failing)

    def part(
        cases: int, right: int, fails: list[dict[str, str]], ms: list[float]
    ) -> dict[str, Any]:
        accuracy = round(100 * right / cases, 2)
        summary = latency_summary(ms)
        return {
            "cases": cases,
            "correct": right,
            "accuracy_pct": accuracy,
            "target_pct": ACCURACY_TARGET,
            "met": accuracy >= ACCURACY_TARGET,
            "timed_calls": len(ms),
            "p50_ms": round(sorted(ms)[len(ms) // 2], 3),
            "p95_ms": round(sorted(ms)[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))], 3),
            "max_ms": summary["max_ms"],
            "failing": fails,
        }

    return {
        "index_build_s": round(index_s, 2),
        "resolve": part(len(CASES), correct, failing, timings),
        "find_places": part(len(SENTENCES), sentence_correct, sentence_failing, sentence_timings),
        "understand": part(len(asked), question_correct, question_failing, question_timings),
    }


def print_places(result: dict[str, Any]) -> None:
    print(
        f"\nPlace resolution on testkit/place_table.py (index built in {result['index_build_s']} s)"
    )
    print("| table | cases | correct | accuracy % | target | met | p50 ms | p95 ms | max ms |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|")
    tables = (
        ("resolve", "CASES → resolve"),
        ("find_places", "SENTENCES → find_places"),
        ("understand", "QUESTIONS → understand"),
    )
    for name, what in tables:
        r = result[name]
        cells = [what, r["cases"], r["correct"], r["accuracy_pct"], f"≥ {r['target_pct']:g} %"]
        cells += ["yes" if r["met"] else "no", r["p50_ms"], r["p95_ms"], r["max_ms"]]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    for name, _what in tables:
        for fail in result[name]["failing"]:
            print(f"  failing ({name}): {_short(fail['text'])} — {fail['error'] or 'assert'}")


# --- 2. content ------------------------------------------------------------------------------


def load_content(url: str) -> dict[str, Any]:
    """The demo content (or the test fixture), then the generated zones and schemes."""
    path = files.DEMO if files.DEMO.exists() else FIXTURE
    rng = random.Random(2025)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with sessions(url).begin() as s:
        files.load(files.read_file(path), session=s, prefer_province=PROVINCE)
    with sessions(url).begin() as s:
        source_id = s.scalar(select(Source.id).where(Source.demo.is_(True)).order_by(Source.id))
        if source_id is None:
            source_id = s.scalar(select(Source.id).order_by(Source.id))
        group_keys = list(s.scalars(select(SupportGroup.key).order_by(SupportGroup.position)))
        ix = load_index()
        lang_son = [p.code for p in places.units_in(LANG_SON)]
        others = [p for p in ix.communes.values() if p.province_code != LANG_SON]
        rng.shuffle(others)
        # Lạng Sơn: the four communes the questions name first, then round-robin over all 65.
        ls_codes = [*LANG_SON_FOCUS, *lang_son]
        spread = [(LANG_SON, ls_codes[i % len(ls_codes)]) for i in range(LANG_SON_ZONES)]
        spread += [
            (others[i % len(others)].province_code, others[i % len(others)].code)
            for i in range(ZONES - LANG_SON_ZONES)
        ]
        first_day = datetime(2020, 1, 1, tzinfo=UTC)
        span = (now - timedelta(days=60) - first_day).total_seconds()
        for n, (province_code, commune_code) in enumerate(spread):
            starts = first_day + timedelta(seconds=rng.uniform(0, span))
            roll = rng.random()
            if roll < 0.3:  # active, open-ended
                status, ends = models.ACTIVE, None
            elif roll < 0.6:  # active until a day to come
                status, ends = models.ACTIVE, now + timedelta(days=rng.randint(1, 60))
            else:  # lifted in the past
                status, ends = models.LIFTED, starts + timedelta(days=rng.randint(1, 30))
            kind = rng.choice(models.ZONE_KINDS)
            s.add(
                LockdownZone(
                    key=f"bench-zone-{n:05d}",
                    province_code=province_code,
                    commune_code=commune_code,
                    source_id=source_id,
                    name=f"Khu vực thử {n} ({kind})",
                    kind=kind,
                    status=status,
                    starts_at=starts,
                    ends_at=ends,
                    decision=f"BENCH-{n}/QĐ-UBND",
                    note="Gọi tổ trưởng để nhận hàng." if n % 5 == 0 else None,
                )
            )
        provinces = [code for code in ix.provinces if code != LANG_SON]
        for n in range(SCHEMES):
            scope = n % 3  # national, Lạng Sơn, another province
            scheme_province: int | None = (
                None if scope == 0 else LANG_SON if scope == 1 else rng.choice(provinces)
            )
            valid_from = first_day + timedelta(days=rng.randint(0, 900))
            if n % 2 == 0:
                valid_until = datetime(2099, 12, 31, 17, tzinfo=UTC)
            else:
                valid_until = valid_from + timedelta(days=rng.randint(30, 300))
            chosen = rng.sample(group_keys, k=min(len(group_keys), rng.randint(1, 2)))
            s.add(
                SupportScheme(
                    key=f"bench-scheme-{n:04d}",
                    province_code=scheme_province,
                    commune_code=None,
                    source_id=source_id,
                    valid_from=valid_from,
                    valid_until=valid_until,
                    position=100 + n,
                    title=f"Chính sách thử {n}",
                    summary="Hỗ trợ một lần cho người bị ảnh hưởng (thử).",
                    eligible="Người lao động mất việc do dịch.",
                    amount="1.500.000 đ",
                    how_to_apply="Nộp đơn kèm giấy tờ tùy thân.",
                    where_to_apply="UBND cấp xã nơi cư trú",
                    legal_basis=f"Quyết định BENCH-{n}/QĐ-UBND",
                    groups=[SchemeGroup(group_key=key) for key in chosen],
                )
            )
    seconds = time.perf_counter() - started
    with sessions(url)() as s:

        def count(query: Any) -> int:
            return int(s.scalar(query) or 0)

        zone_count = select(func.count()).select_from(LockdownZone)
        scheme_count = select(func.count()).select_from(SupportScheme)
        open_now = and_(
            SupportScheme.valid_from <= now,
            or_(SupportScheme.valid_until.is_(None), SupportScheme.valid_until > now),
        )
        return {
            "content_file": str(path.relative_to(ROOT)),
            "generated_zones": ZONES,
            "generated_schemes": SCHEMES,
            "demo_file_missing": path == FIXTURE,
            "zones": count(zone_count),
            "zones_lang_son": count(zone_count.where(LockdownZone.province_code == LANG_SON)),
            "zones_active": count(zone_count.where(LockdownZone.status == models.ACTIVE)),
            "communes_with_zones": count(select(func.count(LockdownZone.commune_code.distinct()))),
            "schemes": count(scheme_count),
            "schemes_open": count(scheme_count.where(open_now)),
            "support_groups": group_keys,
            "load_seconds": round(seconds, 1),
        }


# --- 2. the action server --------------------------------------------------------------------


@contextmanager
def action_server(url: str, log_path: Path) -> Iterator[str]:
    """rasa-sdk as bot/supervisor.py starts it; yields its base URL; stops it at the end."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url, SANIC_HOST="127.0.0.1", LOA_PROVINCE=PROVINCE, PYTHONUNBUFFERED="1"
    )
    command = [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            with httpx.Client() as client:
                while True:
                    if proc.poll() is not None:
                        raise RuntimeError(f"the action server exited with {proc.returncode}")
                    try:
                        if client.get(f"{base}/health", timeout=2).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise TimeoutError("the action server did not answer /health in 60 s")
                    time.sleep(0.2)
            yield base
        except BaseException:
            print(f"\n--- action server log ({log_path}), last lines ---", file=sys.stderr)
            lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
            print("\n".join(lines[-40:]), file=sys.stderr)
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@dataclass
class Case:
    name: str
    action: str
    text: str
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    entities: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {
            "next_action": self.action,
            "sender_id": "bench",
            "tracker": {
                "sender_id": "bench",
                "slots": self.slots,
                "latest_message": {
                    "text": self.text,
                    "intent": {"name": self.intent, "confidence": 1.0},
                    "entities": self.entities,
                },
                "latest_event_time": None,
                "followup_action": None,
                "paused": False,
                "events": [],
                "latest_input_channel": "rest",
                "active_loop": {},
                "latest_action": {"action_name": "action_listen"},
                "latest_action_name": "action_listen",
            },
            "domain": {},
            "version": "3.6.21",
        }


def location(text: str, words: str) -> list[dict[str, Any]]:
    """The ``location`` entity Rasa's NLU gives for the place words in ``text``."""
    start = text.index(words)
    return [{"entity": "location", "value": words, "start": start, "end": start + len(words)}]


def cases(first_group: str) -> list[Case]:
    lockdown, level = "ask_lockdown_status", "ask_alert_level"
    commune = "phường Tam Thanh có bị phong tỏa ko"
    province = "tỉnh Lạng Sơn có khu nào phong tỏa"
    old = "huyện Cao Lộc có phong tỏa ko"
    alert = "Kỳ Lừa cấp độ mấy"
    scheme = "có chính sách hỗ trợ gì"
    return [
        Case("lockdown: commune", "action_tell_lockdown_status", commune, lockdown,
             entities=location(commune, "phường Tam Thanh")),
        Case("lockdown: province", "action_tell_lockdown_status", province, lockdown,
             entities=location(province, "tỉnh Lạng Sơn")),
        Case("lockdown: old huyện", "action_tell_lockdown_status", old, lockdown,
             entities=location(old, "huyện Cao Lộc")),
        Case("alert level", "action_tell_alert_level", alert, level,
             entities=location(alert, "Kỳ Lừa")),
        Case("schemes: overview", "action_list_support_schemes", scheme, "ask_support_scheme"),
        Case("schemes: group", "action_list_support_schemes", scheme, "ask_support_scheme",
             entities=[{"entity": "support_group", "value": first_group}]),
        Case("hotlines (c:5986)", "action_list_hotlines", "số đường dây nóng", "ask_hotline",
             slots={"place_code": "c:5986"}),
        Case("prevention", "action_tell_prevention", "phòng bệnh thế nào", "ask_prevention"),
        Case("symptoms", "action_tell_symptoms", "triệu chứng là gì", "ask_symptoms"),
        Case("triage", "action_triage_symptoms", "bố em 70 tuổi spo2 92 khó thở",
             "report_symptoms"),
        Case("answer place (lockdown)", "action_answer_place", "phường Tam Thanh",
             "inform_place", slots={"place_topic": "lockdown"},
             entities=location("phường Tam Thanh", "phường Tam Thanh")),
    ]  # fmt: skip


class ActionFailed(RuntimeError):
    pass


def post(client: httpx.Client, url: str, case: Case) -> tuple[float, list[dict[str, Any]]]:
    body = case.body()
    t0 = time.perf_counter()
    response = client.post(url, json=body)
    elapsed = (time.perf_counter() - t0) * 1000
    if response.status_code != 200:
        raise ActionFailed(f"{case.name}: HTTP {response.status_code}: {response.text[:2000]}")
    replies = response.json().get("responses")
    if not replies:
        raise ActionFailed(f"{case.name}: no responses: {response.text[:2000]}")
    return elapsed, replies


def sequential(base: str, all_cases: list[Case]) -> dict[str, list[list[float]]]:
    url = f"{base}/webhook"
    runs: dict[str, list[list[float]]] = {c.name: [] for c in all_cases}
    with httpx.Client(timeout=30) as client:
        for case in all_cases:
            for _ in range(WARMUP):
                post(client, url, case)
        for _ in range(RUNS):
            for case in all_cases:
                runs[case.name].append([post(client, url, case)[0] for _ in range(REQUESTS)])
    return runs


def concurrent(base: str, all_cases: list[Case]) -> tuple[list[float], float, list[str]]:
    url = f"{base}/webhook"
    mixed = [c for c in all_cases for _ in range(MIXED)]
    random.Random(7).shuffle(mixed)
    timings: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        with httpx.Client(timeout=30) as client:
            for case in mixed[offset::PARALLEL]:
                try:
                    elapsed, _ = post(client, url, case)
                except (ActionFailed, httpx.HTTPError) as exc:
                    with lock:
                        errors.append(str(exc)[:500])
                    continue
                with lock:
                    timings.append(elapsed)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(PARALLEL)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings, time.perf_counter() - started, errors


def action_latency(url: str, tmp: Path, content: dict[str, Any]) -> dict[str, Any]:
    all_cases = cases(content["support_groups"][0])
    with action_server(url, tmp / "actions.log") as base:
        with httpx.Client(timeout=30) as client:
            replies = {c.name: post(client, f"{base}/webhook", c)[1] for c in all_cases}
        runs = sequential(base, all_cases)
        mixed, wall, errors = concurrent(base, all_cases)
    rows: dict[str, Any] = {}
    for case in all_cases:
        pooled = [ms for run in runs[case.name] for ms in run]
        run_p95 = [latency_summary(run)["p95_ms"] for run in runs[case.name]]
        rows[case.name] = {
            "action": case.action,
            "text": case.text,
            "replies": [
                r.get("response") or r.get("template") or "text" for r in replies[case.name]
            ],
            "requests": len(pooled),
            **latency_summary(pooled),
            "p95_runs_ms": {
                "min": min(run_p95),
                "median": round(median(run_p95), 1),
                "max": max(run_p95),
            },
            "met": median(run_p95) <= P95_TARGET_MS,
        }
    return {
        "target_p95_ms": P95_TARGET_MS,
        "runs": RUNS,
        "sequential": rows,
        f"concurrency_{PARALLEL}": {
            "requests": len(mixed),
            "errors": len(errors),
            "first_errors": errors[:5],
            **(latency_summary(mixed) if mixed else {}),
            "requests_per_s": round(len(mixed) / wall, 1),
        },
    }


def print_actions(result: dict[str, Any], content: dict[str, Any]) -> None:
    print(
        f"\nAction server latency, {content['zones']:,} zones "
        f"({content['zones_lang_son']} in Lạng Sơn, {content['zones_active']:,} active, "
        f"{content['communes_with_zones']:,} communes), {content['schemes']:,} schemes "
        f"({content['schemes_open']} open); content from {content['content_file']}"
    )
    print(f"| action (case) | requests | p50 ms | p95 ms | p99 ms | max ms | p95 over {RUNS} runs "
          f"(min / median / max) | p95 ≤ {P95_TARGET_MS:g} ms met |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, r in result["sequential"].items():
        runs = r["p95_runs_ms"]
        cells = [f"{r['action']} ({name})", r["requests"], r["p50_ms"], r["p95_ms"], r["p99_ms"]]
        cells += [r["max_ms"], f"{runs['min']} / {runs['median']} / {runs['max']}"]
        cells += ["yes" if r["met"] else "no"]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    c = result[f"concurrency_{PARALLEL}"]
    print(f"\n{PARALLEL} clients at once, all cases mixed")
    print("| clients | requests | errors | p50 ms | p95 ms | p99 ms | min | max | req/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    cells = [PARALLEL, c["requests"], c["errors"], c.get("p50_ms"), c.get("p95_ms")]
    cells += [c.get("p99_ms"), c.get("min_ms"), c.get("max_ms"), c["requests_per_s"]]
    print("| " + " | ".join(str(x) for x in cells) + " |")
    for error in c["first_errors"]:
        print(f"  error: {error}")
    print("\nReplies (response names) per case:")
    for name, r in result["sequential"].items():
        print(f"  {name}: {', '.join(r['replies'])}")


def main() -> int:
    report: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds")}
    report["places"] = place_accuracy()
    print_places(report["places"])
    with tempfile.TemporaryDirectory(prefix="loa-bench-knowledge-") as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade(url)
        content = load_content(url)
        if content["demo_file_missing"]:
            print(f"\n{files.DEMO.relative_to(ROOT)} does not exist: loaded {FIXTURE.name} instead")
        report["content"] = content
        report["actions"] = action_latency(url, tmp, content)
    print_actions(report["actions"], content)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
