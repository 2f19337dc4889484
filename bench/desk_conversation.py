"""Part of `make bench-desk`: a whole help-request conversation through the Telegram webhook.

Starts the stack the way `make run` does (``bench.common.running_stack``: real Rasa and action
server, a throw-away SQLite database) with Telegram and Zalo OA pointed at fake APIs served in
this process, as bench/chat.py does. BENCH_CONVO_PEOPLE people (default 20, each a different
chat), BENCH_CONVO_AT_ONCE of them at a time (default 5), each type the scripted request of
``testkit.help_conversation`` (need → description → place → address → people → consent → phone
→ confirm) with a think time of BENCH_THINK seconds (default 3-6) between a reply and their next
message. A turn's latency is from the webhook POST to the last of its reply messages at the fake:
the number of messages is read from the message log once the first has arrived (the gateway
stores all of a turn's replies in one transaction before the outbox sends any).

BENCH_RUNS runs (default 3) on one stack, new chats each run. At the end of each run every
conversation must have stored exactly one help request, with the code its last reply gave;
one that did not, or whose reply was not the script's, or came later than 30 s, is lost.
Prints a Markdown table (per turn p50/p95/max, median (min–max) over the runs; target p95 ≤
300 ms per turn) and writes ``conversation`` into bench/results/desk.json (the other keys kept),
with the machine's load average, since the machine's other work shows in every figure.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench.chat import THINK, environment
from bench.common import running_stack
from bot.storage import conversations as log
from bot.storage.engine import sessions
from bot.storage.helpdesk import HelpRequest
from testkit import help_conversation as script
from testkit.fakes import telegram as tg
from testkit.fakes import zalo_oa as oa
from testkit.fakes.env import TELEGRAM_SECRET, channel_env
from testkit.fakes.server import serve

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "desk.json"
PEOPLE = int(os.environ.get("BENCH_CONVO_PEOPLE", "20"))
AT_ONCE = int(os.environ.get("BENCH_CONVO_AT_ONCE", "5"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
REPLY_TIMEOUT = 30.0  # seconds: a reply later than this is lost
NOT_MEASURED = "help-request conversation through the webhook"  # desk.json's not_measured
CODE = re.compile(r"HT-\d{2}-\d{6}")
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


@dataclass
class Conversation:
    chat: int
    latencies: list[float] = field(default_factory=list)  # ms, per turn got through
    code: str | None = None  # from the last reply
    problem: str | None = None


def chat_messages(fake: tg.FakeTelegram, chat: int) -> list[dict[str, Any]]:
    return [m for m in fake.sent if m["chat_id"] == chat]


async def arrived(fake: tg.FakeTelegram, chat: int, count: int, since: float) -> list[dict]:
    """The chat's messages once there are ``count``; TimeoutError after REPLY_TIMEOUT."""
    while len(messages := chat_messages(fake, chat)) < count:
        if time.monotonic() - since > REPLY_TIMEOUT:
            raise TimeoutError(f"no reply within {REPLY_TIMEOUT:.0f} s")
        await asyncio.sleep(0.005)
    return messages


def reply_count(factory: sessionmaker[Session], chat: int, update_id: int) -> int:
    """How many messages answer this update, as the gateway stored them."""
    with factory() as session:
        account = log.find_account(session=session, channel="telegram", external_id=str(chat))
        inbound = account and log.find_inbound(
            session=session, account_id=account.id, channel_message_id=str(update_id)
        )
        return len(log.replies_to(session=session, message_id=inbound.id)) if inbound else 0


async def converse(
    client: httpx.AsyncClient,
    app_url: str,
    fake: tg.FakeTelegram,
    factory: sessionmaker[Session],
    talk: Conversation,
    person: int,
    expected: dict[str, tuple[str, ...]],
) -> None:
    """One person's whole request, turn by turn; stops at the first problem."""
    rng = random.Random(talk.chat)
    for index, turn in enumerate(script.TURNS):
        update_id = talk.chat * 100 + index
        before = len(chat_messages(fake, talk.chat))
        body = script.update(turn, update_id, talk.chat, person)
        started = time.monotonic()
        try:
            answer = await client.post(f"{app_url}/webhooks/telegram", json=body, headers=HEADERS)
            if answer.status_code != 200:
                raise RuntimeError(f"webhook answered {answer.status_code}")
            await arrived(fake, talk.chat, before + 1, started)
            count = await asyncio.to_thread(reply_count, factory, talk.chat, update_id)
            replies = (await arrived(fake, talk.chat, before + max(count, 1), started))[before:]
        except (TimeoutError, RuntimeError, httpx.HTTPError) as exc:
            talk.problem = f"turn {turn.name!r}: {exc!r}"
            return
        replies = replies[: max(count, 1)]
        talk.latencies.append(round((replies[-1]["at"] - started) * 1000, 1))
        texts = [str(m["text"] or "") for m in replies]
        if problem := script.reply_problem(turn, texts, expected[turn.name]):
            talk.problem = problem
            return
        if turn is script.TURNS[-1]:
            found = CODE.search(texts[-1])
            talk.code = found[0] if found else None
        else:
            await asyncio.sleep(rng.uniform(*THINK))


def stored_codes(factory: sessionmaker[Session], chat: int) -> list[str]:
    """The codes of the help requests stored for this chat."""
    with factory() as session:
        account = log.find_account(session=session, channel="telegram", external_id=str(chat))
        if account is None:
            return []
        query = select(HelpRequest.code).where(HelpRequest.account_id == account.id)
        return list(session.scalars(query))


async def one_run(
    app_url: str, fake: tg.FakeTelegram, factory: sessionmaker[Session], run: int
) -> dict[str, Any]:
    expected = script.openings(script.response_texts())
    gate = asyncio.Semaphore(AT_ONCE)
    talks = [Conversation(chat=710_000 + run * 1000 + p) for p in range(PEOPLE)]

    async def person(p: int, client: httpx.AsyncClient) -> None:
        async with gate:
            # Not all of a wave in the same second: people start while others are mid-way.
            await asyncio.sleep(random.Random(p).uniform(0, THINK[1]))
            await converse(client, app_url, fake, factory, talks[p], run * 1000 + p, expected)

    async with httpx.AsyncClient(timeout=REPLY_TIMEOUT) as client:
        await asyncio.gather(*(person(p, client) for p in range(PEOPLE)))
    for talk in talks:
        codes = stored_codes(factory, talk.chat)
        if talk.problem is None and (len(codes) != 1 or codes[0] != talk.code):
            talk.problem = f"stored {codes}, the reply gave {talk.code}"
    # A lost conversation's turns that were answered count; the conversation is incomplete.
    complete = len(script.TURNS)
    figures = script.run_figures(
        [t.latencies[: complete - 1] if t.problem else t.latencies for t in talks]
    )
    figures["problems"] = [f"chat {t.chat}: {t.problem}" for t in talks if t.problem]
    return figures


def save(result: dict[str, Any]) -> None:
    """``conversation`` into desk.json, the pages' figures kept."""
    stored = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    stored["conversation"] = result
    stored["not_measured"] = [x for x in stored.get("not_measured", []) if x != NOT_MEASURED]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(stored, ensure_ascii=False, indent=2) + "\n"
    RESULTS.write_text(text, encoding="utf-8")


def main() -> int:
    load_at_start = os.getloadavg()
    telegram, zalo = tg.FakeTelegram(), oa.FakeZaloOA()
    runs: list[dict[str, Any]] = []
    with (
        serve(telegram.app()) as tg_url,
        serve(zalo.app()) as oa_url,
        environment(channel_env(tg_url, oa_url)),
        running_stack() as cfg,
    ):
        factory = sessions(cfg.database_url)
        for run in range(RUNS):
            runs.append(asyncio.run(one_run(cfg.app_url, telegram, factory, run)))
            print(f"conversation run {run + 1}/{RUNS}: lost {runs[-1]['lost']}", flush=True)
    summary = script.summarize(runs)
    save(
        {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "channel": "telegram",
            "people": PEOPLE,
            "at_once": AT_ONCE,
            "think_seconds": list(THINK),
            "turns": [turn.name for turn in script.TURNS],
            "runs": RUNS,
            "load_average_at_start": load_at_start,
            "load_average_at_end": os.getloadavg(),
            "rate_limit_violations": len(telegram.violations),
            "summary": summary,
            "run_figures": runs,
        }
    )
    print()
    print(script.table(summary, RUNS, PEOPLE))
    for figures in runs:
        for problem in figures["problems"]:
            print(f"lost: {problem}")
    return 0 if summary["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
