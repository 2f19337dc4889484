"""Run by tests/assistant/test_lock_store.py with Rasa's Python: two processes take turns of one
conversation from a lock store at the same moment; prints what the lock store saw, as JSON.

Usage: python lock_race.py {rasa|atomic} <redis port> <turns per process>
"""

from __future__ import annotations

import json
import multiprocessing
import sys
from typing import Any


def store(kind: str, port: int) -> Any:
    from rasa.core.lock_store import RedisLockStore
    from rasa.utils.endpoints import EndpointConfig

    from bot.assistant.lock_store import AtomicRedisLockStore

    if kind == "rasa":
        return RedisLockStore(host="127.0.0.1", port=port, db=0)
    config = EndpointConfig(url="127.0.0.1", port=str(port), db="0", password="")
    return AtomicRedisLockStore(config)


def worker(kind: str, port: int, turns: int, out: Any, ready: Any) -> None:
    lock_store, tickets = store(kind, port), []
    # Both begin together, once both have imported Rasa (seconds on a busy machine): a worker
    # that began alone could issue and clean up all its tickets first, and the lock, deleted
    # with its last ticket, would number the other's tickets from 1 again.
    ready.wait()
    for _ in range(turns):
        tickets.append(lock_store.issue_ticket("one-person", 60))
    for ticket in tickets:
        lock_store.cleanup("one-person", ticket)
    out.put(tickets)


if __name__ == "__main__":
    kind, port, turns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    out: Any = multiprocessing.Queue()
    ready = multiprocessing.Barrier(2)
    workers = [
        multiprocessing.Process(target=worker, args=(kind, port, turns, out, ready))
        for _ in range(2)
    ]
    for process in workers:
        process.start()
    tickets = out.get(timeout=120) + out.get(timeout=120)
    for process in workers:
        process.join(timeout=60)
    left = store(kind, port).get_lock("one-person")
    print(json.dumps({"tickets": tickets, "left": None if left is None else len(left.tickets)}))
