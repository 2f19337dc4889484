"""A help request as a citizen types it on Telegram, turn by turn, and the figures of its timings.

Pure (no I/O but reading the domain files): ``make bench-desk`` drives the stack with it
(bench/desk_conversation.py) and tests check it (``tests`` may not import ``bench``).
The turns follow the form in actions/help_request.py: need → description → place → address →
people → consent → phone → confirm, as tests/e2e/test_help_request.py has them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from testkit.capacity import percentile, spread
from testkit.fakes import telegram as tg

DOMAIN = Path(__file__).resolve().parent.parent / "bot" / "assistant" / "domain"
TARGET_P95_MS = 300.0  # issue 9, item 8: reply p95 per turn


@dataclass(frozen=True)
class Turn:
    name: str
    text: str | None  # typed, or None when a button is pressed
    press: str | None  # the help_request_choice of the button pressed
    expect: str  # the response the turn's reply starts with


TURNS: tuple[Turn, ...] = (
    Turn("need", "nhà tôi hết gạo rồi", None, "utter_help_request_start"),
    Turn("need done", None, "done", "utter_ask_help_request_description"),
    Turn(
        "description",
        "Nhà 2 người đang cách ly, hết gạo từ hôm qua, có bà cụ 80 tuổi",
        None,
        "utter_ask_help_request_place",
    ),
    Turn("place", "phường Đông Kinh", None, "utter_ask_help_request_address"),
    Turn("address", "số 12 ngõ 3 đường Lê Lợi", None, "utter_ask_help_request_people"),
    Turn("people", "2 người", None, "utter_ask_help_request_consent"),
    Turn("consent", None, "yes", "utter_ask_help_request_phone"),
    Turn("phone", "{phone}", None, "utter_help_request_summary"),
    Turn("confirm", None, "send", "utter_help_request_filed"),
)


def press_payload(choice: str) -> str:
    """What a form button sends (actions/help_request.py ``choose``)."""
    return f'/help_request_choose{{"help_request_choice":"{choice}"}}'


def phone_for(person: int) -> str:
    """A different valid mobile number for each person (0–999,999), written with dots."""
    return f"0987.{person // 1000 % 1000:03d}.{person % 1000:03d}"


def update(turn: Turn, update_id: int, chat_id: int, person: int) -> dict[str, Any]:
    """The Telegram update the person's turn POSTs to the webhook."""
    if turn.press is not None:
        return tg.update_callback(update_id, chat_id, press_payload(turn.press))
    return tg.update_message(update_id, chat_id, (turn.text or "").format(phone=phone_for(person)))


def response_texts() -> dict[str, list[str]]:
    """Every ``utter_*`` response's variants, by name, as the domain files hold them."""
    texts: dict[str, list[str]] = {}
    for path in DOMAIN.glob("*.yml"):
        for name, variants in (yaml.safe_load(path.read_text()).get("responses") or {}).items():
            texts[name] = [v.get("text", "") for v in variants]
    return texts


def openings(responses: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Each turn's expected response: its variants' text up to the first placeholder."""
    return {t.name: tuple(v.split("{")[0] for v in responses[t.expect]) for t in TURNS}


def reply_problem(turn: Turn, texts: Sequence[str], expected: Sequence[str]) -> str | None:
    """Why the turn's reply (its messages' texts) is not the one the script expects; None
    when it is."""
    said = "\n\n".join(texts)
    if any(said.startswith(opening) for opening in expected):
        return None
    return f"turn {turn.name!r}: expected {turn.expect}, got {said[:120]!r}"


def figures(latencies_ms: Sequence[float]) -> dict[str, float | int | None]:
    """n, p50, p95 (nearest rank, as the other benches) and max of some latencies."""
    return {
        "n": len(latencies_ms),
        "p50_ms": percentile(latencies_ms, 50),
        "p95_ms": percentile(latencies_ms, 95),
        "max_ms": round(max(latencies_ms), 1) if latencies_ms else None,
    }


def run_figures(conversations: Sequence[Sequence[float]]) -> dict[str, Any]:
    """One run's figures from its conversations, each the latencies of the turns it got
    through in order (a lost conversation has fewer than ``TURNS``): per turn, all turns
    together, and the whole conversation's wait for replies (complete ones only)."""
    per_turn = {t.name: [c[i] for c in conversations if len(c) > i] for i, t in enumerate(TURNS)}
    complete = [c for c in conversations if len(c) == len(TURNS)]
    return {
        "conversations": len(conversations),
        "lost": len(conversations) - len(complete),
        "turns": {name: figures(values) for name, values in per_turn.items()},
        "all_turns": figures([ms for c in conversations for ms in c]),
        "conversation_wait": figures([sum(c) for c in complete]),
    }


FIGURES = ("p50_ms", "p95_ms", "max_ms")


def summarize(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The runs' figures as min/median/max over the runs, and whether the target is met:
    every turn's p95 ≤ ``TARGET_P95_MS`` in every run, and no conversation lost."""

    def over_runs(pick: Any) -> dict[str, Any]:
        return {f: spread([pick(run)[f] for run in runs], 1) for f in FIGURES}

    turns = {t.name: over_runs(lambda run, n=t.name: run["turns"][n]) for t in TURNS}
    worst = [turn["p95_ms"]["max"] for turn in turns.values()]
    lost = sum(int(run["lost"]) for run in runs)
    met = bool(runs) and not lost and all(p is not None and p <= TARGET_P95_MS for p in worst)
    return {
        "turns": turns,
        "all_turns": over_runs(lambda run: run["all_turns"]),
        "conversation_wait": over_runs(lambda run: run["conversation_wait"]),
        "lost": lost,
        "target_p95_ms": TARGET_P95_MS,
        "target_met": met,
    }


def table(summary: Mapping[str, Any], runs: int, people: int) -> str:
    """The summary as a Markdown table: ms, median (min–max) over the runs."""

    def cell(value: Mapping[str, float | None]) -> str:
        return f"{value['median']} ({value['min']}–{value['max']})"

    lines = [
        f"Help-request conversation over the Telegram webhook, {people} people × {runs} runs:"
        f" webhook POST → last reply at the fake, ms, median (min–max) over the runs",
        "",
        "| turn | p50 | p95 | max | p95 ≤ 300 ms |",
        "|---|---:|---:|---:|---|",
    ]
    for name, row in summary["turns"].items():
        worst = row["p95_ms"]["max"]
        met = "yes" if worst is not None and worst <= TARGET_P95_MS else "NO"
        lines.append(
            f"| {name} | {cell(row['p50_ms'])} | {cell(row['p95_ms'])}"
            f" | {cell(row['max_ms'])} | {met} |"
        )
    every, wait = summary["all_turns"], summary["conversation_wait"]
    lines.append(
        f"| all turns | {cell(every['p50_ms'])} | {cell(every['p95_ms'])}"
        f" | {cell(every['max_ms'])} | |"
    )
    lines.append(
        f"| whole conversation (sum of its turns) | {cell(wait['p50_ms'])}"
        f" | {cell(wait['p95_ms'])} | {cell(wait['max_ms'])} | |"
    )
    verdict = "met" if summary["target_met"] else "NOT met"
    lines += [
        "",
        f"Lost conversations: {summary['lost']}. Target p95 ≤ 300 ms per turn: {verdict}.",
    ]
    return "\n".join(lines)
