"""Serve one fake Telegram API in its own process (a benchmark's fake must not share the
sender's interpreter): ``python -m testkit.fakes.telegram_server PORT [PER_SECOND]`` — with
PER_SECOND the fake enforces that global limit (429 with retry_after beyond it), without it
none at all. ``GET /_fake/stats`` reports what arrived."""

from __future__ import annotations

import sys

import uvicorn

from testkit.fakes.telegram import FakeTelegram

UNLIMITED = 10**9


def main(argv: list[str]) -> None:
    port = int(argv[0])
    per_second = int(argv[1]) if len(argv) > 1 else UNLIMITED
    fake = FakeTelegram(global_per_second=per_second)
    if per_second == UNLIMITED:
        fake.per_chat_burst = UNLIMITED  # no per-chat limit either
    uvicorn.run(fake.app(), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
