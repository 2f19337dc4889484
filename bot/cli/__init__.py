"""The ``loa`` command: run the stack, train the model, migrate the database, edit content,
manage the desk's staff accounts, set alert levels, follow broadcasts, run a delivery worker."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

from bot import logs
from bot import settings as settings_module
from bot.cli.alerts import add_commands as add_alerts_commands
from bot.cli.content import add_commands as add_content_commands
from bot.cli.content import load_demo_if_empty
from bot.cli.desk import add_commands as add_desk_commands
from bot.cli.desk import demo_staff_if_empty, print_demo_accounts
from bot.cli.worker import add_commands as add_worker_commands
from bot.cli.zalo import add_commands as add_zalo_commands
from bot.content.files import DEMO
from bot.storage.migrate import upgrade
from bot.supervisor import Stack
from bot.training import ensure_model

WEBHOOK_PATHS = {
    "telegram": "/webhooks/telegram",
    "zalo_oa": "/webhooks/zalo-oa",
    "zalo_bot": "/webhooks/zalo-bot",
}


def _run(_: argparse.Namespace) -> int:
    cfg = settings_module.load()
    model = ensure_model()
    stack = Stack(cfg, model=model, log_dir=cfg.var_dir / "log")
    stopping = False

    def _stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print("Starting Rasa, the action server and the app (Rasa needs about a minute)…")
    # Rasa, the slowest to be ready by far (loading the model), reads nothing of our
    # database: it starts first, and the database is prepared while it loads.
    stack.start(only=stack.rasa_names)
    try:
        upgrade(cfg.database_url)
        if load_demo_if_empty(cfg):
            print(f"The database had no content: loaded the demo ({DEMO.name}).")
        demo_staff = demo_staff_if_empty(cfg)
        stack.start()
        stack.wait_ready()
        _print_urls(cfg)
        if demo_staff:
            print_demo_accounts(cfg, demo_staff)
            print(flush=True)
        while not stopping:
            exited = stack.first_exited()
            if exited is not None:
                print(f"{exited.name} stopped unexpectedly; see {stack.log_dir / exited.name}.log")
                return 1
            time.sleep(0.5)
        return 0
    except (RuntimeError, TimeoutError) as exc:
        print(f"Could not start Loa: {exc}", file=sys.stderr)
        return 1
    finally:
        print("Stopping…")
        stack.stop()
        print("Stopped.")


def _print_urls(cfg: settings_module.Settings) -> None:
    print()
    print(f"  Loa is running. Province's page: {cfg.app_url}/")
    print(f"  Web chat:                  {cfg.app_url}/chat")
    print(f"  Chat widget for portals:   {cfg.app_url}/widget.js  (EMBED_ORIGINS lists the sites)")
    print(f"  Hotline desk (staff):      {cfg.app_url}/desk")
    print(f"  Health:                    {cfg.app_url}/healthz")
    for index, url in enumerate(cfg.rasa_urls):
        label = "Rasa (NLU parse):" if index == 0 else f"Rasa {index + 1}:"
        print(f"  {label:<26} {url}/model/parse?token=<RASA_TOKEN>")
    if cfg.rasa_lock_store_url:
        print(f"  Rasa lock store:           {_without_password(cfg.rasa_lock_store_url)}")
    print(f"  Action server:             {cfg.action_server_url}/health")
    for channel in ("telegram", "zalo_oa", "zalo_bot"):
        state = (
            f"on, webhook {cfg.app_url}{WEBHOOK_PATHS[channel]}"
            if channel in cfg.channels_on
            else "off (no token set)"
        )
        print(f"  {channel:<26} {state}")
    print("  Press Ctrl-C to stop everything.")
    print(flush=True)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _train(_: argparse.Namespace) -> int:
    print(ensure_model())
    return 0


def _db_upgrade(_: argparse.Namespace) -> int:
    upgrade(settings_module.load().database_url)
    return 0


def _telegram(args: argparse.Namespace) -> int:
    from connectors.telegram import admin
    from connectors.telegram.outbound import make_bot

    cfg = settings_module.load()
    logs.configure(cfg)  # the bot's token is in every API URL the libraries could log
    if not cfg.telegram_bot_token:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set: Telegram is off.")
    bot = make_bot(cfg.telegram_bot_token, cfg.telegram_api_base_url)
    secret = cfg.telegram_webhook_secret
    if args.action == "set-webhook":
        if not secret:
            raise SystemExit("Set TELEGRAM_WEBHOOK_SECRET first (1-256 of A-Z a-z 0-9 _ -).")
        print(
            f"Telegram webhook set: {asyncio.run(admin.set_webhook(bot, args.url, secret=secret))}"
        )
    else:
        webhook = f"{cfg.app_url}{WEBHOOK_PATHS['telegram']}"
        try:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(admin.poll(bot, webhook=webhook, secret=secret, force=args.force))
        except admin.WebhookActive as exc:
            print(_WEBHOOK_ACTIVE.format(url=exc.url), file=sys.stderr)
            return 2
    return 0


_WEBHOOK_ACTIVE = """\
Not polling: this bot has a webhook, {url}
Polling would delete it, and that server would stop receiving this bot's updates. If it is
the production bot, poll with a separate test bot (its own TELEGRAM_BOT_TOKEN) instead.
To delete the webhook and poll anyway:  loa telegram poll --force
(and register it again afterwards:      loa telegram set-webhook {url})"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loa", description="Loa, the epidemic assistant.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "run", help="start Rasa, actions and the app; Ctrl-C stops them"
    ).set_defaults(func=_run)
    commands.add_parser("train", help="train the model if its inputs changed").set_defaults(
        func=_train
    )
    commands.add_parser("db-upgrade", help="create or migrate the database").set_defaults(
        func=_db_upgrade
    )
    tg = commands.add_parser("telegram", help="Telegram: register the webhook, or poll locally")
    tg_actions = tg.add_subparsers(dest="action", required=True)
    hook = tg_actions.add_parser("set-webhook", help="register URL (…/webhooks/telegram)")
    hook.add_argument("url")
    poll = tg_actions.add_parser(
        "poll", help="development: fetch updates and forward them to the app"
    )
    poll.add_argument(
        "--force", action="store_true", help="delete the bot's webhook if one is registered"
    )
    tg.set_defaults(func=_telegram)
    add_content_commands(commands)
    add_zalo_commands(commands)
    add_desk_commands(commands)
    add_alerts_commands(commands)
    add_worker_commands(commands)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except settings_module.SettingsError as exc:  # a bad environment variable, named
        print(f"Loa cannot start: {exc}", file=sys.stderr)
        return 2
