"""Serve the app: ``python -m bot.web [--host H] [--port P]`` (how ``loa run`` starts it).

Logging is set up before uvicorn starts, so no line of this process carries a token, a webhook
secret or a phone number (bot/logs.py); access logs stay off (addresses, query strings).
"""

from __future__ import annotations

import argparse

import uvicorn

from bot import logs
from bot import settings as settings_module


def main(argv: list[str] | None = None) -> None:
    cfg = settings_module.load()
    parser = argparse.ArgumentParser(prog="python -m bot.web", description=__doc__)
    parser.add_argument("--host", default=cfg.host)
    parser.add_argument("--port", type=int, default=cfg.port)
    args = parser.parse_args(argv)
    logs.configure(cfg)
    uvicorn.run(
        "bot.web.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        log_config=None,  # ours, set up above
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
