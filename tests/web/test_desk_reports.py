"""The inspectors' pages over real HTTP: who reaches them, the queue most reported first, a
claim's HTML shown as text, take / preview / publish / dismiss with CSRF, a stale page's
conflict, and a published verdict reaching every reporter on the fake Telegram once."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk import reports
from bot.storage import conversations as log
from bot.storage.conversations import account_for
from bot.storage.reports import CHECKING, DISMISSED, FALSE, NEW, PUBLISHED
from bot.storage.staff import ADMIN, INSPECTOR, OPERATOR, SUPERVISOR, AuditEntry
from tests.channels_rig import Rig, rig, wait_for
from tests.desk_rig import (
    CHEAP,
    KY_LUA,
    START,
    Clock,
    add_staff,
    browser_as,
    csrf_of,
    signed_in_browser,
)

DATABASES = ("sqlite", "postgresql")
RUMOUR = "Uống nước chanh nóng mỗi sáng là khỏi bệnh! https://tin-nong.example/bai?utm_source=zalo"
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
VERDICT = "Bộ Y tế khẳng định nước chanh không chữa được bệnh. Hãy tiêm vắc xin đủ mũi."


@pytest.fixture
def desk(database_url: str, session_factory: sessionmaker[Session]) -> Iterator[Rig]:
    """The app on its fakes, with one account of each role (two inspectors)."""
    add_staff(session_factory, "op1", OPERATOR, [KY_LUA])
    add_staff(session_factory, "sup", SUPERVISOR)
    add_staff(session_factory, "ins", INSPECTOR, display_name="Phạm Kiểm")
    add_staff(session_factory, "ins2", INSPECTOR)
    add_staff(session_factory, "adm", ADMIN)
    with rig(database_url, session_factory, now=Clock(), **CHEAP) as running:
        yield running


def report(
    factory: sessionmaker[Session], sender: str, claim: str = RUMOUR, where: str = "nhóm Zalo"
) -> str:
    """A confirmed report from ``sender`` (``telegram:5``); its code."""
    channel, _, external_id = sender.partition(":")
    with factory() as session:
        account = account_for(session=session, channel=channel, external_id=external_id)
        session.commit()
        filed = reports.file(
            session=session,
            account_id=account.id,
            client_key=f"form-{sender}",
            claim=claim,
            seen_where=where,
            at=START,
        )
        return filed.report.code


def all_sent(factory: sessionmaker[Session]) -> bool:
    """Whether the outbox has sent every queued message."""
    with factory() as session:
        statuses = session.scalars(
            select(log.Message.status).where(log.Message.direction == log.OUTBOUND)
        ).all()
    return bool(statuses) and set(statuses) == {log.SENT}


def status_of(factory: sessionmaker[Session], code: str) -> str:
    with factory() as session:
        row = reports.by_code(session=session, code=code)
        assert row is not None
        return row.status


# role → (the queue, a claim's page, taking it); None: no session at all.
ACCESS = [
    (None, (303, 303, 303)),
    ("op1", (403, 403, 403)),
    ("sup", (200, 200, 403)),  # supervisors read, inspectors act
    ("ins", (200, 200, 303)),
    ("adm", (403, 403, 403)),
]


@pytest.mark.parametrize(("username", "expected"), ACCESS)
def test_who_reaches_the_inspectors_pages(
    desk: Rig, session_factory: sessionmaker[Session], username: str | None, expected: tuple
) -> None:
    code = report(session_factory, "telegram:1")
    with browser_as(desk.url, username) as browser:
        queue = browser.get("/desk/reports")
        page = browser.get(f"/desk/reports/{code}")
        token = csrf_of(browser.get("/desk/password")) if username else "none"
        take = browser.post(f"/desk/reports/{code}/take", data={"csrf": token, "version": "1"})
    assert (queue.status_code, page.status_code, take.status_code) == expected
    if username == "sup":
        assert "Nhận kiểm tra" not in page.text and "Công bố" not in page.text
    assert status_of(session_factory, code) == (CHECKING if username == "ins" else NEW)


def test_the_queue_shows_the_most_reported_claim_first(
    desk: Rig, session_factory: sessionmaker[Session]
) -> None:
    once = report(session_factory, "telegram:1", "Tin đồn A: uống tỏi khỏi bệnh.")
    thrice = report(session_factory, "telegram:2", "Tin đồn B: phun thuốc khắp thành phố đêm nay.")
    report(session_factory, "telegram:3", "Tin đồn B: phun thuốc khắp thành phố đêm nay.")
    report(session_factory, "zalo_oa:4", "tin đồn b: phun thuốc khắp thành phố đêm nay")
    with signed_in_browser(desk.url, "ins") as browser:
        page = browser.get("/desk/reports")
        published = browser.get("/desk/reports?status=published")
        bad = browser.get("/desk/reports?status=everything")
    assert page.status_code == 200
    assert page.text.index(thrice) < page.text.index(once)
    assert "<strong>3</strong>" in page.text and "<strong>1</strong>" in page.text
    assert "tin-nong" not in page.text  # no link in these claims
    assert thrice not in published.text and "Không có phản ánh nào" in published.text
    assert bad.status_code == 400 and "Bộ lọc không hợp lệ" in bad.text


def test_html_in_a_claim_and_its_link_is_shown_as_text(
    desk: Rig, session_factory: sessionmaker[Session]
) -> None:
    link = 'https://evil.example/x?a="><script>alert(2)</script>'
    code = report(session_factory, "telegram:1", f"{SCRIPT} {link}", where=SCRIPT)
    with signed_in_browser(desk.url, "ins") as browser:
        pages = [browser.get("/desk/reports").text, browser.get(f"/desk/reports/{code}").text]
    for text in pages:
        assert "<script>alert" not in text and "<img src=x" not in text
        assert html.escape(SCRIPT, quote=False) in text or "&lt;script&gt;" in text
    assert 'rel="noopener noreferrer nofollow"' in pages[1]
    assert 'href="https://evil.example/x?a="' in pages[1]  # the link stops at the quote


def test_a_post_without_its_csrf_token_changes_nothing(
    desk: Rig, session_factory: sessionmaker[Session]
) -> None:
    code = report(session_factory, "telegram:1")
    with signed_in_browser(desk.url, "ins") as browser:
        for action, data in (
            ("take", {"version": "1"}),
            ("dismiss", {"version": "1", "csrf": "forged"}),
            ("publish", {"version": "1", "verdict": FALSE, "text": VERDICT}),
        ):
            answer = browser.post(f"/desk/reports/{code}/{action}", data=data)
            assert answer.status_code == 403, action
            assert "Biểu mẫu đã hết hạn" in answer.text
    assert status_of(session_factory, code) == NEW
    assert desk.telegram.sent == []


def test_a_published_verdict_reaches_every_reporter_on_telegram_once(
    desk: Rig, session_factory: sessionmaker[Session]
) -> None:
    code = report(session_factory, "telegram:501")
    grouped = report(session_factory, "telegram:502")
    with signed_in_browser(desk.url, "ins") as browser:
        page = browser.get(f"/desk/reports/{code}")
        assert grouped in page.text and "Số người báo</dt><dd>2" in page.text
        csrf = csrf_of(page)
        taken = browser.post(f"/desk/reports/{code}/take", data={"csrf": csrf, "version": "1"})
        assert taken.status_code == 303
        form = {"csrf": csrf, "version": "2", "verdict": FALSE, "text": VERDICT}
        shown = browser.post(f"/desk/reports/{code}/publish", data={**form, "action": "preview"})
        assert shown.status_code == 200
        assert "Tin nhắn người báo sẽ nhận" in shown.text and "đây là thông tin SAI" in shown.text
        assert status_of(session_factory, code) == CHECKING  # a preview stores nothing
        done = browser.post(f"/desk/reports/{code}/publish", data={**form, "action": "publish"})
        assert done.status_code == 303
        after = browser.get(done.headers["location"])
        again = browser.post(f"/desk/reports/{code}/publish", data={**form, "action": "publish"})
    assert "tin nhắn kết quả đã được gửi tới 2 người" in after.text
    assert again.status_code == 409  # a second click: the claim is closed, nothing sent again
    wait_for(lambda: all_sent(session_factory) and len(desk.telegram.sent) >= 2)
    texts = {m["chat_id"]: m["text"] for m in desk.telegram.sent}
    assert len(desk.telegram.sent) == 2 and set(texts) == {501, 502}  # once each
    assert code in texts[501] and grouped in texts[502]
    assert all(VERDICT in text and "đây là thông tin SAI" in text for text in texts.values())
    assert status_of(session_factory, grouped) == PUBLISHED
    with session_factory() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.target_id == code).order_by(AuditEntry.id)
        ).all()
    assert actions == ["false_info_take", "false_info_publish"]


def test_a_stale_page_gets_a_conflict_and_keeps_the_typed_text(
    desk: Rig, session_factory: sessionmaker[Session]
) -> None:
    code = report(session_factory, "telegram:601")
    with signed_in_browser(desk.url, "ins") as first, signed_in_browser(desk.url, "ins2") as other:
        stale = other.get(f"/desk/reports/{code}")
        mine = first.get(f"/desk/reports/{code}")
        dismissed = first.post(
            f"/desk/reports/{code}/dismiss", data={"csrf": csrf_of(mine), "version": "1"}
        )
        assert dismissed.status_code == 303
        typed = "Thông tin này sai <b>hoàn toàn</b>, mời bà con xem trang Sở Y tế."
        late = other.post(
            f"/desk/reports/{code}/publish",
            data={
                "csrf": csrf_of(stale),
                "version": "1",
                "verdict": FALSE,
                "text": typed,
                "action": "publish",
            },
        )
    assert late.status_code == 409
    assert "vừa được người khác thay đổi" in late.text and "Đã bỏ qua" in late.text
    assert html.escape(typed, quote=False) in late.text
    assert status_of(session_factory, code) == DISMISSED
    assert desk.telegram.sent == []


def test_a_verdict_without_an_explanation_is_refused_and_the_choice_kept(
    desk: Rig, session_factory: sessionmaker[Session]
) -> None:
    code = report(session_factory, "telegram:701")
    with signed_in_browser(desk.url, "ins") as browser:
        csrf = csrf_of(browser.get(f"/desk/reports/{code}"))
        answer = browser.post(
            f"/desk/reports/{code}/publish",
            data={
                "csrf": csrf,
                "version": "1",
                "verdict": FALSE,
                "text": "  ",
                "action": "publish",
            },
        )
        unknown = browser.get("/desk/reports/TG-26-999999")
    assert answer.status_code == 422 and "Vui lòng viết lời giải thích" in answer.text
    assert 'value="false" required checked' in answer.text
    assert status_of(session_factory, code) == NEW
    assert unknown.status_code == 404
