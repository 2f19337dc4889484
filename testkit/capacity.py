"""Open-loop load for a capacity curve: when messages go out, who sends each, and the figures.

Pure (no I/O, no clock of its own): ``make bench-chat`` drives the stack with it, and tests
check it (``tests`` may not import ``bench``, so the shared part lives here).
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

P95_TARGET_MS = 1000.0  # the capacity is the highest offered rate whose p95 stays within this


def send_offsets(rate: float, seconds: float) -> list[float]:
    """Seconds from a step's start at which its messages go out: ``rate`` a second, evenly
    spaced, ``round(rate * seconds)`` of them."""
    if rate <= 0 or seconds <= 0:
        return []
    return [i / rate for i in range(round(rate * seconds))]


class People:
    """Who sends the next message: someone with nothing in flight who has rested ``rest``
    seconds since their last answer (the oldest such first), else a new person. A person
    whose message was lost is never released, so never sends again.

    ``rest`` keeps each person under the webhook's per-sender flood limit and makes the load
    many people writing, not a few writing fast.
    """

    def __init__(self, rest: float, first: int = 0) -> None:
        self.rest = rest
        self.created = 0
        self._first = first
        self._resting: deque[tuple[float, int]] = deque()  # (ready at, person), oldest first
        self._busy: set[int] = set()

    def take(self, now: float) -> int:
        if self._resting and self._resting[0][0] <= now:
            person = self._resting.popleft()[1]
        else:
            person = self._first + self.created
            self.created += 1
        self._busy.add(person)
        return person

    def release(self, person: int, now: float) -> None:
        """``person``'s message was answered at ``now``."""
        if person not in self._busy:
            raise ValueError(f"person {person} has nothing in flight")
        self._busy.remove(person)
        ready = now + self.rest
        # Answers can be noticed out of order by a few ms; keep the queue sorted by ready time.
        if self._resting and self._resting[-1][0] > ready:
            ready = self._resting[-1][0]
        self._resting.append((ready, person))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q``-th percentile (as bench.common.latency_summary); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))], 1)


def step_figures(
    offered: float,
    seconds: float,
    sends: Sequence[tuple[float, float | None]],
    replies_in_step: int,
) -> dict[str, Any]:
    """One step's figures from its sends, each (sent at, answered at or None: lost), in
    seconds on one clock, and the answers that reached the fake during the step."""
    latencies = [(done - sent) * 1000 for sent, done in sends if done is not None]
    return {
        "offered_per_s": offered,
        "sent": len(sends),
        "achieved_per_s": round(replies_in_step / seconds, 1),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "lost": sum(1 for _, done in sends if done is None),
    }


def within_target(step: Mapping[str, Any]) -> bool:
    """p95 ≤ P95_TARGET_MS with nothing lost (a lost reply is later than any p95)."""
    p95 = step.get("p95_ms")
    return p95 is not None and p95 <= P95_TARGET_MS and not step.get("lost")


def capacity(steps: Sequence[Mapping[str, Any]]) -> float | None:
    """The highest offered rate among the steps within target; None when none is."""
    rates = [float(s["offered_per_s"]) for s in steps if within_target(s)]
    return max(rates) if rates else None


def spread(values: Sequence[float | None], digits: int | None = None) -> dict[str, float | None]:
    """min, median and max of the known values (None where there is none), over a
    benchmark's runs; rounded to ``digits`` when given."""
    known = [v for v in values if v is not None]
    if not known:
        return {"min": None, "median": None, "max": None}
    low, mid, high = min(known), statistics.median(known), max(known)
    if digits is not None:
        low, mid, high = round(low, digits), round(mid, digits), round(high, digits)
    return {"min": low, "median": mid, "max": high}


FIGURES = ("achieved_per_s", "p50_ms", "p95_ms", "lost")


def summarize(runs: Sequence[Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """Across runs (each a list of steps, the same offered rates in the same order): each
    step's figures as min/median/max, and each run's capacity with its spread."""
    steps = []
    for index, first in enumerate(runs[0] if runs else []):
        same = [run[index] for run in runs]
        if any(s["offered_per_s"] != first["offered_per_s"] for s in same):
            raise ValueError("runs must step through the same offered rates")
        row: dict[str, Any] = {"offered_per_s": first["offered_per_s"]}
        row.update({name: spread([s[name] for s in same]) for name in FIGURES})
        steps.append(row)
    capacities = [capacity(run) for run in runs]
    return {"steps": steps, "capacity_per_run": capacities, "capacity": spread(capacities)}
