"""The desk's accounts: Argon2 hashes and their upgrade, lock-out, an unknown username answered
like a wrong password, sessions that expire or are revoked, the permission table, the audit."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk import staff as accounts
from bot.helpdesk.staff import (
    ACTIONS,
    APPROVE_BROADCAST,
    ASSIGN,
    DRAFT_BROADCAST,
    HANDLE_FALSE_INFO,
    LOCKED,
    MANAGE_USERS,
    OK,
    SET_LEVEL,
    VIEW_AUDIT,
    VIEW_BROADCASTS,
    VIEW_FALSE_INFO,
    VIEW_QUESTIONS,
    VIEW_REPORTS,
    VIEW_REQUEST,
    WORK_REQUEST,
    WRONG,
    Policy,
    Staff,
    may,
)
from bot.settings import Settings
from bot.storage.staff import (
    ADMIN,
    COMMUNICATIONS,
    INSPECTOR,
    OPERATOR,
    SUPERVISOR,
    AuditEntry,
    LoginFailure,
    StaffUser,
)
from tests.desk_rig import CHEAP_POLICY, KY_LUA, PASSWORD, START, TAM_THANH, add_staff

DATABASES = ("sqlite", "postgresql")


def login(
    factory: sessionmaker[Session],
    username: str,
    password: str,
    *,
    minutes: float = 0,
    policy: Policy = CHEAP_POLICY,
) -> accounts.Login:
    with factory.begin() as session:
        return accounts.authenticate(
            session=session,
            policy=policy,
            username=username,
            password=password,
            now=START + timedelta(minutes=minutes),
        )


def stored_hash(factory: sessionmaker[Session], username: str) -> str:
    with factory() as session:
        user = accounts.find_user(session=session, username=username)
        assert user is not None
        return user.password_hash


def test_production_hashing_parameters_are_the_defaults() -> None:
    """The tests hash cheaply; production uses RFC 9106's low-memory Argon2id."""
    policy = Policy.from_settings(Settings())
    rfc = profiles.RFC_9106_LOW_MEMORY
    assert (policy.time_cost, policy.memory_kib, policy.parallelism) == (
        rfc.time_cost,
        rfc.memory_cost,
        rfc.parallelism,
    )
    assert policy.hasher.hash("x").startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert (policy.lockout_failures, policy.lockout) == (5, timedelta(minutes=15))
    assert (policy.session_lifetime, policy.idle) == (timedelta(hours=12), timedelta(hours=2))


def test_the_password_is_stored_as_an_argon2_hash_and_verified(
    session_factory: sessionmaker[Session],
) -> None:
    add_staff(session_factory, "lan", OPERATOR, [KY_LUA])
    stored = stored_hash(session_factory, "lan")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert login(session_factory, "LAN ", PASSWORD).outcome == OK  # usernames: any case
    assert login(session_factory, "lan", PASSWORD + "x").outcome == WRONG


def test_a_hash_with_older_parameters_is_upgraded_at_sign_in(
    session_factory: sessionmaker[Session],
) -> None:
    add_staff(session_factory, "lan", OPERATOR, [KY_LUA])
    old = stored_hash(session_factory, "lan")
    stronger = replace(CHEAP_POLICY, time_cost=2)
    assert login(session_factory, "lan", PASSWORD + "x", policy=stronger).outcome == WRONG
    assert stored_hash(session_factory, "lan") == old  # a wrong password changes nothing
    assert login(session_factory, "lan", PASSWORD, policy=stronger).outcome == OK
    new = stored_hash(session_factory, "lan")
    assert new != old and ",t=2," in new
    assert not stronger.hasher.check_needs_rehash(new)
    assert PasswordHasher().verify(new, PASSWORD)
    assert login(session_factory, "lan", PASSWORD, policy=stronger).outcome == OK


def test_a_username_without_an_account_is_locked_out_alike(
    session_factory: sessionmaker[Session],
) -> None:
    """The same answers, try for try, whether the account exists or not: otherwise the lock-out
    after five tries would tell an attacker which usernames are real."""
    add_staff(session_factory, "lan", OPERATOR, [KY_LUA])

    def series(name: str, start: float) -> list[tuple[str, object]]:
        tries = [login(session_factory, name, f"wrong {n}", minutes=start) for n in range(6)]
        tries.append(login(session_factory, name, "wrong", minutes=start + 15))
        return [(t.outcome, t.locked_until and t.locked_until - START) for t in tries]

    real, made_up = series("lan", 0), series("Khong.Co ", 0)  # any case, any spaces
    assert real == made_up
    assert [outcome for outcome, _ in made_up] == [WRONG] * 4 + [LOCKED] * 2 + [WRONG]
    # Another made-up name starts its own count; a long password is just another wrong one.
    assert login(session_factory, "ai-do", "x" * 500).outcome == WRONG
    with session_factory() as session:
        stored = list(session.scalars(select(LoginFailure.name_hash)))
    assert len(stored) == 2 and "khong.co" not in " ".join(stored)  # names kept only hashed


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(
    session_factory: sessionmaker[Session],
) -> None:
    add_staff(session_factory, "lan", OPERATOR, [KY_LUA])
    outcomes = [login(session_factory, "lan", f"wrong {n}").outcome for n in range(5)]
    assert outcomes == [WRONG, WRONG, WRONG, WRONG, LOCKED]
    locked = login(session_factory, "lan", PASSWORD, minutes=14)
    assert locked.outcome == LOCKED
    assert locked.locked_until == START + timedelta(minutes=15)
    assert login(session_factory, "lan", PASSWORD, minutes=15).outcome == OK
    # A good sign-in starts the count again: four more wrong ones do not lock.
    outcomes = [login(session_factory, "lan", "wrong", minutes=16).outcome for _ in range(4)]
    assert outcomes == [WRONG] * 4
    assert login(session_factory, "lan", PASSWORD, minutes=16).outcome == OK


def test_an_unknown_username_gets_the_answer_of_a_wrong_password_in_the_same_time(
    session_factory: sessionmaker[Session],
) -> None:
    slow = Policy(time_cost=2, memory_kib=4096, parallelism=1)  # long enough to measure
    with session_factory.begin() as session:
        accounts.add_user(
            session=session,
            policy=slow,
            username="lan",
            display_name="Lan",
            role=SUPERVISOR,
            password=PASSWORD,
            now=START,
        )
    slow.decoy_hash  # noqa: B018 (made once per policy; not part of the timing)

    def timed(username: str) -> tuple[str, float]:
        began = time.perf_counter()
        outcome = login(session_factory, username, "not it", policy=slow).outcome
        return outcome, time.perf_counter() - began

    known = [timed("lan") for _ in range(3)]
    unknown = [timed("nobody") for _ in range(3)]
    assert {o for o, _ in known} == {o for o, _ in unknown} == {WRONG}
    fastest_known = min(t for _, t in known)
    fastest_unknown = min(t for _, t in unknown)
    assert fastest_unknown > fastest_known / 3  # the hash is checked all the same


def test_a_deactivated_account_cannot_sign_in(session_factory: sessionmaker[Session]) -> None:
    add_staff(session_factory, "lan", OPERATOR, [KY_LUA])
    with session_factory.begin() as session:
        user = accounts.find_user(session=session, username="lan")
        assert user is not None
        accounts.set_active(session=session, user=user, active=False, now=START)
    assert login(session_factory, "lan", PASSWORD).outcome == accounts.INACTIVE
    assert login(session_factory, "lan", "wrong").outcome == WRONG


Opener = Callable[..., str]


@pytest.fixture
def open_one(session_factory: sessionmaker[Session]) -> Opener:
    """Sign ``lan`` in at START (+ ``minutes``); the browser's token."""
    add_staff(session_factory, "lan", OPERATOR, [KY_LUA])

    def open_(minutes: float = 0) -> str:
        with session_factory.begin() as session:
            user = accounts.find_user(session=session, username="lan")
            assert user is not None
            token, row = accounts.open_session(
                session=session,
                policy=CHEAP_POLICY,
                user=user,
                now=START + timedelta(minutes=minutes),
            )
            assert row.token_hash != token and len(row.csrf_token) >= 32
            return token

    return open_


def opens(factory: sessionmaker[Session], token: str, minutes: float) -> Staff | None:
    with factory.begin() as session:
        found = accounts.session_for(
            session=session,
            policy=CHEAP_POLICY,
            token=token,
            now=START + timedelta(minutes=minutes),
        )
        return found[0] if found else None


def test_a_session_opens_until_it_is_idle_too_long(
    session_factory: sessionmaker[Session], open_one: Opener
) -> None:
    token = open_one()
    staff = opens(session_factory, token, 119)
    assert staff is not None and (staff.username, staff.communes) == ("lan", frozenset({KY_LUA}))
    assert opens(session_factory, token, 119 + 119) is not None  # each use restarts the idle
    assert opens(session_factory, token, 238 + 120) is None


def test_last_seen_is_written_at_most_once_a_minute(
    session_factory: sessionmaker[Session], open_one: Opener
) -> None:
    token = open_one()
    assert opens(session_factory, token, 0.5) is not None
    with session_factory() as session:
        row = session.get(accounts.StaffSession, accounts.token_hash(token))
        assert row is not None and row.last_seen_at == START
    assert opens(session_factory, token, 1) is not None
    with session_factory() as session:
        row = session.get(accounts.StaffSession, accounts.token_hash(token))
        assert row is not None and row.last_seen_at == START + timedelta(minutes=1)


def test_a_session_ends_twelve_hours_after_sign_in_however_busy(
    session_factory: sessionmaker[Session], open_one: Opener
) -> None:
    token = open_one()
    for minutes in range(0, 12 * 60, 60):
        assert opens(session_factory, token, minutes) is not None
    assert opens(session_factory, token, 12 * 60) is None


def test_revoked_forged_and_inactive_sessions_open_nothing(
    session_factory: sessionmaker[Session], open_one: Opener
) -> None:
    token, other = open_one(), open_one()
    assert opens(session_factory, token + "x", 1) is None
    assert opens(session_factory, accounts.token_hash(token), 1) is None  # the stored hash
    assert opens(session_factory, "", 1) is None
    with session_factory.begin() as session:
        row = session.get(accounts.StaffSession, accounts.token_hash(token))
        assert row is not None
        accounts.revoke(session=session, row=row, now=START)
    assert opens(session_factory, token, 1) is None
    assert opens(session_factory, other, 1) is not None
    with session_factory.begin() as session:
        user = accounts.find_user(session=session, username="lan")
        assert user is not None
        accounts.set_active(session=session, user=user, active=False, now=START)
    assert opens(session_factory, other, 2) is None


def test_a_password_reset_ends_every_session_and_unlocks(
    session_factory: sessionmaker[Session], open_one: Opener
) -> None:
    token = open_one()
    for _ in range(5):
        login(session_factory, "lan", "wrong")
    with session_factory.begin() as session:
        user = accounts.find_user(session=session, username="lan")
        assert user is not None
        accounts.reset_password(
            session=session, policy=CHEAP_POLICY, user=user, password="another password", now=START
        )
    assert opens(session_factory, token, 1) is None
    assert login(session_factory, "lan", "another password").outcome == OK


@pytest.mark.parametrize(
    ("label", "changes", "field"),
    [
        ("username too short", {"username": "ab"}, "username"),
        ("username with a space", {"username": "le lan"}, "username"),
        ("unknown role", {"role": "boss"}, "role"),
        ("operator without commune", {"communes": []}, "communes"),
        ("unknown commune", {"communes": [999999]}, "communes"),
        ("short password", {"password": "short"}, "password"),
        ("display name too long", {"display_name": "x" * 81}, "display_name"),
    ],
)
def test_an_account_that_cannot_be_stored_names_its_field(
    session_factory: sessionmaker[Session], label: str, changes: dict[str, object], field: str
) -> None:
    fields: dict[str, object] = {
        "username": "lan",
        "display_name": "Lan",
        "role": OPERATOR,
        "password": PASSWORD,
        "communes": [KY_LUA],
    }
    with session_factory() as session, pytest.raises(accounts.InvalidAccount) as raised:
        accounts.add_user(session=session, policy=CHEAP_POLICY, now=START, **{**fields, **changes})  # type: ignore[arg-type]
    assert raised.value.field == field


def test_a_username_is_taken_once(session_factory: sessionmaker[Session]) -> None:
    add_staff(session_factory, "lan", SUPERVISOR)
    with pytest.raises(accounts.InvalidAccount) as raised:
        add_staff(session_factory, "LAN", SUPERVISOR)
    assert raised.value.field == "username"


OPERATOR_KY_LUA = Staff(1, "op", "Op", OPERATOR, frozenset({KY_LUA}))
SUPERVISOR_ANY = Staff(2, "sup", "Sup", SUPERVISOR, frozenset())
INSPECTOR_ANY = Staff(3, "ins", "Ins", INSPECTOR, frozenset({KY_LUA}))
ADMIN_ANY = Staff(4, "adm", "Adm", ADMIN, frozenset({KY_LUA}))
COMMS_ANY = Staff(7, "com", "Com", COMMUNICATIONS, frozenset())
BROADCAST_ACTIONS = (SET_LEVEL, DRAFT_BROADCAST, APPROVE_BROADCAST, VIEW_BROADCASTS)
Y, N = True, False
# role × action → (in own commune, in another commune)
PERMISSION_TABLE = [
    (OPERATOR_KY_LUA, VIEW_REQUEST, Y, N),
    (OPERATOR_KY_LUA, WORK_REQUEST, Y, N),
    (OPERATOR_KY_LUA, ASSIGN, N, N),
    (OPERATOR_KY_LUA, VIEW_REPORTS, N, N),
    (OPERATOR_KY_LUA, VIEW_FALSE_INFO, N, N),
    (OPERATOR_KY_LUA, HANDLE_FALSE_INFO, N, N),
    (OPERATOR_KY_LUA, MANAGE_USERS, N, N),
    (OPERATOR_KY_LUA, VIEW_AUDIT, N, N),
    (SUPERVISOR_ANY, VIEW_REQUEST, Y, Y),
    (SUPERVISOR_ANY, WORK_REQUEST, Y, Y),
    (SUPERVISOR_ANY, ASSIGN, Y, Y),
    (SUPERVISOR_ANY, VIEW_REPORTS, Y, Y),
    (SUPERVISOR_ANY, VIEW_FALSE_INFO, Y, Y),
    (SUPERVISOR_ANY, HANDLE_FALSE_INFO, N, N),
    (SUPERVISOR_ANY, MANAGE_USERS, N, N),
    (SUPERVISOR_ANY, VIEW_AUDIT, N, N),
    (INSPECTOR_ANY, VIEW_REQUEST, N, N),  # a commune listed on the account changes nothing
    (INSPECTOR_ANY, WORK_REQUEST, N, N),
    (INSPECTOR_ANY, ASSIGN, N, N),
    (INSPECTOR_ANY, VIEW_REPORTS, N, N),
    (INSPECTOR_ANY, VIEW_FALSE_INFO, Y, Y),
    (INSPECTOR_ANY, HANDLE_FALSE_INFO, Y, Y),
    (INSPECTOR_ANY, MANAGE_USERS, N, N),
    (INSPECTOR_ANY, VIEW_AUDIT, N, N),
    (ADMIN_ANY, VIEW_REQUEST, N, N),  # admins manage accounts, not citizens' data
    (ADMIN_ANY, WORK_REQUEST, N, N),
    (ADMIN_ANY, ASSIGN, N, N),
    (ADMIN_ANY, VIEW_REPORTS, N, N),
    (ADMIN_ANY, VIEW_FALSE_INFO, N, N),
    (ADMIN_ANY, HANDLE_FALSE_INFO, N, N),
    (ADMIN_ANY, MANAGE_USERS, Y, Y),
    (ADMIN_ANY, VIEW_AUDIT, Y, Y),
    # Levels and broadcasts: the communications office's, province-wide; supervisors watch.
    *[(s, a, N, N) for s in (OPERATOR_KY_LUA, INSPECTOR_ANY, ADMIN_ANY) for a in BROADCAST_ACTIONS],
    (SUPERVISOR_ANY, SET_LEVEL, N, N),
    (SUPERVISOR_ANY, DRAFT_BROADCAST, N, N),
    (SUPERVISOR_ANY, APPROVE_BROADCAST, N, N),
    (SUPERVISOR_ANY, VIEW_BROADCASTS, Y, Y),
    *[(COMMS_ANY, a, Y, Y) for a in BROADCAST_ACTIONS],
    *[
        (COMMS_ANY, a, N, N)
        for a in (VIEW_REQUEST, WORK_REQUEST, ASSIGN, VIEW_REPORTS, VIEW_FALSE_INFO)
    ],
    *[(COMMS_ANY, a, N, N) for a in (HANDLE_FALSE_INFO, MANAGE_USERS, VIEW_AUDIT)],
    # The questions Loa could not answer: those who write answers and check claims.
    (OPERATOR_KY_LUA, VIEW_QUESTIONS, N, N),
    (SUPERVISOR_ANY, VIEW_QUESTIONS, Y, Y),
    (INSPECTOR_ANY, VIEW_QUESTIONS, Y, Y),
    (ADMIN_ANY, VIEW_QUESTIONS, N, N),
    (COMMS_ANY, VIEW_QUESTIONS, Y, Y),
]


@pytest.mark.parametrize(
    ("staff", "action", "own", "other"),
    PERMISSION_TABLE,
    ids=[f"{s.role}-{a}" for s, a, _, _ in PERMISSION_TABLE],
)
def test_permission_table(staff: Staff, action: str, own: bool, other: bool) -> None:
    assert may(staff, action, KY_LUA) is own
    assert may(staff, action, TAM_THANH) is other
    assert may(staff, action) is (own or other)  # "anywhere at all", for menus


def test_the_permission_table_covers_every_role_and_action() -> None:
    covered = {(s.role, a) for s, a, _, _ in PERMISSION_TABLE}
    roles = (OPERATOR, SUPERVISOR, INSPECTOR, ADMIN, COMMUNICATIONS)
    assert covered == {(r, a) for r in roles for a in ACTIONS}


def test_an_operator_without_communes_and_an_unknown_role_may_do_nothing() -> None:
    nowhere = Staff(5, "x", "X", OPERATOR, frozenset())
    stranger = Staff(6, "y", "Y", "visitor", frozenset({KY_LUA}))
    for action in ACTIONS:
        assert not may(nowhere, action) and not may(stranger, action, KY_LUA)


def test_audit_entries_keep_who_did_what(session_factory: sessionmaker[Session]) -> None:
    staff_id = add_staff(session_factory, "lan", ADMIN)
    with session_factory.begin() as session:
        user = session.get(StaffUser, staff_id)
        accounts.audit(
            session=session,
            staff=user,
            action="user_add",
            target_kind="staff_user",
            target_id=7,
            detail={"role": "operator"},
            now=START,
        )
        accounts.audit(
            session=session,
            staff=None,
            actor="ghost",
            action="login_wrong",
            target_kind="session",
            now=START + timedelta(seconds=1),
        )
    with session_factory() as session:
        entries, total = accounts.audit_page(session=session, page=1)
        assert total == 2
        assert [(e.actor, e.staff_id, e.action, e.target_id, e.detail) for e in entries] == [
            ("ghost", None, "login_wrong", "", {}),
            ("lan", staff_id, "user_add", "7", {"role": "operator"}),
        ]
        assert session.scalars(select(AuditEntry.at)).all()[0] == START
