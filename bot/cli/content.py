"""The ``loa content`` commands, and the demo load of ``loa run``."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bot import settings as settings_module
from bot import wording
from bot.content import files, store
from bot.content.files import DEMO, ContentError
from bot.storage.engine import sessions
from bot.storage.migrate import upgrade


def load_demo_if_empty(cfg: settings_module.Settings) -> bool:
    """Load the demo content into a database that has none; True if it did."""
    with sessions(cfg.database_url).begin() as session:
        if not store.is_empty(session=session):
            return False
        files.load(files.read_file(DEMO), session=session, prefer_province=cfg.province)
    return True


def add_commands(commands: Any) -> None:
    """``loa content import|check|export|demo``."""
    content = commands.add_parser("content", help="content (YAML): import, check, export, demo")
    content_actions = content.add_subparsers(dest="action", required=True)
    imp = content_actions.add_parser("import", help="validate FILE and store it, all or nothing")
    imp.add_argument("file")
    imp.add_argument(
        "--replace", action="store_true", help="also delete items the file's sections omit"
    )
    content_actions.add_parser("check", help="validate FILE, store nothing").add_argument("file")
    export = content_actions.add_parser("export", help="write all content as YAML")
    export.add_argument("file", nargs="?", default="-", help="a path, or - for stdout")
    content_actions.add_parser("demo", help="load the Lạng Sơn demo content")
    content.set_defaults(func=content_command)


def _counts(saved: Counter[str], removed: bool) -> str:
    parts = [
        f"{section.lstrip('-')} {count}"
        for section, count in saved.items()
        if section.startswith("-") == removed
    ]
    return ", ".join(parts)


def content_command(args: argparse.Namespace) -> int:
    cfg = settings_module.load()
    upgrade(cfg.database_url)
    factory = sessions(cfg.database_url)
    try:
        if args.action == "export":
            with factory() as session:
                text = files.to_yaml(files.dump(session=session, prefer_province=cfg.province))
            if args.file == "-":
                sys.stdout.write(text)
            else:
                Path(args.file).write_text(text, encoding="utf-8")
            return 0
        path = DEMO if args.action == "demo" else Path(args.file)
        raw = files.read_file(path)
        if args.action == "check":
            with factory() as session:
                files.parse(raw, session=session, prefer_province=cfg.province)
            print(wording.error("valid"))
            return 0
        with factory.begin() as session:  # one transaction: all of the file, or nothing
            replace = getattr(args, "replace", False)
            saved = files.load(raw, session=session, prefer_province=cfg.province, replace=replace)
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(wording.error("saved", counts=_counts(saved, removed=False)))
    if any(section.startswith("-") for section in saved):
        print(wording.error("removed", counts=_counts(saved, removed=True)))
    return 0
