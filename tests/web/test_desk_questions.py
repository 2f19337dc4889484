"""The content team's to-do list on the desk (/desk/questions) over real HTTP: who reaches it,
the questions Loa could not answer grouped with their counts, the entries rated down, what a
question says shown as text (never as markup), each view in the audit log, a bad window
refused, and an empty list said plainly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.questions import DOWN, UNKNOWN, UP, record
from bot.storage.staff import ADMIN, COMMUNICATIONS, INSPECTOR, OPERATOR, SUPERVISOR, AuditEntry
from bot.web.app import create_app
from bot.web.desk import questions
from testkit.fakes.server import serve
from tests.desk_rig import (
    KY_LUA,
    START,
    Clock,
    add_staff,
    browser_as,
    desk_settings,
    signed_in_browser,
)

DATABASES = ("sqlite", "postgresql")
ROW = re.compile(r"<tr>\s*<td data-label=\"Số lần hỏi\"><strong>(\d+)</strong></td>\s*"
                 r"<td data-label=\"Câu hỏi gần nhất\">([^<]*)</td>")  # fmt: skip


def ask(
    factory: sessionmaker[Session],
    text: str,
    outcome: str,
    minutes_ago: float,
    entry_key: str | None = None,
) -> None:
    """A question recorded ``minutes_ago`` before the desk's clock, as the action server does."""
    with factory.begin() as session:
        at = START - timedelta(minutes=minutes_ago)
        record(text, outcome, at=at, entry_key=entry_key, session=session)


@pytest.fixture
def desk(database_url: str, session_factory: sessionmaker[Session]) -> Iterator[str]:
    """The app with an account of each role; each test records its own questions."""
    add_staff(session_factory, "op1", OPERATOR, [KY_LUA])
    add_staff(session_factory, "sup", SUPERVISOR)
    add_staff(session_factory, "ins", INSPECTOR)
    add_staff(session_factory, "adm", ADMIN)
    add_staff(session_factory, "com", COMMUNICATIONS)
    with serve(create_app(desk_settings(database_url), now=Clock())) as url:
        yield url


@pytest.mark.parametrize(
    ("username", "expected"),
    [(None, 303), ("op1", 403), ("adm", 403), ("sup", 200), ("ins", 200), ("com", 200)],
)
def test_those_who_write_answers_and_check_claims_reach_the_list(
    desk: str, username: str | None, expected: int
) -> None:
    with browser_as(desk, username) as browser:
        page = browser.get("/desk/questions")
        home = browser.get("/desk")
    assert page.status_code == expected
    assert ('href="/desk/questions"' in home.text) is (expected == 200)  # in the menu or not


def test_alike_questions_are_one_group_largest_first_with_what_was_rated_down(
    desk: str, session_factory: sessionmaker[Session]
) -> None:
    ask(session_factory, "chó mèo có lây covid không", UNKNOWN, 60 * 24 * 3)
    ask(session_factory, "cho meo co lay covid ko", UNKNOWN, 60 * 5)
    ask(session_factory, "chó mèo có lây covid sang người không", DOWN, 30, "pets-covid")
    ask(session_factory, "vé tàu về quê bao nhiêu tiền", UNKNOWN, 20)
    ask(session_factory, "F0 cách ly mấy ngày", UP, 10, "f0-days")  # worked: not listed
    ask(session_factory, "trạm y tế xã mở cửa mấy giờ", UNKNOWN, 60 * 24 * 40)  # too old
    with signed_in_browser(desk, "sup") as browser:
        page = browser.get("/desk/questions?days=30")
    assert page.status_code == 200
    assert ROW.findall(page.text) == [
        ("3", "chó mèo có lây covid sang người không"),  # the latest wording leads its group
        ("1", "vé tàu về quê bao nhiêu tiền"),
    ]
    assert "cho meo co lay covid ko" in page.text and "<code>pets-covid</code> ×1" in page.text
    assert "F0 cách ly mấy ngày" not in page.text and "trạm y tế" not in page.text
    assert "2 nhóm, 4 câu hỏi" in page.text
    with signed_in_browser(desk, "ins") as browser:
        longer = browser.get("/desk/questions?days=90")
    assert "trạm y tế xã mở cửa mấy giờ" in longer.text and "3 nhóm, 5 câu hỏi" in longer.text


def test_a_question_is_shown_as_text_and_its_phone_number_masked(
    desk: str, session_factory: sessionmaker[Session]
) -> None:
    ask(session_factory, '<script>alert("x")</script> gọi 0912 345 678 giúp', UNKNOWN, 5)
    with signed_in_browser(desk, "com") as browser:
        page = browser.get("/desk/questions")
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    assert "0912" not in page.text and "345 678" not in page.text


def test_each_view_is_in_the_audit_log(desk: str, session_factory: sessionmaker[Session]) -> None:
    with signed_in_browser(desk, "ins") as browser:
        assert browser.get("/desk/questions?days=7").status_code == 200
        assert browser.get("/desk/questions?days=8").status_code == 400  # refused: not logged
    with session_factory() as session:
        views = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "questions_view")
        ).all()
    assert [(v.detail, v.target_kind) for v in views] == [({"days": 7}, "asked_questions")]


@pytest.mark.parametrize("days", ["8", "0", "-1", "abc", "9" * 20, ""])
def test_a_bad_window_is_refused_with_a_way_back(desk: str, days: str) -> None:
    with signed_in_browser(desk, "sup") as browser:
        page = browser.get("/desk/questions", params={"days": days})
    assert page.status_code == 400
    assert "Vui lòng chọn 1, 7, 30 hoặc 90 ngày gần nhất." in page.text
    assert 'href="/desk/questions"' in page.text


def test_an_empty_list_is_said_plainly(desk: str) -> None:
    with signed_in_browser(desk, "sup") as browser:
        page = browser.get("/desk/questions?days=1")
    assert page.status_code == 200
    assert "Chưa có câu hỏi nào cần bổ sung trong 1 ngày gần nhất." in page.text


def test_only_the_newest_questions_are_grouped_and_the_page_says_so(
    desk: str, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(questions, "NEWEST", 3)  # the app runs in this process
    for n, text in enumerate(["giá vé xe khách", "chợ đầu mối mở chưa", "xin giấy đi đường",
                              "trường học khi nào mở"]):  # fmt: skip
        ask(session_factory, text, UNKNOWN, 10 * (n + 1))
    with signed_in_browser(desk, "sup") as browser:
        page = browser.get("/desk/questions")
    assert "Có 4 câu hỏi trong khoảng này; trang chỉ gộp 3 câu gần nhất." in page.text
    assert "trường học khi nào mở" not in page.text  # the oldest
    assert len(ROW.findall(page.text)) == 3
