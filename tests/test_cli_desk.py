"""``loa desk add-user | reset-password | list-users`` on a temporary database, and the demo
accounts ``loa run`` makes: only in an empty embedded database, never with DATABASE_URL set."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import settings as settings_module
from bot.cli import main
from bot.cli.desk import demo_staff_if_empty, print_demo_accounts
from bot.clock import utcnow
from bot.helpdesk import staff as accounts
from bot.storage.engine import sessions
from bot.storage.migrate import upgrade
from bot.storage.staff import AuditEntry, StaffSession
from tests.desk_rig import CHEAP, KY_LUA

PASSWORD = "a long enough password"


def clean_environment(monkeypatch: pytest.MonkeyPatch, var: Path) -> None:
    """Every setting at its default (not this shell's), cheap hashes, data under ``var``."""
    for spec in fields(settings_module.Settings):
        if name := spec.metadata.get("env"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOA_VAR_DIR", str(var))
    for name, value in CHEAP.items():
        monkeypatch.setenv(name.upper(), str(value))


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    clean_environment(monkeypatch, tmp_path / "var")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@pytest.fixture
def typed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What the person types at the password prompts, in order."""
    answers: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": answers.pop(0))
    yield answers
    assert answers == []  # every prompt was asked


def sign_in(url: str, username: str, password: str) -> str:
    cfg = settings_module.load()
    with sessions(url).begin() as session:
        return accounts.authenticate(
            session=session,
            policy=accounts.Policy.from_settings(cfg),
            username=username,
            password=password,
            now=utcnow(),
        ).outcome


def test_add_user_asks_the_password_twice(
    db: str, typed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    typed += [PASSWORD, PASSWORD]
    code = main(["desk", "add-user", "Lan", "--role", "operator", "--commune", str(KY_LUA)])
    assert code == 0
    assert "Added lan (operator)." in capsys.readouterr().out
    assert sign_in(db, "lan", PASSWORD) == accounts.OK
    assert main(["desk", "list-users"]) == 0
    listed = capsys.readouterr().out
    assert "lan" in listed and "operator" in listed and "Phường Kỳ Lừa (6187)" in listed
    with sessions(db)() as session:
        entry = session.scalars(select(AuditEntry)).one()
        assert (entry.actor, entry.action) == ("cli", "user_add")


def test_the_first_admin_from_stdin(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["desk", "add-user", "root", "--role", "admin", "--password-stdin"]) == 0
    assert sign_in(db, "root", PASSWORD) == accounts.OK
    assert "/desk" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("label", "argv", "typed_in", "message"),
    [
        ("passwords differ", ["--role", "admin"], [PASSWORD, PASSWORD + "!"], "differ"),
        ("password too short", ["--role", "admin"], ["short", "short"], "at least 10"),
        ("operator without commune", ["--role", "operator"], [PASSWORD] * 2, "communes"),
        ("unknown commune", ["--role", "operator", "--commune", "1"], [PASSWORD] * 2, "code 1"),
    ],
)
def test_add_user_refuses_clearly_and_stores_nothing(
    db: str,
    typed: list[str],
    capsys: pytest.CaptureFixture[str],
    label: str,
    argv: list[str],
    typed_in: list[str],
    message: str,
) -> None:
    typed += typed_in
    assert main(["desk", "add-user", "lan", *argv]) == 2
    assert message in capsys.readouterr().err
    assert main(["desk", "list-users"]) == 0
    assert "No staff accounts yet" in capsys.readouterr().out


def test_an_unknown_role_is_an_argument_error(db: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["desk", "add-user", "lan", "--role", "boss"])
    assert exited.value.code == 2


def test_reset_password_unlocks_and_ends_the_sessions(
    db: str, typed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    typed += [PASSWORD, PASSWORD]
    main(["desk", "add-user", "lan", "--role", "supervisor"])
    for _ in range(5):
        sign_in(db, "lan", "wrong")
    assert sign_in(db, "lan", PASSWORD) == accounts.LOCKED
    with sessions(db).begin() as session:
        user = accounts.find_user(session=session, username="lan")
        assert user is not None
        token, _ = accounts.open_session(
            session=session, policy=accounts.Policy(), user=user, now=utcnow()
        )
    typed += ["another password", "another password"]
    assert main(["desk", "reset-password", "LAN"]) == 0
    assert "sessions were ended" in capsys.readouterr().out
    assert sign_in(db, "lan", "another password") == accounts.OK
    with sessions(db)() as session:
        row = session.get(StaffSession, accounts.token_hash(token))
        assert row is not None and row.revoked_at is not None


def test_reset_password_of_nobody(
    db: str, typed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    typed += [PASSWORD, PASSWORD]
    assert main(["desk", "reset-password", "nobody"]) == 2
    assert "No staff account is called 'nobody'" in capsys.readouterr().err


def test_add_user_makes_a_communications_officer(
    db: str, typed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    typed += [PASSWORD, PASSWORD]
    assert main(["desk", "add-user", "hoa", "--role", "communications", "--name", "Hòa"]) == 0
    assert "Added hoa (communications)." in capsys.readouterr().out
    assert sign_in(db, "hoa", PASSWORD) == accounts.OK
    with sessions(db)() as session:
        (user,) = accounts.list_users(session=session)
        assert (user.role, user.display_name) == ("communications", "Hòa")
        assert user.communes == frozenset()


def test_demo_accounts_in_an_empty_embedded_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_environment(monkeypatch, tmp_path / "var")  # DATABASE_URL unset: var/loa.db
    cfg = settings_module.load()
    assert cfg.embedded_database
    upgrade(cfg.database_url)
    demo = demo_staff_if_empty(cfg)
    assert [(a.username, a.role, a.communes) for a in demo] == [
        ("demo-supervisor", "supervisor", ()),
        ("demo-operator", "operator", (6187, 5986)),
        ("demo-communications", "communications", ()),  # two: a broadcast needs a second
        ("demo-communications-2", "communications", ()),  # officer to approve it
    ]
    assert len({a.password for a in demo}) == 4
    for account in demo:
        assert sign_in(cfg.database_url, account.username, account.password) == accounts.OK
    print_demo_accounts(cfg, demo)
    shown = capsys.readouterr().out
    assert "http://127.0.0.1:8000/desk" in shown
    assert all(a.password in shown for a in demo)
    assert "Phường Kỳ Lừa, Phường Tam Thanh" in shown
    assert demo_staff_if_empty(cfg) == []  # not twice


def test_no_demo_accounts_where_staff_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, typed: list[str]
) -> None:
    clean_environment(monkeypatch, tmp_path / "var")
    typed += [PASSWORD, PASSWORD]
    assert main(["desk", "add-user", "root", "--role", "admin"]) == 0
    assert demo_staff_if_empty(settings_module.load()) == []


def test_never_demo_accounts_when_database_url_is_set(db: str) -> None:
    """A DATABASE_URL names a real deployment's database: even empty, even SQLite."""
    cfg = settings_module.load()
    assert not cfg.embedded_database
    upgrade(db)
    assert demo_staff_if_empty(cfg) == []
    with sessions(db)() as session:
        assert accounts.list_users(session=session) == []
