"""The ``loa content`` commands, and the demo load of ``loa run``."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import settings as settings_module
from bot import wording
from bot.alerts import broadcasts
from bot.cli.common import open_database
from bot.clock import VIETNAM, utcnow
from bot.content import files, store
from bot.content.bank.unanswered import groups
from bot.content.files import DEMO_FILES, ContentError
from bot.storage.content import ACTIVE, LockdownZone
from bot.storage.engine import sessions
from bot.storage.questions import DOWN, UNKNOWN


def load_demo_if_empty(cfg: settings_module.Settings) -> bool:
    """Load the demo content into a database that has none; True if it did."""
    with sessions(cfg.database_url).begin() as session:
        if not store.is_empty(session=session):
            return False
        for path in DEMO_FILES:
            files.load(files.read_file(path), session=session, prefer_province=cfg.province)
    return True


def add_commands(commands: Any) -> None:
    """``loa content import|check|export|demo|unanswered``."""
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
    unanswered = content_actions.add_parser(
        "unanswered", help="questions Loa could not answer or that were rated 👎, grouped"
    )
    unanswered.add_argument("--days", type=int, default=30, help="look back this many days")
    unanswered.add_argument("--limit", type=int, default=50, help="show at most this many groups")
    content.set_defaults(func=content_command)


def unanswered_command(args: argparse.Namespace, factory: Any) -> int:
    """Print the groups of unanswered questions: the content team's to-do list."""
    since = utcnow() - timedelta(days=max(args.days, 0))
    with factory() as session:
        found = groups(session, since=since)
    if not found:
        print(wording.error("unanswered_none", days=args.days))
        return 0
    print(wording.error("unanswered_head", groups=len(found), days=args.days))
    for group in found[: max(args.limit, 0)]:
        down = ", ".join(f"{key} ×{n}" for key, n in group.entries.most_common(3))
        print(
            wording.error(
                "unanswered_group",
                count=group.count,
                unknown=group.outcomes[UNKNOWN],
                down=group.outcomes[DOWN],
                last=group.last.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M"),
                example=group.example,
            )
        )
        if down:
            print(wording.error("unanswered_entries", entries=down))
        for other in dict.fromkeys(group.texts[1:4]):
            if other != group.example:
                print(f"      · {other}")
    return 0


def _counts(saved: Counter[str], removed: bool) -> str:
    parts = [
        f"{section.lstrip('-')} {count}"
        for section, count in saved.items()
        if section.startswith("-") == removed
    ]
    return ", ".join(parts)


def content_command(args: argparse.Namespace) -> int:
    cfg = open_database()
    factory = sessions(cfg.database_url)
    if args.action == "unanswered":
        return unanswered_command(args, factory)
    try:
        if args.action == "export":
            with factory() as session:
                text = files.to_yaml(files.dump(session=session, prefer_province=cfg.province))
            if args.file == "-":
                sys.stdout.write(text)
            else:
                Path(args.file).write_text(text, encoding="utf-8")
            return 0
        paths = DEMO_FILES if args.action == "demo" else (Path(args.file),)
        raws = [files.read_file(path) for path in paths]
        if args.action == "check":
            (raw,) = raws
            with factory() as session:
                files.parse(raw, session=session, prefer_province=cfg.province)
            print(wording.error("valid"))
            return 0
        with factory.begin() as session:  # one transaction: all of the file, or nothing
            replace = getattr(args, "replace", False)
            before = _zone_states(session)
            saved = Counter[str]()
            for raw in raws:
                saved += files.load(
                    raw, session=session, prefer_province=cfg.province, replace=replace
                )
            session.flush()
            drafts = _draft_zone_changes(session, before, cfg) if args.action == "import" else []
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(wording.error("saved", counts=_counts(saved, removed=False)))
    if any(section.startswith("-") for section in saved):
        print(wording.error("removed", counts=_counts(saved, removed=True)))
    for line in drafts:
        print(line)
    return 0


def _zone_states(session: Session) -> dict[str, str]:
    rows = session.execute(select(LockdownZone.key, LockdownZone.status))
    return {key: status for key, status in rows}


def _draft_zone_changes(
    session: Session, before: dict[str, str], cfg: settings_module.Settings
) -> list[str]:
    """A draft announcement for each zone the import set up or lifted (an officer reviews and
    approves it in the desk, as for a level change); what to tell the editor about them.

    A zone imported already lifted, or changed in other ways, gets none. A draft that cannot be
    made (no scheme in force) is said, and the content is stored all the same: the content is
    the decision, the announcement comes after it."""
    told: list[str] = []
    now = utcnow()
    for zone in session.scalars(select(LockdownZone).order_by(LockdownZone.key)):
        was = before.get(zone.key)
        if was == zone.status or (zone.status != ACTIVE and was != ACTIVE):
            continue
        try:
            with session.begin_nested():
                draft = broadcasts.draft_for_zone(
                    session=session, officer=None, zone_id=zone.id, now=now, cfg=cfg
                )
        except broadcasts.BroadcastError as exc:
            told.append(wording.error("zone_draft_failed", zone=zone.name, reason=exc.message_vi))
            continue
        told.append(wording.error("zone_drafted", zone=zone.name, id=draft.id))
    return told
