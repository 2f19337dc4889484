"""The desk's accounts: passwords, sign-in with lock-out, revocable sessions, who may do what,
and the audit log.

Passwords are hashed with Argon2id; a hash made with older parameters is replaced at the next
good sign-in. An unknown username costs the same hash time and gets the same answer as a wrong
password, and is locked out after as many tries, so the sign-in form does not tell which
usernames exist. A session is a row keyed by
the SHA-256 of the browser's random token: revoking it is deleting its power, and a copy of
the database opens nobody's session. Every permission check of the desk is ``may``, read from
one table.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot import places
from bot.settings import Settings
from bot.storage.helpdesk import OPEN_STATUSES, HelpRequest
from bot.storage.staff import (
    ADMIN,
    COMMUNICATIONS,
    INSPECTOR,
    OPERATOR,
    ROLES,
    SUPERVISOR,
    AuditEntry,
    LoginFailure,
    StaffArea,
    StaffSession,
    StaffUser,
)

MIN_PASSWORD = 10  # characters; staff see citizens' phones and health details
MAX_PASSWORD = 200  # argon2 would hash more, but nobody types it: refuse a flood of bytes
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,39}")
MAX_DISPLAY_NAME = 80
LAST_SEEN_EVERY = timedelta(minutes=1)  # a session's last_seen is written at most this often
# A username without an account keeps its count of wrong sign-ins this long after its last try
# (an account keeps its count until a good sign-in; this only bounds the table).
FORGET_UNKNOWN_NAMES_AFTER = timedelta(days=30)

# What ``authenticate`` decided.
OK = "ok"
WRONG = "wrong"  # unknown username or wrong password: the same answer for both
LOCKED = "locked"  # too many wrong passwords in a row; refused even with the right one
INACTIVE = "inactive"  # the right password of a deactivated account

# Actions ``may`` knows.
VIEW_REQUEST = "view_request"  # a help request with its personal fields
WORK_REQUEST = "work_request"  # claim, note, reply, change its status
ASSIGN = "assign"  # give a request to someone else
VIEW_REPORTS = "view_reports"  # statistics and SLA across the province
HANDLE_FALSE_INFO = "handle_false_info"  # false-information reports and their verdicts
VIEW_FALSE_INFO = "view_false_info"  # read the false-information reports (no changes)
MANAGE_USERS = "manage_users"  # accounts, their communes, sessions
VIEW_AUDIT = "view_audit"  # the audit log
SET_LEVEL = "set_level"  # set an area's alert level (with its decision)
DRAFT_BROADCAST = "draft_broadcast"  # write, edit and cancel announcements
APPROVE_BROADCAST = "approve_broadcast"  # approve someone else's announcement (four eyes)
VIEW_BROADCASTS = "view_broadcasts"  # the broadcasts, their audience and progress
VIEW_QUESTIONS = "view_questions"  # questions Loa could not answer (the content team's list)
ACTIONS = (
    VIEW_REQUEST,
    WORK_REQUEST,
    ASSIGN,
    VIEW_REPORTS,
    HANDLE_FALSE_INFO,
    VIEW_FALSE_INFO,
    MANAGE_USERS,
    VIEW_AUDIT,
    SET_LEVEL,
    DRAFT_BROADCAST,
    APPROVE_BROADCAST,
    VIEW_BROADCASTS,
    VIEW_QUESTIONS,
)

# Where a role may do an action: in the communes it is assigned (OWN) or anywhere (ALL).
# An admin manages accounts and reads the audit log but does not read citizens' requests:
# whoever holds the keys to the accounts need not also see phone numbers (Decree 13/2023's
# least access); an admin who works requests gets a second, operator or supervisor account.
OWN, ALL = "own", "all"
PERMISSIONS: dict[str, dict[str, str]] = {
    OPERATOR: {VIEW_REQUEST: OWN, WORK_REQUEST: OWN},
    # Supervisors read the inspectors' queue (rumours drive the calls they plan for) but do
    # not publish verdicts: that stays with those who check the facts.
    SUPERVISOR: {
        VIEW_REQUEST: ALL,
        WORK_REQUEST: ALL,
        ASSIGN: ALL,
        VIEW_REPORTS: ALL,
        VIEW_FALSE_INFO: ALL,
        VIEW_BROADCASTS: ALL,
        VIEW_QUESTIONS: ALL,
    },
    # The questions nobody could answer (rumours among them) are the bank's to-do list: those
    # who write the province's answers and check claims read them; operators and admins do not.
    INSPECTOR: {HANDLE_FALSE_INFO: ALL, VIEW_FALSE_INFO: ALL, VIEW_QUESTIONS: ALL},
    ADMIN: {MANAGE_USERS: ALL, VIEW_AUDIT: ALL},
    # The province's communications office (Sở TT&TT) speaks for the whole province: levels
    # and announcements anywhere; a second officer approves what one drafted.
    COMMUNICATIONS: {
        SET_LEVEL: ALL,
        DRAFT_BROADCAST: ALL,
        APPROVE_BROADCAST: ALL,
        VIEW_BROADCASTS: ALL,
        VIEW_QUESTIONS: ALL,
    },
}


class InvalidAccount(ValueError):
    """A field of an account that cannot be stored; ``field`` names it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Staff:
    """A signed-in staff member, as the web sees them (no hash, no counters)."""

    id: int
    username: str
    display_name: str
    role: str
    communes: frozenset[int]

    @classmethod
    def of(cls, user: StaffUser) -> Staff:
        return cls(user.id, user.username, user.display_name, user.role, user.communes)


def may(staff: Staff, action: str, commune_code: int | None = None) -> bool:
    """Whether ``staff`` may do ``action`` — in ``commune_code`` when given, else anywhere at
    all (what a menu asks). The only permission check of the desk."""
    scope = PERMISSIONS.get(staff.role, {}).get(action)
    if scope == ALL:
        return True
    if scope == OWN:
        return bool(staff.communes) if commune_code is None else commune_code in staff.communes
    return False


@dataclass(frozen=True)
class Policy:
    """The sign-in rules, from the settings: hashing cost, lock-out, session lifetimes."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4
    lockout_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    session_lifetime: timedelta = timedelta(hours=12)
    idle: timedelta = timedelta(hours=2)

    @classmethod
    def from_settings(cls, cfg: Settings) -> Policy:
        return cls(
            time_cost=cfg.desk_argon2_time_cost,
            memory_kib=cfg.desk_argon2_memory_kib,
            parallelism=cfg.desk_argon2_parallelism,
            lockout_failures=max(1, cfg.desk_lockout_failures),
            lockout=timedelta(minutes=cfg.desk_lockout_minutes),
            session_lifetime=timedelta(hours=cfg.desk_session_hours),
            idle=timedelta(minutes=cfg.desk_idle_minutes),
        )

    @cached_property
    def hasher(self) -> PasswordHasher:
        return PasswordHasher(
            time_cost=self.time_cost, memory_cost=self.memory_kib, parallelism=self.parallelism
        )

    @cached_property
    def decoy_hash(self) -> str:
        """A hash of nothing anyone knows, verified for unknown usernames (same time spent)."""
        return self.hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Login:
    """What a sign-in attempt gave: ``outcome`` and, when OK, the user."""

    outcome: str
    user: StaffUser | None = None
    locked_until: datetime | None = None


def normal_username(text: str) -> str:
    return text.strip().lower()


def check_password(password: str) -> str:
    """The password if it may be used; InvalidAccount otherwise."""
    if len(password) < MIN_PASSWORD:
        raise InvalidAccount("password", f"at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidAccount("password", f"at most {MAX_PASSWORD} characters")
    return password


def _check_communes(codes: Iterable[int]) -> frozenset[int]:
    found = frozenset(codes)
    for code in found:
        try:
            places.get(code)
        except KeyError:
            raise InvalidAccount("communes", f"no commune has code {code}") from None
    return found


def add_user(
    *,
    session: Session,
    policy: Policy,
    username: str,
    display_name: str,
    role: str,
    password: str,
    communes: Iterable[int] = (),
    now: datetime,
) -> StaffUser:
    """A new account (flushed, not committed); InvalidAccount names the field that is wrong."""
    username = normal_username(username)
    if not USERNAME.fullmatch(username):
        raise InvalidAccount("username", "3-40 of a-z 0-9 . _ -, starting with a letter or digit")
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise InvalidAccount("username", "already taken")
    display_name = " ".join(display_name.split()) or username
    if len(display_name) > MAX_DISPLAY_NAME:
        raise InvalidAccount("display_name", f"at most {MAX_DISPLAY_NAME} characters")
    if role not in ROLES:
        raise InvalidAccount("role", f"one of {', '.join(ROLES)}")
    codes = _check_communes(communes)
    if role == OPERATOR and not codes:
        raise InvalidAccount("communes", "an operator needs at least one commune")
    user = StaffUser(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=policy.hasher.hash(check_password(password)),
        active=True,
        failed_logins=0,
        created_at=now,
        password_changed_at=now,
    )
    user.area_rows = [StaffArea(commune_code=code) for code in sorted(codes)]
    session.add(user)
    session.flush()
    return user


def find_user(*, session: Session, username: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.username == normal_username(username)))


def list_users(*, session: Session) -> list[StaffUser]:
    return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))


def reset_password(
    *, session: Session, policy: Policy, user: StaffUser, password: str, now: datetime
) -> None:
    """A new password; it unlocks the account and ends every session of the user."""
    user.password_hash = policy.hasher.hash(check_password(password))
    user.password_changed_at = now
    user.failed_logins = 0
    user.locked_until = None
    revoke_all(session=session, user_id=user.id, now=now)


def set_active(*, session: Session, user: StaffUser, active: bool, now: datetime) -> None:
    """Deactivate (its sessions end at once) or reactivate an account."""
    user.active = active
    if not active:
        revoke_all(session=session, user_id=user.id, now=now)


def authenticate(
    *, session: Session, policy: Policy, username: str, password: str, now: datetime
) -> Login:
    """Check a sign-in; counts wrong passwords and locks the account after too many in a row.
    The caller commits (the counters must be stored whatever the outcome)."""
    user = find_user(session=session, username=username)
    if user is None:
        _verify(policy, policy.decoy_hash, password[:MAX_PASSWORD])
        return _unknown_name_failed(session=session, policy=policy, username=username, now=now)
    if user.locked_until is not None and user.locked_until > now:
        _verify(policy, policy.decoy_hash, password[:MAX_PASSWORD])  # same time, fixed answer
        return Login(LOCKED, locked_until=user.locked_until)
    if len(password) > MAX_PASSWORD:
        _verify(policy, policy.decoy_hash, password[:MAX_PASSWORD])
        right = False
    else:
        right = _verify(policy, user.password_hash, password)
    if not right:
        user.failed_logins += 1
        if user.failed_logins >= policy.lockout_failures:
            user.failed_logins = 0  # after the lock, another full series of attempts
            user.locked_until = now + policy.lockout
            return Login(LOCKED, locked_until=user.locked_until)
        return Login(WRONG)
    if not user.active:
        return Login(INACTIVE)
    user.failed_logins = 0
    user.locked_until = None
    if policy.hasher.check_needs_rehash(user.password_hash):
        user.password_hash = policy.hasher.hash(password)
    return Login(OK, user)


def _unknown_name_failed(
    *, session: Session, policy: Policy, username: str, now: datetime
) -> Login:
    """A wrong sign-in for a username without an account, counted and locked exactly as for
    one with an account: otherwise the lock-out message after a few tries would tell an
    attacker which usernames exist."""
    key = hashlib.sha256(normal_username(username).encode()).hexdigest()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    added = session.execute(
        insert(LoginFailure)
        .values(name_hash=key, failures=0, last_at=now)
        .on_conflict_do_nothing(index_elements=["name_hash"])
        .returning(LoginFailure.name_hash)
    ).first()
    if added is not None:  # a new name: forget the names nobody has tried for a long while
        session.execute(
            delete(LoginFailure).where(LoginFailure.last_at < now - FORGET_UNKNOWN_NAMES_AFTER)
        )
    row = session.get(LoginFailure, key, populate_existing=True)
    assert row is not None  # inserted above or already there
    row.last_at = now
    if row.locked_until is not None and row.locked_until > now:
        return Login(LOCKED, locked_until=row.locked_until)
    row.failures += 1
    if row.failures >= policy.lockout_failures:
        row.failures = 0
        row.locked_until = now + policy.lockout
        return Login(LOCKED, locked_until=row.locked_until)
    return Login(WRONG)


def change_password(
    *,
    session: Session,
    policy: Policy,
    user: StaffUser,
    current: str,
    new: str,
    keep_token_hash: str | None,
    now: datetime,
) -> bool:
    """Change one's own password (the current one is asked again); the user's other sessions
    end. False when ``current`` is wrong; InvalidAccount when ``new`` cannot be used."""
    if not _verify(policy, user.password_hash, current[:MAX_PASSWORD]):
        return False
    user.password_hash = policy.hasher.hash(check_password(new))
    user.password_changed_at = now
    revoke_all(session=session, user_id=user.id, now=now, keep=keep_token_hash)
    return True


def _verify(policy: Policy, stored: str, password: str) -> bool:
    try:
        return policy.hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(
    *, session: Session, policy: Policy, user: StaffUser, now: datetime, user_agent: str = ""
) -> tuple[str, StaffSession]:
    """A new session for ``user``: the token for the browser's cookie, and the stored row
    (which holds only the token's hash, and the session's CSRF token)."""
    token = secrets.token_urlsafe(32)
    row = StaffSession(
        token_hash=token_hash(token),
        staff_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.session_lifetime,
        revoked_at=None,
        user_agent=user_agent[:200],
    )
    session.add(row)
    session.flush()
    return token, row


def session_for(
    *, session: Session, policy: Policy, token: str, now: datetime
) -> tuple[Staff, StaffSession] | None:
    """The staff member and session a cookie's token opens; None when the token is unknown,
    the session expired (absolute or idle), was revoked, or the account is inactive."""
    if not token or len(token) > 100:
        return None
    row = session.get(StaffSession, token_hash(token))
    if row is None or row.revoked_at is not None or now >= row.expires_at:
        return None
    if now - row.last_seen_at >= policy.idle:
        return None
    user = session.get(StaffUser, row.staff_id)
    if user is None or not user.active:
        return None
    if now - row.last_seen_at >= LAST_SEEN_EVERY:
        row.last_seen_at = now
    return Staff.of(user), row


def revoke(*, session: Session, row: StaffSession, now: datetime) -> None:
    if row.revoked_at is None:
        row.revoked_at = now


def revoke_all(*, session: Session, user_id: int, now: datetime, keep: str | None = None) -> int:
    """End every live session of a user (but ``keep``, a token hash); how many ended."""
    query = (
        update(StaffSession)
        .where(StaffSession.staff_id == user_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if keep is not None:
        query = query.where(StaffSession.token_hash != keep)
    return int(session.execute(query).rowcount or 0)  # type: ignore[attr-defined]


def live_sessions(*, session: Session, user_id: int, now: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(StaffSession)
            .where(
                StaffSession.staff_id == user_id,
                StaffSession.revoked_at.is_(None),
                StaffSession.expires_at > now,
            )
        )
        or 0
    )


def audit(
    *,
    session: Session,
    staff: Staff | StaffUser | None,
    action: str,
    target_kind: str,
    target_id: object = "",
    detail: dict[str, Any] | None = None,
    now: datetime,
    actor: str = "",
) -> None:
    """Write who did what (``actor``: the name typed, for a sign-in by nobody known)."""
    session.add(
        AuditEntry(
            at=now,
            staff_id=staff.id if staff is not None else None,
            actor=(staff.username if staff is not None else actor)[:40],
            action=action,
            target_kind=target_kind,
            target_id=str(target_id)[:40],
            detail=detail or {},
        )
    )


def audit_page(*, session: Session, page: int, per_page: int = 50) -> tuple[list[AuditEntry], int]:
    """One page of the audit log, latest first, and how many entries there are."""
    total = int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
    rows = session.scalars(
        select(AuditEntry)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset(max(0, page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), total


def open_requests(*, session: Session, staff: Staff) -> int | None:
    """How many open help requests ``staff`` may see; None when they see none at all."""
    if not may(staff, VIEW_REQUEST):
        return None
    query = select(func.count()).select_from(HelpRequest)
    query = query.where(HelpRequest.status.in_(OPEN_STATUSES))
    if PERMISSIONS[staff.role][VIEW_REQUEST] == OWN:
        query = query.where(HelpRequest.commune_code.in_(sorted(staff.communes)))
    return int(session.scalar(query) or 0)
