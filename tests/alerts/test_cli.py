"""``loa level set|history`` and ``loa broadcast list|show|approve|status``: what an officer
types and reads, and one clear line with exit code 2 for every refusal. SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot import settings as settings_module
from bot.alerts import audience, broadcasts
from bot.cli import main
from bot.clock import VIETNAM, utcnow
from bot.helpdesk.staff import Staff
from bot.storage.alerts import PENDING, SENT, Broadcast, Delivery
from bot.storage.staff import StaffUser
from tests.alerts.rig import KY_LUA, LANG_SON, load_demo, officers, subscribers

DATABASES = ("sqlite", "postgresql")


@pytest.fixture
def db(
    session_factory: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> sessionmaker[Session]:
    for spec in fields(settings_module.Settings):
        if name := spec.metadata.get("env"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOA_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    load_demo(session_factory)
    officers(session_factory)
    subscribers(session_factory, KY_LUA, 3, seen=utcnow() - timedelta(days=1))
    subscribers(session_factory, LANG_SON, 2, channel="zalo_oa", seen=utcnow() - timedelta(days=9))
    return session_factory


def soon(hours: float = 1) -> str:
    return (utcnow() + timedelta(hours=hours)).astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M")


def loa(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_set_a_level_then_approve_and_follow_it(
    db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = loa(
        capsys,
        "level",
        "set",
        "--area",
        "Lạng Sơn",
        "--level",
        "3",
        "--decision",
        "125/QĐ-UBND",
        "--effective",
        soon(),
        "--as",
        "lan",
    )
    assert (code, err) == (0, "")
    assert "Level 3 (Dịch lây lan trong cộng đồng) set for Tỉnh Lạng Sơn" in out
    assert "Recipients: 5 (telegram 3, zalo_oa 2); cannot be reached now: 2" in out
    assert "  Phường Kỳ Lừa: 3" in out and "  whole province: 2" in out
    assert "| 🚨 KHẨN – Tỉnh Lạng Sơn:" in out
    with db() as session:
        draft = session.query(Broadcast).one()
    assert f"Draft broadcast #{draft.id}" in out

    code, out, _ = loa(capsys, "level", "history", "--area", "p:20")
    assert code == 0 and "Tỉnh Lạng Sơn: 3 level(s) set" in out and "3 – Dịch lây lan" in out

    code, _, err = loa(capsys, "broadcast", "approve", str(draft.id), "--as", "lan")
    assert (
        code == 2
        and err.strip()
        == "Bạn là người soạn thông báo này; cần một cán bộ khác duyệt (nguyên tắc bốn mắt)."
    )
    code, out, _ = loa(capsys, "broadcast", "approve", str(draft.id), "--as", "minh")
    assert code == 0 and "approved" in out
    code, _, err = loa(capsys, "broadcast", "approve", str(draft.id), "--as", "minh")
    assert code == 2 and "đã được duyệt rồi" in err and "\n" not in err.strip()

    code, out, _ = loa(capsys, "broadcast", "list", "--status", "approved")
    assert code == 0 and f"#{draft.id}" in out and "urgent" in out

    with db.begin() as session:  # the worker's part, done by hand: 3 sent, 2 waiting
        session.get(Broadcast, draft.id).audience_ready_at = utcnow()  # type: ignore[union-attr]
        for n, person in enumerate(sorted(p for p in _people(session))):
            session.add(
                Delivery(
                    broadcast_id=draft.id,
                    person_id=person,
                    created_at=utcnow(),
                    status=SENT if n < 3 else PENDING,
                    sent_at=utcnow() if n < 3 else None,
                )
            )
    code, out, _ = loa(capsys, "broadcast", "status", str(draft.id))
    assert code == 0
    assert "3/5 sent · failed 0 · pending 2 · unreachable 0 · 0.1/s · 40 s left" in out
    assert "█" * 24 + "░" * 16 in out
    with db.begin() as session:
        for row in session.query(Delivery).filter(Delivery.status == PENDING):
            row.status, row.sent_at = SENT, utcnow()
    code, out, _ = loa(capsys, "broadcast", "status", str(draft.id), "--watch")
    assert code == 0 and out.count("\n") == 1 and "5/5 sent" in out and "0 s left" in out

    code, out, _ = loa(capsys, "broadcast", "show", str(draft.id))
    assert code == 0 and "level_change, approved" in out and "5/5 sent" in out


def officers_by_name(db: sessionmaker[Session]) -> dict[str, Staff]:
    """The fixture's officers, as the API takes them."""
    with db() as session:
        users = session.query(StaffUser).all()
        return {user.username: Staff.of(user) for user in users}


def _people(session: Session) -> list[int]:
    from bot.storage.alerts import Subscription

    return list({s.person_id for s in session.query(Subscription)})


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--area", "Chi Lăng"], "có thể là"),  # ambiguous
        (["--area", "Xứ Sở Thần Tiên"], "không tìm thấy địa bàn"),
        (["--area", "toàn quốc"], "not the whole country"),
        (["--level", "9"], "Cấp độ 9 không có trong thang cấp độ"),
        (["--effective", "2020-01-01 08:00"], "đã qua quá 24 giờ"),
        (["--effective", "mai"], "YYYY-MM-DD HH:MM"),
        (["--decision", ""], "số quyết định"),
        (["--as", "nobody"], "No active staff account"),
        (["--as", "hoa"], "không có quyền"),
    ],
)
def test_a_refused_level_change_is_one_line_and_exit_code_2(
    db: sessionmaker[Session], capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    args = {
        "--area": "Kỳ Lừa",
        "--level": "2",
        "--decision": "1/QĐ",
        "--effective": soon(),
        "--as": "lan",
    } | dict(zip(argv[::2], argv[1::2], strict=True))
    code, out, err = loa(capsys, "level", "set", *[x for kv in args.items() for x in kv])
    assert code == 2 and out == ""
    assert said in err and err.count("\n") == 1 and "Traceback" not in err


def test_unknown_broadcast(db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["show", "999"], ["status", "999"], ["approve", "999", "--as", "minh"]):
        code, _, err = loa(capsys, "broadcast", *argv)
        assert code == 2 and err.strip() == "Không tìm thấy thông báo số 999."


def test_watch_refreshes_until_every_delivery_is_final(
    db: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    """A real ``loa`` process: its first frame shows the rows still pending; once they are
    sent it prints the last frame and exits by itself."""
    staff = officers_by_name(db)
    with db.begin() as session:
        draft = broadcasts.draft_one_off(
            session=session,
            officer=staff["lan"],
            areas=[KY_LUA],
            title="t",
            template="{khu_vuc}",
            urgent=False,
            now=utcnow(),
        )
        broadcasts.approve(
            session=session,
            officer=staff["minh"],
            broadcast_id=draft.id,
            version=draft.version,
            now=utcnow(),
        )
        audience.materialize(session=session, broadcast=draft, now=utcnow())
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOA_VAR_DIR": str(tmp_path / "var"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    argv = [
        sys.executable,
        "-m",
        "bot.cli",
        "broadcast",
        "status",
        str(draft.id),
        "--watch",
        "--interval",
        "0.1",
    ]
    with subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True) as watching:
        assert watching.stdout is not None
        first = watching.stdout.readline()
        assert "0/3 sent" in first and "pending 3" in first
        with db.begin() as session:
            for row in session.query(Delivery).filter(Delivery.broadcast_id == draft.id):
                row.status, row.sent_at = SENT, utcnow()
        rest = watching.stdout.read()
        assert watching.wait(timeout=60) == 0
    assert rest.splitlines()[-1].startswith(f"#{draft.id} approved: [{'█' * 40}] 3/3 sent")


def test_a_zone_set_up_or_lifted_by_an_import_gets_a_draft_to_approve(
    db: sessionmaker[Session], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A new lockdown zone in `loa content import` makes an urgent draft for its commune, its
    lifting a second one; importing the same file again, or a zone already lifted, makes none."""

    def zone(status: str, ends: str | None, *, key: str = "ky-lua-to-9") -> str:
        end = f"\n    ends_at: {ends}" if ends else ""
        return f"""version: "1"
zones:
  - key: {key}
    area: "Phường Kỳ Lừa, Tỉnh Lạng Sơn"
    name: "Tổ dân phố 9"
    kind: hamlet
    status: {status}
    starts_at: 2026-11-28{end}
    decision: "12/QĐ-UBND"
    source: demo
"""

    def imported(body: str) -> tuple[str, list[tuple[str, str, bool, int | None]]]:
        path = tmp_path / "zones.yml"
        path.write_text(body, encoding="utf-8")
        code, out, err = loa(capsys, "content", "import", str(path))
        assert code == 0, err
        with db() as session:
            rows = session.query(Broadcast).filter(Broadcast.kind == "zone_change").all()
            return out, [(r.status, r.title, r.urgent, r.zone_id) for r in rows]

    out, drafts = imported(zone("active", None))
    assert "thông báo nháp số" in out and "Tổ dân phố 9" in out, out
    assert [(s, u) for s, _, u, _ in drafts] == [("draft", True)]
    again, same = imported(zone("active", None))
    assert same == drafts and "nháp" not in again  # nothing changed: no second draft
    _, lifted = imported(zone("lifted", "2026-11-30"))
    assert [(s, u) for s, _, u, _ in lifted] == [("draft", True), ("draft", False)]
    assert lifted[0][3] == lifted[1][3]  # the same zone
    _, old = imported(zone("lifted", "2026-11-30", key="ky-lua-to-10"))
    assert old == lifted  # imported already lifted: no news to announce
