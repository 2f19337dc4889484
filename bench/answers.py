"""``make bench-answers``: the right answer for messages Loa was not trained on (issue 13).

Starts the stack the way ``make run`` does, loads the demo content (with the question bank),
and routes every message of the test set (testkit/data/answers-*.yml, as written and with
diacritics stripped) exactly as the action server does: Rasa's /model/parse, the bank search,
``bot.content.bank.route.decide``. Three runs; prints the shares (right, wrongly answered,
"none" correctly declined) and the bank search's latency with the real bank and with 2,000 and
10,000 entries, and writes bench/results/answers.json.
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, select

from bench.common import latency_summary, running_stack
from bot.clock import utcnow
from bot.content import files
from bot.content.bank import store as bank
from bot.storage.content import BankEntry, Source
from bot.storage.engine import sessions
from bot.storage.migrate import upgrade
from testkit.answers import VARIANTS, load_cases, score
from testkit.capacity import spread

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "answers.json"
RUNS = 3
TARGETS = {"right": 0.90, "wrongly_answered": 0.03}
SIZES = (2_000, 10_000)
PHRASINGS = select(BankEntry.questions).order_by(BankEntry.position, BankEntry.id)


def synthetic_bank(url: str, size: int, phrasings: list[list[str]], seed: int) -> None:
    """Fill the database at ``url`` (migrated, with the demo's sources) with ``size`` entries
    made of the real phrasings, each with two words of another entry added (so no two entries
    are the same and the vocabulary grows as a real bank's would)."""
    rng = random.Random(seed)
    words = sorted({w for group in phrasings for p in group for w in p.split()})
    with sessions(url).begin() as session:
        session.execute(delete(BankEntry))
        source = session.scalars(select(Source.id)).first()
        start = datetime(2020, 1, 1, tzinfo=UTC)
        for n in range(size):
            extra = " ".join(rng.sample(words, 2))
            session.add(
                BankEntry(
                    key=f"e{n}",
                    topic="other",
                    questions=[f"{p} {extra}" for p in phrasings[n % len(phrasings)]],
                    answer="…",
                    source_id=source,
                    valid_from=start,
                )
            )


def search_latency(url: str, texts: list[str], province: str) -> tuple[float, list[float], float]:
    """The first search after the whole bank changed (the index built from nothing), the
    action server's search as it runs per message after that (the table's fingerprint read,
    the entries valid now, the index), and the first search after one entry was reworded (the
    index built again from the last one), in ms."""
    timings = []
    with sessions(url)() as session:
        started = time.perf_counter()
        bank.search(session, texts[0], at=utcnow(), province=province)
        rebuild = (time.perf_counter() - started) * 1000
        for text in texts:
            started = time.perf_counter()
            bank.search(session, text, at=utcnow(), province=province)
            timings.append((time.perf_counter() - started) * 1000)
    with sessions(url).begin() as session:
        edited = session.scalars(select(BankEntry).order_by(BankEntry.id)).first()
        assert edited is not None
        edited.questions = [*edited.questions, f"{edited.questions[0]} nữa"]
    with sessions(url)() as session:
        started = time.perf_counter()
        bank.search(session, texts[1], at=utcnow(), province=province)
        edit = (time.perf_counter() - started) * 1000
    return rebuild, timings, edit


def main() -> int:
    cases = load_cases()
    texts = [case.text for case in cases]
    runs: list[dict[str, Any]] = []
    with running_stack() as cfg:
        big_url = f"sqlite:///{cfg.var_dir / 'big-bank.db'}"
        upgrade(big_url)
        for url in (cfg.database_url, big_url):
            with sessions(url).begin() as session:
                for path in files.DEMO_FILES:
                    files.load(files.read_file(path), session=session, prefer_province=cfg.province)
                phrasings = [list(row) for row in session.scalars(PHRASINGS)]
        with httpx.Client(timeout=60, params={"token": cfg.rasa_token}) as client:

            def parse(text: str) -> dict[str, Any]:
                response = client.post(f"{cfg.rasa_url}/model/parse", json={"text": text})
                response.raise_for_status()
                result: dict[str, Any] = response.json()
                return result

            for run in range(RUNS):
                with sessions(cfg.database_url)() as session:
                    scores = score(cases, parse, session, province=cfg.province)
                row: dict[str, Any] = {
                    variant: {**scores[variant].shares(), "cases": scores[variant].total}
                    for variant in VARIANTS
                }
                row["search_ms_demo_bank"] = latency_summary(
                    [ms for s in scores.values() for ms in s.search_ms]
                )
                for size in SIZES:
                    synthetic_bank(big_url, size, phrasings, seed=run)
                    rebuild, timings, edit = search_latency(big_url, texts, cfg.province)
                    row[f"search_ms_{size}"] = latency_summary(timings)
                    row[f"rebuild_ms_{size}"] = round(rebuild, 1)
                    row[f"edit_ms_{size}"] = round(edit, 1)
                row["mistakes"] = {v: scores[v].mistakes for v in VARIANTS}
                runs.append(row)
                print(f"run {run + 1}/{RUNS} done", file=sys.stderr)
    report = _report(runs, len(cases), len(phrasings))
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


def _report(runs: list[dict[str, Any]], cases: int, entries: int) -> dict[str, Any]:
    print(f"\nAnswers on {cases} messages not trained on (bank: {entries} entries), {RUNS} runs")
    print("| measure | target | min | median | max | met |")
    print("|---|---|---|---|---|---|")
    table: dict[str, Any] = {}
    for variant in VARIANTS:
        for name in runs[0][variant]:
            if name == "cases":
                continue
            values = [run[variant][name] for run in runs]
            target = TARGETS.get(name)
            summary = spread(values, 4)
            low, high = summary["min"] or 0.0, summary["max"] or 0.0  # every run has each
            met = ""
            if target is not None:
                ok = high <= target if name == "wrongly_answered" else low >= target
                met = "yes" if ok else "**no**"
            table[f"{variant}.{name}"] = {**summary, "target": target}
            shown = f"≥ {target}" if name == "right" else f"≤ {target}" if target else "—"
            print(
                f"| {variant}: {name} | {shown} | {summary['min']} | {summary['median']} "
                f"| {summary['max']} | {met} |"
            )
    for key in ("search_ms_demo_bank", *(f"search_ms_{size}" for size in SIZES)):
        for q in ("p50_ms", "p95_ms"):
            values = [run[key][q] for run in runs]
            summary = spread(values, 4)
            target = 10.0 if q == "p95_ms" else None
            slowest = summary["max"] or 0.0
            met = "" if target is None else ("yes" if slowest <= target else "**no**")
            table[f"{key}.{q}"] = {**summary, "target": target}
            shown = f"≤ {target}" if target else "—"
            print(
                f"| {key} {q} | {shown} | {summary['min']} | {summary['median']} "
                f"| {summary['max']} | {met} |"
            )
    for size in SIZES:
        summary = spread([run[f"rebuild_ms_{size}"] for run in runs], 4)
        table[f"rebuild_ms_{size}"] = {**summary, "target": None}
        print(
            f"| first search after a change, {size} entries (index rebuilt), ms | — "
            f"| {summary['min']} | {summary['median']} | {summary['max']} | |"
        )
        summary = spread([run[f"edit_ms_{size}"] for run in runs], 4)
        table[f"edit_ms_{size}"] = {**summary, "target": None}
        print(
            f"| first search after one entry is reworded, {size} entries, ms | — "
            f"| {summary['min']} | {summary['median']} | {summary['max']} | |"
        )
    return {"cases": cases, "bank_entries": entries, "runs": RUNS, "table": table,
            "mistakes_last_run": runs[-1]["mistakes"]}  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
