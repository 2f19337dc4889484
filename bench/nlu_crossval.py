"""k-fold cross-validation of the shipped NLU pipeline, as written and with diacritics stripped.

Runs in Rasa's environment (Python 3.10) with the repository root on PYTHONPATH:
``PYTHONPATH=. .venv-rasa/bin/python bench/nlu_crossval.py``. Folds are stratified by intent;
each fold trains the pipeline of bot/assistant/config.yml on the other folds. Prints a table and
writes bench/results/nlu.json (the "crossval" part). BENCH_FOLDS sets k (default 5).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in the report
logging.disable(logging.WARNING)

from rasa.core.agent import Agent  # noqa: E402
from rasa.model_training import train_nlu  # noqa: E402
from rasa.shared.nlu.training_data.loading import load_data  # noqa: E402
from rasa.shared.nlu.training_data.training_data import TrainingData  # noqa: E402
from rasa.utils.log_utils import configure_structlog  # noqa: E402

from bot.text import strip_diacritics  # noqa: E402

configure_structlog(logging.WARNING)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "nlu.json"
# BENCH_CONFIG tries another pipeline; its results go under BENCH_LABEL instead of "crossval".
CONFIG = Path(os.environ.get("BENCH_CONFIG") or ROOT / "bot" / "assistant" / "config.yml")
LABEL = os.environ.get("BENCH_LABEL", "crossval")


def folds(data: TrainingData, k: int, seed: int = 13) -> list[list]:
    """Stratified split of the intent examples into k folds."""
    by_intent = defaultdict(list)
    for example in data.intent_examples:
        by_intent[example.get("intent")].append(example)
    split: list[list] = [[] for _ in range(k)]
    rng = random.Random(seed)
    for intent in sorted(by_intent):
        examples = by_intent[intent]
        rng.shuffle(examples)
        for i, example in enumerate(examples):
            split[i % k].append(example)
    return split


def scores(pairs: list[tuple[str, str]]) -> dict:
    """Accuracy, macro-F1 and per-intent precision/recall/F1 of (gold, predicted) pairs."""
    intents = sorted({gold for gold, _ in pairs})
    per_intent = {}
    for intent in intents:
        tp = sum(1 for g, p in pairs if g == intent and p == intent)
        fp = sum(1 for g, p in pairs if g != intent and p == intent)
        fn = sum(1 for g, p in pairs if g == intent and p != intent)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[intent] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": tp + fn,
        }
    accuracy = sum(1 for g, p in pairs if g == p) / len(pairs)
    macro_f1 = sum(v["f1"] for v in per_intent.values()) / len(per_intent)
    return {"accuracy": accuracy, "macro_f1": macro_f1, "per_intent": per_intent}


async def predict(agent: Agent, texts: list[str]) -> list[str]:
    out = []
    for text in texts:
        parsed = await agent.parse_message(text)
        out.append(parsed["intent"]["name"])
    return out


def main() -> int:
    k = int(os.environ.get("BENCH_FOLDS", "5"))
    data = load_data(str(ROOT / "nlu"))
    split = folds(data, k)
    written: list[tuple[str, str]] = []
    stripped: list[tuple[str, str]] = []
    errors: list[dict] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(k):
            train = [e for j, fold in enumerate(split) if j != i for e in fold]
            train_file = Path(tmp) / f"train_{i}.yml"
            train_file.write_text(
                TrainingData(training_examples=train).nlu_as_yaml(), encoding="utf-8"
            )
            t0 = time.monotonic()
            model = train_nlu(str(CONFIG), str(train_file), tmp, fixed_model_name=f"fold{i}")
            print(
                f"fold {i + 1}/{k}: trained in {time.monotonic() - t0:.0f}s",
                file=sys.stderr,
                flush=True,
            )
            agent = Agent.load(model)
            texts = [e.get("text") for e in split[i]]
            gold = [e.get("intent") for e in split[i]]
            bare = [strip_diacritics(t) for t in texts]
            for label, inputs, sink in (
                ("as written", texts, written),
                ("stripped", bare, stripped),
            ):
                predicted = asyncio.run(predict(agent, inputs))
                sink += list(zip(gold, predicted, strict=True))
                errors += [
                    {"text": t, "variant": label, "gold": g, "predicted": p}
                    for t, g, p in zip(inputs, gold, predicted, strict=True)
                    if g != p
                ]
    result = {
        "folds": k,
        "examples": len(written),
        "seconds": round(time.monotonic() - started),
        "as_written": scores(written),
        "stripped": scores(stripped),
        "errors": errors,
    }
    report = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    report[LABEL] = {
        "config": str(CONFIG.relative_to(ROOT)) if CONFIG.is_relative_to(ROOT) else str(CONFIG),
        **result,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print_table(result)
    return 0


def print_table(result: dict) -> None:
    a, s = result["as_written"], result["stripped"]
    print(f"\nNLU {result['folds']}-fold cross-validation, {result['examples']} examples")
    print("| intent | support | F1 as written | F1 stripped |\n|---|---:|---:|---:|")
    for intent in sorted(a["per_intent"]):
        w, b = a["per_intent"][intent], s["per_intent"][intent]
        print(f"| {intent} | {w['support']} | {w['f1']:.3f} | {b['f1']:.3f} |")
    print(f"| **accuracy** | | {a['accuracy']:.3f} | {s['accuracy']:.3f} |")
    print(f"| **macro-F1** (target ≥0.95 / ≥0.92) | | {a['macro_f1']:.3f} | {s['macro_f1']:.3f} |")


if __name__ == "__main__":
    sys.exit(main())
