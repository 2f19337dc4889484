"""The ``loa level`` and ``loa broadcast`` commands: set an area's level, read its history,
list, show and approve broadcasts, and follow one's sending with a progress bar.

Changes are made as a named staff account (``--as``), with the same rules as the desk: the
role's permissions, four eyes, the audit log. A refusal is one line and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot import places
from bot import settings as settings_module
from bot.alerts import broadcasts, levels, schemes
from bot.alerts.broadcasts import BroadcastError, Progress
from bot.alerts.subscriptions import AreaCode
from bot.cli.common import open_database
from bot.clock import moment, start_of, utcnow
from bot.content.files import area_codes
from bot.helpdesk import staff as accounts
from bot.helpdesk.staff import Staff
from bot.storage.alerts import APPROVED, BROADCAST_STATUSES, CANCELLED, DONE, DRAFT
from bot.storage.engine import sessions

BAR_WIDTH = 40
WATCH_SECONDS = 2.0


class Refused(Exception):
    """A command that cannot go on; the message is the one line printed."""


def add_commands(commands: Any) -> None:
    """``loa level set|history`` and ``loa broadcast list|show|approve|status``."""
    level = commands.add_parser("level", help="an area's alert level: set it, read its history")
    level_actions = level.add_subparsers(dest="action", required=True)
    put = level_actions.add_parser("set", help="set a level; makes the announcement's draft")
    put.add_argument("--area", required=True, help='a commune or province: "Kỳ Lừa", "p:20"')
    put.add_argument("--level", required=True, type=int)
    put.add_argument("--decision", required=True, help="the decision's number")
    put.add_argument("--effective", required=True, help='"YYYY-MM-DD HH:MM", Viet Nam time')
    put.add_argument("--note", default=None)
    put.add_argument("--as", dest="staff", required=True, help="your staff username")
    history = level_actions.add_parser("history", help="the levels set for an area")
    history.add_argument("--area", required=True)
    level.set_defaults(func=level_command)

    broadcast = commands.add_parser("broadcast", help="announcements: list, show, approve, status")
    actions = broadcast.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="the latest broadcasts")
    listing.add_argument("--status", choices=BROADCAST_STATUSES)
    listing.add_argument("--page", type=int, default=1)
    actions.add_parser("show", help="a broadcast, its text and audience").add_argument(
        "id", type=int
    )
    approve = actions.add_parser("approve", help="approve a draft (not your own)")
    approve.add_argument("id", type=int)
    approve.add_argument("--as", dest="staff", required=True, help="your staff username")
    status = actions.add_parser("status", help="sending progress, with a bar")
    status.add_argument("id", type=int)
    status.add_argument("--watch", action="store_true", help="refresh until it is done")
    status.add_argument("--interval", type=float, default=WATCH_SECONDS, help=argparse.SUPPRESS)
    broadcast.set_defaults(func=broadcast_command)


def _run(args: argparse.Namespace, work: Callable[[Session, Any], int]) -> int:
    """Open the database, run ``work``; a refusal is one line on stderr and exit code 2."""
    cfg = open_database()
    factory = sessions(cfg.database_url)
    with factory() as session:
        try:
            code = work(session, cfg)
            session.commit()
            return code
        except BroadcastError as exc:
            session.rollback()
            print(exc.message_vi, file=sys.stderr)
        except Refused as exc:
            session.rollback()
            print(exc, file=sys.stderr)
    return 2


def level_command(args: argparse.Namespace) -> int:
    if args.action == "history":
        return _run(args, lambda session, cfg: _history(session, cfg, args))
    return _run(args, lambda session, cfg: _set(session, cfg, args))


def broadcast_command(args: argparse.Namespace) -> int:
    work = {"list": _list, "show": _show, "approve": _approve, "status": _status}[args.action]
    return _run(args, lambda session, cfg: work(session, cfg, args))


def _area(text: str, cfg: settings_module.Settings) -> AreaCode:
    codes = area_codes(text, prefer_province=cfg.province)
    if isinstance(codes, str):
        raise Refused(codes)
    province, commune = codes
    if province is None:
        raise Refused(f'"{text}": choose a province or a commune, not the whole country.')
    return AreaCode(province, commune)


def _staff(session: Session, username: str) -> Staff:
    user = accounts.find_user(session=session, username=username)
    if user is None or not user.active:
        raise Refused(f"No active staff account is called {username!r}.")
    return Staff.of(user)


def _when(text: str) -> datetime:
    for shape in ("%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return start_of(datetime.strptime(text.strip(), shape))
        except ValueError:
            continue
    raise Refused(f'--effective {text!r}: write it as "YYYY-MM-DD HH:MM" (Viet Nam time).')


def _set(session: Session, cfg: settings_module.Settings, args: argparse.Namespace) -> int:
    officer = _staff(session, args.staff)
    area = _area(args.area, cfg)
    now = utcnow()
    row, draft = levels.set_level(
        session=session,
        officer=officer,
        area=area,
        level=args.level,
        decision=args.decision,
        effective_at=_when(args.effective),
        now=now,
        note=args.note,
        cfg=cfg,
    )
    name, _ = schemes.describe(session=session, row=row)
    print(f"Level {row.level} ({name}) set for {broadcasts.area_name(area)} from "
          f"{moment(row.valid_from)}, decision {row.decision}.")  # fmt: skip
    print(f"Draft broadcast #{draft.id} (version {draft.version}) awaits a second officer's "
          f"approval:  loa broadcast approve {draft.id} --as <username>")  # fmt: skip
    _print_preview(session, draft.id, now)
    return 0


def _print_preview(session: Session, broadcast_id: int, now: datetime) -> None:
    seen = broadcasts.preview(session=session, broadcast_id=broadcast_id, now=now)
    counts = seen.counts
    channels = ", ".join(f"{name} {n}" for name, n in sorted(counts.per_channel.items())) or "-"
    print(f"Recipients: {counts.total} ({channels}); cannot be reached now: {counts.unreachable}")
    for commune, n in sorted(counts.per_commune.items(), key=lambda item: -item[1])[:10]:
        where = "whole province" if commune is None else _commune(commune)
        print(f"  {where}: {n}")
    print("Text:")
    for line in seen.text.splitlines():
        print(f"  | {line}")


def _commune(code: int) -> str:
    try:
        return places.get(code).name
    except KeyError:
        return str(code)


def _history(session: Session, cfg: settings_module.Settings, args: argparse.Namespace) -> int:
    area = _area(args.area, cfg)
    rows = levels.history(session=session, area=area)
    print(f"{broadcasts.area_name(area)}: {len(rows)} level(s) set")
    for row in rows:
        until = moment(row.valid_until) if row.valid_until else "until further notice"
        name, _ = schemes.describe(session=session, row=row)
        print(f"  {moment(row.valid_from)} → {until}: {row.level} – {name} "
              f"({row.decision}; scheme {row.scheme})")  # fmt: skip
    return 0


def _list(session: Session, cfg: settings_module.Settings, args: argparse.Namespace) -> int:
    rows = broadcasts.listing(session=session, status=args.status, page=args.page)
    if not rows:
        print("No broadcasts.")
    for row in rows:
        urgent = "urgent" if row.urgent else ""
        print(f"#{row.id:<6} {row.status:<9} {row.kind:<12} {urgent:<6} "
              f"{moment(row.created_at)}  {row.title}")  # fmt: skip
    return 0


def _show(session: Session, cfg: settings_module.Settings, args: argparse.Namespace) -> int:
    row = broadcasts.get(session=session, broadcast_id=args.id)
    areas = "; ".join(broadcasts.area_name(a) for a in broadcasts.area_codes(row))
    print(f"#{row.id} {row.title}")
    print(f"  {row.kind}, {row.status}, version {row.version}{', urgent' if row.urgent else ''}")
    print(f"  areas: {areas}")
    if row.approved_at:
        print(f"  approved {moment(row.approved_at)}")
    _print_preview(session, row.id, utcnow())
    if row.status in (APPROVED, DONE):
        print(_bar(broadcasts.progress(session=session, broadcast_id=row.id, now=utcnow())))
    return 0


def _approve(session: Session, cfg: settings_module.Settings, args: argparse.Namespace) -> int:
    officer = _staff(session, args.staff)
    row = broadcasts.get(session=session, broadcast_id=args.id)
    approved = broadcasts.approve(
        session=session, officer=officer, broadcast_id=row.id, version=row.version,
        now=utcnow(), cfg=cfg,
    )  # fmt: skip
    print(f"Broadcast #{approved.id} approved; the worker sends it now.")
    return 0


def _bar(seen: Progress) -> str:
    """[████░░░░] 120/300 sent · failed 2 · pending 170 · unreachable 8 · 25.0/s · 7 s left"""
    final = seen.sent + seen.failed + seen.uncertain + seen.unreachable + seen.skipped
    filled = round(BAR_WIDTH * final / seen.total) if seen.total else 0
    bar = "█" * filled + "░" * (BAR_WIDTH - filled)
    rate = f"{seen.rate_per_s:.1f}/s" if seen.rate_per_s is not None else "-/s"
    left = "time left unknown" if seen.seconds_left is None else f"{seen.seconds_left:.0f} s left"
    line = (
        f"[{bar}] {seen.sent}/{seen.total} sent · failed {seen.failed} · "
        f"pending {seen.pending + seen.sending} · unreachable {seen.unreachable}"
    )
    if seen.uncertain or seen.skipped:
        line += f" · uncertain {seen.uncertain} · skipped {seen.skipped}"
    line += f" · {rate} · {left}"
    if seen.failures:
        line += "\n  failures: " + "; ".join(f"{why} ×{n}" for why, n in seen.failures)
    return line


def _status(session: Session, cfg: settings_module.Settings, args: argparse.Namespace) -> int:
    while True:
        row = broadcasts.get(session=session, broadcast_id=args.id)
        seen = broadcasts.progress(session=session, broadcast_id=args.id, now=utcnow())
        print(f"#{row.id} {row.status}: {_bar(seen)}", flush=True)
        finished = row.status in (DONE, CANCELLED) or (
            row.audience_ready_at is not None and seen.total and not seen.pending + seen.sending
        )
        if not args.watch or finished:
            return 0
        if row.status == DRAFT:
            print("Not approved yet: nothing is being sent.")
            return 0
        session.rollback()  # the next frame reads what the worker committed since
        session.expire_all()
        time.sleep(max(args.interval, 0.1))
