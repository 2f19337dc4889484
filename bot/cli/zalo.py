"""The ``loa zalo`` commands: replace the Zalo OA tokens the app keeps in the database.

Once the app has refreshed them, the database, not the environment, holds the valid pair;
after a manual re-authorisation (or a lost refresh token) ``loa zalo set-tokens`` stores the
new pair. Tokens are read from flags, from stdin (two lines) or from prompts that do not echo,
and are never printed.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from typing import Any

from bot.channels import INITIAL_TOKEN_LIFETIME
from bot.channels.tokens import DbTokenStore
from bot.cli.common import open_database
from bot.storage.engine import sessions
from connectors.zalo_oa.tokens import Tokens

CHANNEL = "zalo_oa"


def add_commands(commands: Any) -> None:
    """``loa zalo set-tokens``."""
    zalo = commands.add_parser("zalo", help="Zalo OA: replace the stored access/refresh tokens")
    actions = zalo.add_subparsers(dest="action", required=True)
    set_tokens = actions.add_parser(
        "set-tokens",
        help="store a new access and refresh token pair (prompts, or two lines on stdin)",
    )
    set_tokens.add_argument(
        "--access-token", help="the access token (visible to other users in ps: prefer stdin)"
    )
    set_tokens.add_argument("--refresh-token", help="the refresh token (likewise)")
    zalo.set_defaults(func=zalo_command)


def zalo_command(args: argparse.Namespace) -> int:
    access, refresh = _read_tokens(args)
    if not access or not refresh:
        print(
            "Both an access token and a refresh token are needed; nothing stored.", file=sys.stderr
        )
        return 2
    cfg = open_database()
    store = DbTokenStore(sessions=sessions(cfg.database_url), channel=CHANNEL, initial=None)
    # Its age is unknown: count it as fresh for an hour, so the app refreshes it soon.
    store.save(Tokens(access, refresh, time.time() + INITIAL_TOKEN_LIFETIME))
    print("Zalo OA tokens replaced; the app uses them from its next send.")
    if CHANNEL not in cfg.channels_on:
        print(
            "Note: Zalo OA is off in this environment; set ZALO_OA_ACCESS_TOKEN or "
            "ZALO_OA_REFRESH_TOKEN (any value: the stored pair wins) to turn it on."
        )
    return 0


def _read_tokens(args: argparse.Namespace) -> tuple[str, str]:
    """From the flags; else two lines of stdin when it is not a terminal; else prompts."""
    access, refresh = args.access_token, args.refresh_token
    if access is None and refresh is None and not sys.stdin.isatty():
        lines = sys.stdin.read().splitlines()
        access, refresh = [*lines, "", ""][:2]
    if access is None:
        access = getpass.getpass("Access token: ")
    if refresh is None:
        refresh = getpass.getpass("Refresh token: ")
    return access.strip(), refresh.strip()
