"""Setting an area's level: validation, the history and what the bot answers, the draft it
makes, two officers at once, and a second scheme configured as data. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import broadcasts, levels, schemes
from bot.alerts.broadcasts import BroadcastError, Conflict
from bot.content import files, store
from bot.content.areas import from_key
from bot.storage.alerts import DRAFT, LEVEL_CHANGE
from bot.storage.content import AreaLevel
from bot.storage.schemes import LevelHead
from bot.storage.staff import AuditEntry
from tests.alerts.rig import (
    HUU_LUNG,
    KY_LUA,
    LANG_SON,
    NOW,
    TAM_THANH,
    load_demo,
    officers,
    settings,
)

DATABASES = ("sqlite", "postgresql")
COLOURS = files.DEMO.parent / "scheme-colours.yml"


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    load_demo(session_factory)
    return session_factory


def _set(session: Session, officer: Any, **kw: Any) -> Any:
    args = {
        "area": LANG_SON,
        "level": 3,
        "decision": "125/QĐ-UBND",
        "effective_at": NOW + timedelta(hours=1),
        "now": NOW,
        "cfg": settings(),
    } | kw
    return levels.set_level(session=session, officer=officer, **args)


def _level_at(session: Session, key: str, at: Any) -> int | None:
    rows = store.levels(session=session, area=from_key(key), at=at)
    return rows[0].level.level if rows[0].level else None


def test_a_level_change_ends_the_row_in_force_and_makes_its_draft(
    db: sessionmaker[Session],
) -> None:
    staff = officers(db)
    effective = NOW + timedelta(hours=1)
    with db.begin() as session:
        before = levels.history(session=session, area=LANG_SON)
        assert before[0].valid_until is None and before[0].level == 2
        row, draft = _set(session, staff["lan"], effective_at=effective)
    with db() as session:
        history = levels.history(session=session, area=LANG_SON)
        assert [h.id for h in history[:2]] == [row.id, before[0].id]
        assert history[1].valid_until == effective and history[0].valid_until is None
        # The bot answers the old level until the decision takes effect, the new one after.
        assert _level_at(session, "p:20", NOW) == 2
        assert _level_at(session, "p:20", effective) == 3
        # A commune with its own level keeps it; one without follows the province.
        assert _level_at(session, "c:5986", effective) == 3  # Tam Thanh: its own 3
        assert _level_at(session, "c:6187", effective) == 3  # Kỳ Lừa: the province's
        saved = broadcasts.get(session=session, broadcast_id=draft.id)
        assert (saved.kind, saved.status, saved.urgent, saved.level) == (
            LEVEL_CHANGE,
            DRAFT,
            True,
            3,
        )
        assert (
            saved.template
            == schemes.level(session=session, scheme="tinh-huong-2020", number=3).template
        )  # type: ignore[union-attr]
        text = broadcasts.preview(session=session, broadcast_id=draft.id, now=NOW).text
        for expected in (
            "Tỉnh Lạng Sơn",
            "tình huống 3",
            "Dịch lây lan trong cộng đồng",
            "125/QĐ-UBND",
            "11:00 01/12/2026",
            "115",
        ):
            assert expected in text
        actions = set(session.scalars(select(AuditEntry.action)))
        assert {"level_set", "broadcast_draft"} <= actions


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AreaLevel)) or 0


BAD = [
    ("level outside the scheme", {"level": 6}, "level"),
    ("level zero", {"level": 0}, "level"),
    ("unknown commune", {"area": broadcasts.AreaCode(20, 999_999)}, "areas"),
    ("commune of another province", {"area": broadcasts.AreaCode(79, 6187)}, "areas"),
    ("unknown province", {"area": broadcasts.AreaCode(99)}, "areas"),
    ("no decision", {"decision": "   "}, "decision"),
    ("decision too long", {"decision": "Q" * 81}, "decision"),
    (
        "more than a day back",
        {"effective_at": NOW - timedelta(hours=24, minutes=1)},
        "effective_at",
    ),
    (
        "more than 90 days ahead",
        {"effective_at": NOW + timedelta(days=90, minutes=1)},
        "effective_at",
    ),
    (
        "before the row in force",
        {"effective_at": NOW - timedelta(hours=1), "area": TAM_THANH, "decision": "x"},
        None,
    ),
]


@pytest.mark.parametrize(("label", "change", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_level_changes_are_refused_and_write_nothing(
    db: sessionmaker[Session], label: str, change: dict[str, Any], field: str | None
) -> None:
    staff = officers(db)
    if field is None:  # a change dated before one already recorded for the area
        with db.begin() as session:
            _set(session, staff["lan"], area=TAM_THANH, effective_at=NOW)
        field = "effective_at"
    with db() as session:
        rows = _count(session)
    with db() as session, pytest.raises(BroadcastError) as refused:
        _set(session, staff["lan"], **change)
    assert refused.value.field == field
    assert refused.value.message_vi and "Traceback" not in refused.value.message_vi
    with db() as session:
        assert _count(session) == rows


def test_limits_of_the_effective_time_are_inclusive(db: sessionmaker[Session]) -> None:
    staff = officers(db)
    with db.begin() as session:
        _set(session, staff["lan"], area=KY_LUA, effective_at=NOW - timedelta(hours=24))
        _set(session, staff["lan"], area=HUU_LUNG, effective_at=NOW + timedelta(days=90))


def test_an_operator_may_not_set_levels(db: sessionmaker[Session]) -> None:
    staff = officers(db)
    with db() as session, pytest.raises(BroadcastError) as refused:
        _set(session, staff["op"])
    assert refused.value.field == "officer"


def _open_rows(session: Session, area: Any) -> int:
    return sum(1 for row in levels.history(session=session, area=area) if row.valid_until is None)


def test_two_officers_changing_one_area_at_once_one_wins(db: sessionmaker[Session]) -> None:
    """Minh's session read the area's head before Lan's change was committed: his change is a
    conflict, and the history has one row in force."""
    staff = officers(db)
    with db.begin() as session:
        _set(session, staff["lan"], area=KY_LUA, level=1, effective_at=NOW)
    minh = db()
    seen = minh.get(LevelHead, KY_LUA.key)  # his change has read the area's head…
    assert seen is not None and seen.version == 1
    with db.begin() as lan:  # …when Lan's change is committed
        _set(
            lan,
            staff["lan"],
            area=KY_LUA,
            level=2,
            decision="A",
            effective_at=NOW + timedelta(hours=1),
        )
    with pytest.raises(Conflict) as lost:
        _set(
            minh,
            staff["minh"],
            area=KY_LUA,
            level=3,
            decision="B",
            effective_at=NOW + timedelta(hours=2),
        )
    assert lost.value.field == "version" and "cán bộ khác" in lost.value.message_vi
    minh.rollback()
    minh.close()
    with db() as session:
        history = levels.history(session=session, area=KY_LUA)
        assert [(h.level, h.decision) for h in history] == [(2, "A"), (1, "125/QĐ-UBND")]
        assert _open_rows(session, KY_LUA) == 1


def test_two_threads_setting_one_area_leave_one_line_of_history(
    db: sessionmaker[Session],
) -> None:
    staff = officers(db)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def change(officer: str, level: int) -> None:
        barrier.wait()
        try:
            with db.begin() as session:
                _set(session, staff[officer], area=HUU_LUNG, level=level, decision=officer)
            outcomes.append("won")
        except BroadcastError as exc:
            outcomes.append(exc.field)

    threads = [threading.Thread(target=change, args=args) for args in (("lan", 3), ("minh", 4))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes)[-1] == "won" and outcomes.count("won") == 1, outcomes
    assert set(outcomes) - {"won"} <= {"version", "effective_at"}
    with db() as session:
        assert _open_rows(session, HUU_LUNG) == 1
        newest = levels.history(session=session, area=HUU_LUNG)[0]
        assert newest.level in (3, 4) and newest.valid_until is None


def test_a_second_scheme_is_configured_as_data(db: sessionmaker[Session]) -> None:
    staff = officers(db)
    with db.begin() as session:
        files.load(files.read_file(COLOURS), session=session, prefer_province="Lạng Sơn")
    colours = settings(alert_scheme="bon-mau")
    with db.begin() as session:
        row, draft = _set(session, staff["lan"], area=KY_LUA, level=4, cfg=colours)
        assert row.scheme == "bon-mau"
        with pytest.raises(BroadcastError) as refused:
            _set(session, staff["lan"], area=HUU_LUNG, level=5, cfg=colours)
        assert refused.value.field == "level" and "1, 2, 3, 4" in refused.value.message_vi
    with db() as session:
        assert schemes.describe(session=session, row=row)[0] == "Đỏ – nguy cơ rất cao"
        found = schemes.levels(session=session, scheme="bon-mau")
        assert [(n, lv.cadence, lv.per_week, lv.urgent) for n, lv in found.items()] == [
            (1, "weekly", 1, False),
            (2, "weekly", 2, False),
            (3, "realtime", None, True),
            (4, "realtime", None, True),
        ]
        text = broadcasts.preview(session=session, broadcast_id=draft.id, now=NOW).text
        assert text.startswith("🔴 KHẨN – Phường Kỳ Lừa") and "Đỏ – nguy cơ rất cao" in text
        seed = schemes.levels(session=session, scheme="tinh-huong-2020")
        assert [(n, lv.per_week) for n, lv in seed.items() if lv.weekly] == [(1, 1), (2, 2)]
        assert [n for n, lv in seed.items() if lv.realtime] == [3, 4]
        assert seed[5].cadence == "none" and seed[1].name == "Chưa có ca bệnh trong tỉnh"


def _scheme_file(**level: Any) -> dict[str, Any]:
    one = {
        "level": 1,
        "name": "Xanh",
        "meaning": "m",
        "cadence": "weekly",
        "per_week": 1,
        "template": "{khu_vuc}",
    } | level
    return {
        "version": "1",
        "alert_schemes": [
            {
                "key": "thu",
                "name": "Thử",
                "zone_template": "{ten_vung}",
                "zone_lifted_template": "{ten_vung}",
                "levels": [one],
            }
        ],
    }


@pytest.mark.parametrize(
    ("label", "change", "expected"),
    [
        ("weekly without per_week", {"per_week": None}, "per_week"),
        ("realtime with per_week", {"cadence": "realtime"}, "per_week"),
        ("unknown placeholder", {"template": "Cấp {cap_do} ở {noi_o}"}, "{noi_o}"),
        ("unbalanced braces", {"template": "Cấp {cap_do"}, "ngoặc nhọn"),
        ("no name and no situation", {"level": 9, "name": None}, "thiếu name"),
        ("unknown cadence", {"cadence": "daily"}, "weekly"),
    ],
)
def test_a_scheme_file_with_a_mistake_is_refused_whole(
    db: sessionmaker[Session], label: str, change: dict[str, Any], expected: str
) -> None:
    raw = _scheme_file(**change)
    raw["alert_schemes"][0]["levels"][0] = {
        k: v for k, v in raw["alert_schemes"][0]["levels"][0].items() if v is not None
    }
    with db() as session, pytest.raises(files.ContentError) as refused:
        files.load(raw, session=session, prefer_province="Lạng Sơn")
    assert expected in str(refused.value)


def test_imported_levels_are_checked_against_their_scheme(db: sessionmaker[Session]) -> None:
    def level(scheme: str, number: int) -> dict[str, Any]:
        return {
            "version": "1",
            "alert_levels": [
                {
                    "key": "x",
                    "area": "Phường Kỳ Lừa, Tỉnh Lạng Sơn",
                    "scheme": scheme,
                    "level": number,
                    "decision": "d",
                    "source": "demo",
                    "effective_from": "2026-12-01",
                }
            ],
        }

    with db.begin() as session:
        files.load(files.read_file(COLOURS), session=session, prefer_province="Lạng Sơn")
    for raw, problem in ((level("bon-mau", 5), "cấp 5"), (level("khong-co", 1), "khong-co")):
        with db() as session, pytest.raises(files.ContentError) as refused:
            files.load(raw, session=session, prefer_province="Lạng Sơn")
        assert problem in str(refused.value)
    with db.begin() as session:
        files.load(level("bon-mau", 4), session=session, prefer_province="Lạng Sơn")
        files.load(level("tinh-huong-2020", 5), session=session, prefer_province="Lạng Sơn")
