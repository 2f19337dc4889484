"""A level change from the levels form to a finished broadcast, in a real browser (Debian's
Chromium, headless): officer 1 sets a level and edits the draft, officer 2 signs in, reads the
recipient preview and approves; the progress block then follows the delivery rows (marked sent
here — the worker is not this test's) without a reload. Screenshots of the level form, the draft
with its preview and the progress are kept in tests/artifacts/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import audience
from bot.alerts.subscriptions import AreaCode
from bot.clock import VIETNAM
from bot.content import files
from bot.storage.alerts import DONE, PENDING, SENT, Broadcast, Delivery
from bot.storage.staff import COMMUNICATIONS
from testkit.browser import launch
from tests.channels_rig import rig
from tests.desk_rig import CHEAP, KY_LUA, LANG_SON, PASSWORD, Clock, add_staff, subscriber

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
SUBSCRIBERS = 6


def sign_in(browser: Browser, url: str, username: str) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page.on("console", lambda m: _console(m))
    page.goto(f"{url}/desk/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Xin chào")
    return page


CONSOLE: list[str] = []  # errors on any page (a refused inline script is one)


def _console(message: ConsoleMessage) -> None:
    if message.type == "error" or "Content Security Policy" in message.text:
        CONSOLE.append(message.text)


def send(factory: sessionmaker[Session], broadcast_id: int, n: int, at: object) -> None:
    """Mark ``n`` pending deliveries sent, as the worker would."""
    with factory.begin() as session:
        ids = list(
            session.scalars(
                select(Delivery.id)
                .where(Delivery.broadcast_id == broadcast_id, Delivery.status == PENDING)
                .limit(n)
            )
        )
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids))
            .values(status=SENT, sent_at=at, channel_message_id="42")
        )


def test_a_level_change_from_the_form_to_a_finished_broadcast(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with session_factory.begin() as session:
        files.load(files.read_file(files.DEMO), session=session, prefer_province="Lạng Sơn")
    add_staff(session_factory, "comm-1", COMMUNICATIONS, display_name="Nguyễn Thu Hà")
    add_staff(session_factory, "comm-2", COMMUNICATIONS, display_name="Hoàng Văn Minh")
    for n in range(SUBSCRIBERS):
        subscriber(session_factory, f"telegram:{100 + n}", AreaCode(LANG_SON, KY_LUA))
    clock = Clock()
    when = (clock() + timedelta(minutes=30)).astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M")
    CONSOLE.clear()
    # The test plays the delivery worker itself (to see the page half-way); the worker's own
    # sending is tested against the fake Telegram in tests/alerts/.
    settings = {
        "desk_watch_seconds": 0,
        "desk_autoassign_seconds": 0,
        "embedded_worker": 0,
        **CHEAP,
    }
    with (
        rig(database_url, session_factory, now=clock, **settings) as app,
        sync_playwright() as p,
    ):
        browser = launch(p)
        try:
            one = sign_in(browser, app.url, "comm-1")
            one.click("nav >> text=Cấp độ dịch")
            one.fill("#level-form input[name=area]", "ky lua")
            one.select_option("#level-form select[name=level]", "3")
            one.fill("#level-form input[name=decision]", "15/QĐ-UBND")
            one.fill("#level-form input[name=effective_at]", when)
            one.screenshot(path=str(ARTIFACTS / "desk-levels.png"), full_page=True)
            one.click("#level-form button[type=submit]")
            expect(one.locator(".flash")).to_contain_text("Đã đặt cấp độ mới")
            broadcast_id = int(one.url.split("/")[-1].split("?")[0])
            text = one.locator("#edit-form textarea").input_value()
            one.fill("#edit-form textarea", text + "\nTrạm y tế phường mở cửa 24/24.")
            one.click("#edit-form button[type=submit]")
            expect(one.locator(".flash")).to_have_text("Đã lưu nội dung bản nháp.")
            expect(one.locator("#own-draft")).to_contain_text("không thể tự duyệt")
            expect(one.locator("#approve-form")).to_have_count(0)

            two = sign_in(browser, app.url, "comm-2")
            two.click("nav >> text=Thông báo")
            two.click(f"a[href='/desk/broadcasts/{broadcast_id}'] >> nth=0")
            expect(two.locator("#preview-total")).to_have_text(str(SUBSCRIBERS))
            expect(two.locator("#preview-text")).to_contain_text("Trạm y tế phường mở cửa 24/24.")
            expect(two.locator("#preview-text")).not_to_contain_text("{")
            two.screenshot(path=str(ARTIFACTS / "desk-broadcast-draft.png"), full_page=True)
            two.set_viewport_size({"width": 360, "height": 740})
            two.screenshot(path=str(ARTIFACTS / "desk-broadcast-draft-phone.png"), full_page=True)
            two.set_viewport_size({"width": 1280, "height": 900})
            two.click("#approve-form button")
            expect(two.locator(".flash")).to_contain_text("Đã duyệt")
            expect(two.locator("[data-field=total]")).to_have_text(str(SUBSCRIBERS))
            with session_factory.begin() as session:  # the worker's first step
                row = session.get(Broadcast, broadcast_id)
                assert row is not None and row.text
                if row.audience_ready_at is None:
                    audience.materialize(session=session, broadcast=row, now=clock())
            clock.advance(seconds=5)
            send(session_factory, broadcast_id, 4, clock())
            expect(two.locator("[data-field=sent]")).to_have_text("4")  # the script's poll
            expect(two.locator("[data-field=percent_text]")).to_have_text("66,7")
            expect(two.locator("[data-field=pending]")).to_have_text(str(SUBSCRIBERS - 4))
            two.screenshot(path=str(ARTIFACTS / "desk-broadcast-progress.png"), full_page=True)
            send(session_factory, broadcast_id, SUBSCRIBERS - 4, clock())
            with session_factory.begin() as session:
                session.execute(
                    update(Broadcast)
                    .where(Broadcast.id == broadcast_id)
                    .values(status=DONE, finished_at=clock())
                )
            expect(two.locator("#status-badge")).to_have_text("Đã gửi xong")
            expect(two.locator("[data-field=percent_text]")).to_have_text("100")
        finally:
            browser.close()
    assert CONSOLE == []
