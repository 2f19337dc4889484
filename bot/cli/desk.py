"""The ``loa desk`` commands (add a staff account, reset a password, list the accounts) and
the demo accounts ``loa run`` makes in an empty embedded database.

Passwords are read twice from a terminal that does not echo them, or once from stdin with
``--password-stdin`` (scripts); they never appear in arguments, where ``ps`` would show them.
"""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from bot import places
from bot import settings as settings_module
from bot.cli.common import open_database
from bot.clock import utcnow
from bot.helpdesk import staff as accounts
from bot.storage.engine import sessions
from bot.storage.staff import COMMUNICATIONS, OPERATOR, ROLES, SUPERVISOR, StaffUser

CLI_ACTOR = "cli"  # the audit log's actor for changes made with this command
# The demo's operator works two Lạng Sơn wards the demo content has zones in (Kỳ Lừa, Tam Thanh).
DEMO_COMMUNES = (6187, 5986)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    communes: tuple[int, ...]


def add_commands(commands: Any) -> None:
    """``loa desk add-user|reset-password|list-users``."""
    desk = commands.add_parser("desk", help="the hotline desk's staff accounts")
    actions = desk.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add-user", help="create a staff account (asks for its password)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--commune",
        type=int,
        action="append",
        default=[],
        metavar="CODE",
        help="a commune code (2025) the account works; repeat for several",
    )
    add.add_argument("--name", default="", help="the name the desk shows (default: username)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    reset = actions.add_parser(
        "reset-password", help="set a new password; ends the account's sessions, unlocks it"
    )
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    actions.add_parser("list-users", help="list the staff accounts")
    desk.set_defaults(func=desk_command)


def desk_command(args: argparse.Namespace) -> int:
    cfg = open_database()
    if args.action == "list-users":
        return _list_users(cfg)
    password = _read_password(args.password_stdin)
    if password is None:
        return 2
    policy = accounts.Policy.from_settings(cfg)
    now = utcnow()
    with sessions(cfg.database_url)() as session:
        try:
            if args.action == "add-user":
                user = accounts.add_user(
                    session=session,
                    policy=policy,
                    username=args.username,
                    display_name=args.name,
                    role=args.role,
                    password=password,
                    communes=args.commune,
                    now=now,
                )
                action, said = "user_add", f"Added {user.username} ({user.role})."
            else:
                found = accounts.find_user(session=session, username=args.username)
                if found is None:
                    print(f"No staff account is called {args.username!r}.", file=sys.stderr)
                    return 2
                user = found
                accounts.reset_password(
                    session=session, policy=policy, user=user, password=password, now=now
                )
                action = "password_reset"
                said = f"New password set for {user.username}; its sessions were ended."
        except accounts.InvalidAccount as exc:
            print(f"Not saved: {exc.field} — {exc.problem}.", file=sys.stderr)
            return 2
        accounts.audit(
            session=session,
            staff=None,
            actor=CLI_ACTOR,
            action=action,
            target_kind="staff_user",
            target_id=user.id,
            detail={"username": user.username},
            now=now,
        )
        session.commit()
    print(said)
    print(f"The desk: {cfg.app_url}/desk")
    return 0


def _read_password(from_stdin: bool) -> str | None:
    """The new password: one line of stdin, or typed twice; None (said why) if unusable."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != password:
            print("The two passwords differ; nothing saved.", file=sys.stderr)
            return None
    try:
        return accounts.check_password(password)
    except accounts.InvalidAccount as exc:
        print(f"Not saved: the password needs {exc.problem}.", file=sys.stderr)
        return None


def _list_users(cfg: settings_module.Settings) -> int:
    now = utcnow()
    with sessions(cfg.database_url)() as session:
        users = accounts.list_users(session=session)
        if not users:
            print(
                "No staff accounts yet: create the first with  loa desk add-user NAME --role admin"
            )
            return 0
        for user in users:
            state = "active" if user.active else "inactive"
            if user.locked_until is not None and user.locked_until > now:
                state += ", locked"
            communes = ", ".join(_commune_name(code) for code in sorted(user.communes)) or "-"
            print(
                f"{user.username:<20} {user.role:<11} {state:<16} {user.display_name} · {communes}"
            )
    return 0


def _commune_name(code: int) -> str:
    try:
        return f"{places.get(code).name} ({code})"
    except KeyError:
        return str(code)


def demo_staff_if_empty(cfg: settings_module.Settings) -> list[DemoAccount]:
    """A demo supervisor, operator and two communications officers (a broadcast needs a second
    one to approve it) with random passwords, in an embedded database that has no staff account
    at all; never when DATABASE_URL names a database (production)."""
    if not cfg.embedded_database:
        return []
    demo = [
        DemoAccount("demo-supervisor", secrets.token_urlsafe(9), SUPERVISOR, ()),
        DemoAccount("demo-operator", secrets.token_urlsafe(9), OPERATOR, DEMO_COMMUNES),
        DemoAccount("demo-communications", secrets.token_urlsafe(9), COMMUNICATIONS, ()),
        DemoAccount("demo-communications-2", secrets.token_urlsafe(9), COMMUNICATIONS, ()),
    ]
    names = {
        "demo-supervisor": "Giám sát viên (demo)",
        "demo-operator": "Tổng đài viên (demo)",
        "demo-communications": "Cán bộ truyền thông (demo)",
        "demo-communications-2": "Cán bộ truyền thông 2 (demo)",
    }
    policy = accounts.Policy.from_settings(cfg)
    now = utcnow()
    with sessions(cfg.database_url).begin() as session:
        if session.scalar(select(func.count()).select_from(StaffUser)):
            return []
        for account in demo:
            accounts.add_user(
                session=session,
                policy=policy,
                username=account.username,
                display_name=names[account.username],
                role=account.role,
                password=account.password,
                communes=account.communes,
                now=now,
            )
    return demo


def print_demo_accounts(cfg: settings_module.Settings, demo: list[DemoAccount]) -> None:
    """How to sign in with the demo accounts (their passwords are shown this once)."""
    print(f"  Demo desk accounts (sign in at {cfg.app_url}/desk; passwords shown only now):")
    for account in demo:
        where = ", ".join(places.get(code).name for code in account.communes) or "whole province"
        print(f"    {account.username:<22} {account.password:<14} {account.role}, {where}")
