"""Where one conversation turn's time goes inside Rasa (run with Rasa's Python 3.10).

Loads the model the way ``rasa run`` does (the endpoints file: tracker store, action server),
wraps the stages of a turn with timers, and sends each person's conversation one turn at a
time. Prints one JSON object: per stage, the milliseconds per turn (p50) in bands of turns,
plus the tracker's event count. Called by ``bench.turn``, which starts the action server and
adds what happens outside Rasa (the REST channel, the gateway).

Usage: turn_profile.py MODEL ENDPOINTS PEOPLE TURNS MESSAGE [MESSAGE ...]
"""

from __future__ import annotations

import asyncio
import functools
import json
import pickle
import statistics
import sys
import time
from collections import defaultdict
from typing import Any

from rasa.core.actions.action import RemoteAction
from rasa.core.agent import load_agent
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints

# Stage → the method whose time it is. A stage's time inside another stage is not subtracted
# from it; "other" is the turn minus the stages that do not nest (see NESTED).
STAGES = {
    "nlu": (MessageProcessor, "parse_message"),
    "policies": (MessageProcessor, "_predict_next_with_tracker"),
    "action_call": (RemoteAction, "run"),
    "tracker_load": (TrackerStore, "get_or_create_tracker"),
    "tracker_save": (MessageProcessor, "save_tracker"),
}
BANDS = ((1, 20), (21, 40), (41, 60))

spent: dict[str, float] = defaultdict(float)


def timed(stage: str, method: Any) -> Any:
    if asyncio.iscoroutinefunction(method):

        @functools.wraps(method)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                spent[stage] += time.perf_counter() - started

        return wrapper

    @functools.wraps(method)
    def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            spent[stage] += time.perf_counter() - started

    return sync_wrapper


async def run(model: str, endpoints_file: str, people: int, turns: int, messages: list[str]):
    for stage, (cls, name) in STAGES.items():
        setattr(cls, name, timed(stage, getattr(cls, name)))
    endpoints = AvailableEndpoints.read_endpoints(endpoints_file)
    agent = await load_agent(model_path=model, endpoints=endpoints)
    # Warm-up: the first turns of a process pay for lazy imports and graph set-up.
    for i in range(5):
        await agent.handle_text(messages[i % len(messages)], sender_id=f"warm-{i}")
    by_turn: dict[int, list[dict[str, float]]] = defaultdict(list)
    events: dict[int, list[int]] = defaultdict(list)
    kilobytes: dict[int, list[float]] = defaultdict(list)  # the tracker, pickled
    stamp = int(time.time())
    for person in range(people):
        sender = f"profile-{stamp}-{person}"
        for turn in range(1, turns + 1):
            spent.clear()
            started = time.perf_counter()
            await agent.handle_text(messages[(person + turn) % len(messages)], sender_id=sender)
            total = time.perf_counter() - started
            row = {stage: spent.get(stage, 0.0) * 1000 for stage in STAGES}
            row["turn"] = total * 1000
            row["other"] = row["turn"] - sum(row[s] for s in STAGES)
            by_turn[turn].append(row)
            # Loa's store keeps the tracker in memory for the next turn: peek, do not take it.
            store = agent.tracker_store
            tracker = getattr(store, "_cache", {}).get(sender) or await store.retrieve(sender)
            events[turn].append(len(tracker.events) if tracker else 0)
            kilobytes[turn].append(len(pickle.dumps(tracker)) / 1024 if tracker else 0)
    result: dict[str, Any] = {}
    for low, high in BANDS:
        if high > turns:
            break
        rows = [row for t in range(low, high + 1) for row in by_turn[t]]
        band = {key: round(statistics.median(r[key] for r in rows), 2) for key in rows[0]}
        band["events"] = statistics.median(e for t in range(low, high + 1) for e in events[t])
        band["tracker_kb"] = round(
            statistics.median(k for t in range(low, high + 1) for k in kilobytes[t]), 1
        )
        result[f"turns_{low}_{high}"] = band
    first = by_turn[1]
    result["first_turn"] = {k: round(statistics.median(r[k] for r in first), 2) for k in first[0]}
    return result


def main() -> int:
    model, endpoints, people, turns, *messages = sys.argv[1:]
    print(json.dumps(asyncio.run(run(model, endpoints, int(people), int(turns), messages))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
