"""A fast loop for the answer routing (issue 13): Rasa's readings cached once, routing replayed.

``python -m bench.answers_offline parse`` starts the stack once (as ``make bench-answers``
does) and saves Rasa's ``/model/parse`` result for every text of the test set, as written and
stripped, to ``var/answers-parse.json``. ``python -m bench.answers_offline`` then loads the demo
content into a temporary database and routes every message in-process with those readings
(seconds, no Rasa), printing right / wrongly answered for the whole set and for its two halves:
"tune" and "check", split by a fixed hash of each message. Change the matching by looking at
the tune half's mistakes only (``--mistakes``); the check half tells whether it generalises.
The readings stay valid while the model is the same (its name is saved with them).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench.common import running_stack
from bot import text as vi
from bot.content import files
from bot.storage.engine import sessions
from bot.storage.migrate import upgrade
from bot.training import model_path
from testkit.answers import HALVES, VARIANTS, Score, half, load_cases, score

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "answers-parse.json"
PROVINCE = "Lạng Sơn"


def parse_all() -> int:
    texts = sorted({t for c in load_cases() for t in (c.text, vi.strip_diacritics(c.text))})
    readings: dict[str, Any] = {}
    with (
        running_stack() as cfg,
        httpx.Client(timeout=60, params={"token": cfg.rasa_token}) as client,
    ):
        for text in texts:
            response = client.post(f"{cfg.rasa_url}/model/parse", json={"text": text})
            response.raise_for_status()
            readings[text] = response.json()
    CACHE.parent.mkdir(exist_ok=True)
    payload = {"model": model_path().name, "readings": readings}
    CACHE.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    print(f"saved {len(readings)} readings to {CACHE.relative_to(ROOT)}")
    return 0


def replay(show: str | None) -> int:
    saved = json.loads(CACHE.read_text(encoding="utf-8"))
    if saved["model"] != model_path().name:
        print(f"warning: readings are from {saved['model']}, the model is now {model_path().name}")
    readings: dict[str, Any] = saved["readings"]
    cases = load_cases()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'loa.db'}"
        upgrade(url)
        with sessions(url).begin() as session:
            for path in files.DEMO_FILES:
                files.load(files.read_file(path), session=session, prefer_province=PROVINCE)
        groups = {"full": cases, **{h: [c for c in cases if half(c) == h] for h in HALVES}}
        results: dict[str, dict[str, Score]] = {}
        with sessions(url)() as session:
            for name, group in groups.items():
                results[name] = score(group, readings.__getitem__, session, province=PROVINCE)
    print(
        "| set | cases | written right (by asking) | written wrong | written asked, not it "
        "| stripped right (by asking) | stripped wrong |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, scores in results.items():
        w, s = scores["written"].shares(), scores["stripped"].shares()
        print(
            f"| {name} | {scores['written'].total} | {w['right']:.3f} ({w['right_by_asking']:.3f}) "
            f"| {w['wrongly_answered']:.3f} | {w['asked_without_the_answer']:.3f} "
            f"| {s['right']:.3f} ({s['right_by_asking']:.3f}) | {s['wrongly_answered']:.3f} |"
        )
    if show:
        for variant in VARIANTS:
            for m in results[show][variant].mistakes:
                print(f"{variant[0]} {m['got']:40} ← {m['expect']} {m['text']}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=("parse", "replay"), default="replay")
    parser.add_argument("--mistakes", choices=HALVES, help="print this half's mistakes")
    args = parser.parse_args()
    return parse_all() if args.mode == "parse" else replay(args.mistakes)


if __name__ == "__main__":
    sys.exit(main())
