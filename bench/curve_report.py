"""The capacity curve's and the memory run's Markdown tables (bench/chat.py's results)."""

from __future__ import annotations

import statistics
from typing import Any

from testkit.capacity import FIGURES, P95_TARGET_MS

TARGET_ONE_RASA = 40  # msg/s with one Rasa process on 2 cores (issue 12)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return " / ".join(_cell(value[k]) for k in ("min", "median", "max"))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def curve_tables(curve: dict[str, Any]) -> str:
    """Per number of Rasa processes: each step's figures and the capacity, min / median / max
    over the runs."""
    settings = curve["settings"]
    lines = []
    for key in (str(n) for n in settings["rasa"]):
        found = curve[key]
        lines += ["", f"Capacity curve over Zalo OA, {key} Rasa process(es)"]
        if not found["available"]:
            lines.append("not available")
            continue
        runs, seconds = len(found["runs"]), settings["step_seconds"]
        lines[-1] += f", {runs} run(s) of {seconds:g} s a step (min / median / max)"
        lines.append("| offered msg/s | achieved msg/s | p50 ms | p95 ms | lost |")
        lines.append("|---:|---:|---:|---:|---:|")
        for step in found["summary"]["steps"]:
            lines.append(_row([step["offered_per_s"], *(step[f] for f in FIGURES)]))
        lines += _cpu_table(found["runs"])
        summary = found["summary"]
        lines.append(
            f"\ncapacity (highest offered rate with p95 ≤ {P95_TARGET_MS:g} ms, nothing lost): "
            f"{_cell(summary['capacity'])} msg/s (runs: {_cell(summary['capacity_per_run'])})"
            + (f"; target ≥ {TARGET_ONE_RASA} msg/s" if key == "1" else "")
        )
    if "capacity_ratio" in curve:
        ratio = curve["capacity_ratio"]
        lines.append(f"\ncapacity with 2 Rasa processes / with 1 (medians): {ratio}")
    return "\n".join(lines)


def _cpu_table(runs: list[dict[str, Any]]) -> list[str]:
    """CPU use per process at each step, median over the runs: what saturates first."""
    steps = [run["steps"] for run in runs]
    names = list(steps[0][0].get("cpu_percent", {})) if steps and steps[0] else []
    if not names:
        return []
    lines = [
        "",
        "CPU during each step, % of one core (median over runs; bench: the load and the fakes)",
        _row(["offered msg/s", *names]),
        "|---:" * (len(names) + 1) + "|",
    ]
    for index, first in enumerate(steps[0]):
        cells = [statistics.median(run[index]["cpu_percent"][n] for run in steps) for n in names]
        lines.append(_row([first["offered_per_s"], *cells]))
    return lines


def memory_table(memory: dict[str, Any]) -> str:
    """RSS (MB) of each process at rest and after each checkpoint, and the growth."""
    lines = []
    for key, found in memory.items():
        marks = [s["conversations"] for s in found["samples"]]
        warm = f"growth after {marks[1] if len(marks) > 1 else 0}"
        lines += [
            "",
            f"Memory (RSS MB), {key} Rasa process(es): {found['conversations']} conversations "
            f"({found['messages']} messages at {found['offered_messages_per_s']:g} msg/s offered, "
            f"{found['lost']} lost, p95 {_cell(found.get('p95_ms'))} ms)",
            _row(["process", *(f"after {m}" if m else "at rest" for m in marks), "growth", warm]),
            "|---" + "|---:" * (len(marks) + 2) + "|",
        ]
        for name in found["samples"][0]["rss_mb"]:
            cells = [name, *(s["rss_mb"].get(name) for s in found["samples"])]
            cells += [found["growth_mb"].get(name), found["growth_after_warmup_mb"].get(name)]
            lines.append(_row(cells))
    return "\n".join(lines)
