"""What the benchmarks share: the stack as `make run` starts it, its processes' memory and CPU,
and latency summaries."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from bot import settings as settings_module
from bot import wording
from bot.storage.migrate import upgrade
from bot.supervisor import Stack
from bot.training import ensure_model
from testkit.fakes.server import free_port

LOGS = Path(tempfile.gettempdir()) / "loa-bench-logs"
# What the benchmarks' normal people ask; each question gets exactly one reply.
QUESTIONS = [
    "số đường dây nóng",
    "trieu chung covid la gi",
    "tôi bị sốt và khó thở",
    "lam sao de phong benh",
    "tôi mất việc thì được hỗ trợ gì",
    "nhà tôi hết gạo rồi",
    "cam on nhieu",
]
# What the gateway itself says (busy, too fast…): a notice, not an answer.
NOTICES = {str(text) for text in wording.load(wording.SYSTEM_MESSAGES).values()}


@contextmanager
def running_stack() -> Iterator[settings_module.Settings]:
    """Start Rasa, the action server and the app; yield their settings (with the token of
    Rasa's HTTP API); stop them all."""
    with started_stack() as (cfg, _stack):
        yield cfg


@contextmanager
def started_stack(
    ready_timeout: float = 300,
) -> Iterator[tuple[settings_module.Settings, Stack]]:
    """As ``running_stack``, also yielding the ``Stack`` (its processes, e.g. to read their
    memory, and its log directory); ``ready_timeout`` seconds for all to answer."""
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        rasa_port = free_port()
        cfg = replace(
            settings_module.load(),
            var_dir=var,
            database_url=f"sqlite:///{var / 'loa.db'}",
            port=free_port(),
            rasa_port=rasa_port,
            rasa_url=f"http://127.0.0.1:{rasa_port}",
            action_server_port=free_port(),
            rasa_tracker_db=str(var / "tracker.db"),
        )
        upgrade(cfg.database_url)
        stack = Stack(cfg, model=ensure_model(), log_dir=var / "log")
        stack.start()
        try:
            stack.wait_ready(ready_timeout)
            yield replace(cfg, rasa_token=stack.rasa_token), stack  # Rasa's HTTP API needs it
        finally:
            stack.stop()
            shutil.copytree(var / "log", LOGS, dirs_exist_ok=True)  # for a look afterwards


def latency_summary(timings_ms: list[float]) -> dict[str, float]:
    """p50/p95/p99 and the spread (min, median, max) of latencies in milliseconds."""
    ordered = sorted(timings_ms)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))], 1)

    return {
        "p50_ms": at(50),
        "p95_ms": at(95),
        "p99_ms": at(99),
        "min_ms": round(ordered[0], 1),
        "median_ms": round(statistics.median(ordered), 1),
        "max_ms": round(ordered[-1], 1),
    }


def process_stats(stack: Stack) -> dict[str, dict[str, float]]:
    """RSS (MB) and CPU time (s) of each of the stack's process groups (a process and its
    children), from /proc; processes of one name are told apart as name, name-2…"""
    names = Counter[str]()
    groups: dict[int, str] = {}
    for proc in stack.processes:
        names[proc.name] += 1
        if proc.popen:
            n = names[proc.name]
            groups[proc.popen.pid] = proc.name if n == 1 else f"{proc.name}-{n}"
    kb, ticks = Counter[str](), Counter[str]()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            name = groups.get(int(fields[2]))  # fields after the name: state, ppid, pgrp…
            if name is None:
                continue
            status = (entry / "status").read_text().splitlines()
            kb[name] += int(next(x for x in status if x.startswith("VmRSS:")).split()[1])
            ticks[name] += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, ValueError, IndexError, StopIteration):
            continue  # gone meanwhile, or a kernel thread without VmRSS
    hz = os.sysconf("SC_CLK_TCK")
    return {
        name: {"rss_mb": round(kb[name] / 1024, 1), "cpu_s": round(ticks[name] / hz, 1)}
        for name in groups.values()
    }
