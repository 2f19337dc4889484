"""The desk in a real browser (Debian's Chromium, headless): an operator signs in, finds the
request in the queue, claims it, writes a note and a reply (which reaches the person on the
fake Telegram) and resolves it; the queue then no longer lists it. Screenshots of the queue and
of the request are kept in tests/artifacts/. HTML typed into the fields never runs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Dialog, Page, expect, sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.storage import conversations as log
from bot.storage.staff import OPERATOR
from testkit.browser import launch
from tests.channels_rig import rig, wait_for
from tests.desk_rig import CHEAP, KY_LUA, PASSWORD, START, TAM_THANH, Clock, add_staff, file_request

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
SCRIPT = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
LISTEN = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def converse(
    factory: sessionmaker[Session], external_id: str, lines: list[tuple[str, str]]
) -> None:
    """The conversation that led to the request, in the message log (the transcript)."""
    with factory.begin() as session:
        account = session.scalar(
            select(log.ChannelAccount).where(log.ChannelAccount.external_id == external_id)
        )
        assert account is not None
        for n, (direction, text) in enumerate(lines):
            session.add(
                log.Message(
                    account_id=account.id,
                    channel=account.channel,
                    direction=direction,
                    text=text,
                    data={},
                    status=log.ANSWERED if direction == log.INBOUND else log.SENT,
                    created_at=START - timedelta(minutes=5) + n * timedelta(seconds=20),
                )
            )


def test_an_operator_works_a_request_from_queue_to_resolved(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    add_staff(session_factory, "op-kyl", OPERATOR, [KY_LUA], display_name="Lê Thị Lan")
    code = file_request(
        session_factory, "telegram:4242", KY_LUA, level="high", phone="0912345678",
        description=f"Hai ông bà trên 70 tuổi, hết gạo và thuốc huyết áp. {SCRIPT}",
    )  # fmt: skip
    converse(session_factory, "4242", [
        (log.INBOUND, "tôi cần giúp đỡ"),
        (log.OUTBOUND, "Bạn cần hỗ trợ gì? Bạn có thể chọn nhiều mục."),
        (log.INBOUND, f"lương thực và thuốc {SCRIPT}"),
    ])  # fmt: skip
    urgent = file_request(session_factory, "telegram:5", KY_LUA, level="emergency")
    file_request(session_factory, "telegram:6", KY_LUA, at=START + timedelta(minutes=3))
    file_request(session_factory, "telegram:7", TAM_THANH)  # another commune's: not shown
    clock = Clock()
    clock.advance(minutes=17)
    dialogs: list[str] = []
    console: list[str] = []  # errors on every page (a refused inline script is one)

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            console.append(message.text)

    settings = {"desk_watch_seconds": 0, "desk_autoassign_seconds": 0, **CHEAP}
    with (
        rig(database_url, session_factory, now=clock, **settings) as app,
        sync_playwright() as p,
    ):
        browser = launch(p)
        try:
            page: Page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="vi-VN")
            page.on("dialog", on_dialog)
            page.on("console", on_console)
            page.add_init_script(LISTEN)
            page.clock.install()  # the queue's poll timer runs when the test says
            page.goto(f"{app.url}/desk/login")
            page.fill("input[name=username]", "op-kyl")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("h1")).to_contain_text("Xin chào, Lê Thị Lan")

            page.click("nav >> text=Yêu cầu hỗ trợ")
            rows = page.locator("#queue-rows tr")
            expect(rows).to_have_count(3)
            expect(rows.first).to_contain_text(urgent)  # the most urgent first
            expect(rows.first).to_contain_text("Quá hạn")  # 17 minutes without an answer
            expect(page.locator(f"a:text-is('{code}')")).to_be_visible()
            # A request filed now is announced without reloading (the script's poll).
            clock.advance(minutes=1)
            file_request(session_factory, "telegram:8", KY_LUA, at=clock.at)
            page.clock.run_for(16_000)
            expect(page.locator("#new-requests")).to_have_text("Có 1 yêu cầu mới — bấm để xem")
            page.screenshot(path=str(ARTIFACTS / "desk-queue.png"), full_page=True)
            page.set_viewport_size({"width": 360, "height": 740})
            page.screenshot(path=str(ARTIFACTS / "desk-queue-phone.png"), full_page=True)
            page.set_viewport_size({"width": 1280, "height": 900})

            page.click(f"a:text-is('{code}')")
            expect(page.locator("h1")).to_have_text(code)
            for shown in ("dd.text", ".messages"):  # typed HTML is text, not elements
                expect(page.locator(shown).first).to_contain_text("<script>alert(2)</script>")
                expect(page.locator(f"{shown} img, {shown} script")).to_have_count(0)
            page.click("#claim")
            expect(page.locator(".flash")).to_have_text("Bạn đã nhận xử lý yêu cầu này.")
            page.fill("#note-form textarea", "Đã gọi cho con trai, chiều nay tổ dân phố mang gạo.")
            page.click("#note-form button")
            expect(page.locator(".flash")).to_have_text("Đã lưu ghi chú nội bộ.")
            reply = "Chiều nay tổ dân phố sẽ mang gạo và thuốc đến nhà ông bà."
            page.fill("#reply-form textarea", reply)
            page.click("#reply-form button")
            expect(page.locator(".flash")).to_contain_text("Đã gửi trả lời")
            wait_for(lambda: any(reply in m["text"] for m in app.telegram.sent))
            page.screenshot(path=str(ARTIFACTS / "desk-request.png"), full_page=True)

            page.select_option("#status-form select[name=to]", "resolved")
            page.fill("#status-form textarea", "Đã trao 10 kg gạo và thuốc huyết áp.")
            page.click("#status-form button")
            expect(page.locator(".flash")).to_have_text("Đã đổi trạng thái và báo cho người dân.")
            expect(page.locator(".badges")).to_contain_text("Đã giải quyết")
            page.set_viewport_size({"width": 360, "height": 740})
            page.screenshot(path=str(ARTIFACTS / "desk-request-phone.png"))  # its top
            page.locator(".actions-card").screenshot(path=str(ARTIFACTS / "desk-actions-phone.png"))

            page.click("text=← Danh sách yêu cầu")
            expect(page.locator("#queue-rows tr")).to_have_count(3)  # 3 + the new one - this one
            expect(page.locator("#queue-rows")).not_to_contain_text(code)
            violations = page.evaluate("window.__violations")
        finally:
            browser.close()
    assert dialogs == []  # no script typed into a field ran
    assert violations == []
    assert console == []
    told = [m["text"] for m in app.telegram.sent if m["chat_id"] == 4242]
    assert len(told) == 3 and reply in told[1] and "đã được giải quyết" in told[2]
