"""The web chat page in a real browser (Debian's Chromium, headless, driven by Playwright)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from testkit.browser import chromium
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, stack: RunningStack) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    # Anything the Content-Security-Policy refuses (inline script or style…) is a bug.
    page.on("console", lambda m: errors.append(m.text) if "Content Security" in m.text else None)
    page.goto(f"{stack.app_url}/chat")
    yield page
    context.close()
    assert errors == []


def send(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def test_a_question_gets_an_answer_on_a_phone_screen(page: Page) -> None:
    send(page, "số đường dây nóng")
    expect(page.locator(".msg.user").last).to_have_text("số đường dây nóng")
    expect(page.locator(".msg.bot").last).to_contain_text("115", timeout=30_000)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360  # no horizontal scrolling


def test_buttons_are_buttons_and_send_their_payload(page: Page) -> None:
    send(page, "xin chào")
    button = page.get_by_role("button", name="Chính sách hỗ trợ").last
    expect(button).to_be_visible(timeout=30_000)
    button.click()
    expect(page.locator(".msg.user").last).to_have_text("Chính sách hỗ trợ")
    expect(page.locator(".msg.bot").last).to_contain_text("Bạn thuộc nhóm nào", timeout=30_000)
    group = page.get_by_role("button", name="Hộ kinh doanh").last
    expect(group).to_be_visible()
    group.click()  # a second button: the schemes for that group, in full
    expect(page.locator(".msg.bot").last).to_contain_text("3.000.000", timeout=30_000)


def test_html_typed_by_a_person_is_shown_as_text(page: Page) -> None:
    send(page, "<img src=x onerror=alert(1)><b>đậm</b>")
    expect(page.locator(".msg.user").last).to_have_text("<img src=x onerror=alert(1)><b>đậm</b>")
    expect(page.locator(".msg.bot").nth(1)).to_be_visible(timeout=30_000)  # no eval: CSP
    assert page.locator("#messages img, #messages b").count() == 0


def test_an_empty_message_is_not_sent(page: Page) -> None:
    send(page, "   ")
    page.wait_for_timeout(500)
    assert page.locator(".msg.user").count() == 0


def test_a_reload_keeps_the_conversation_and_clearing_starts_a_new_one(page: Page) -> None:
    send(page, "phường Tam Thanh có bị phong tỏa ko")
    expect(page.locator(".msg.bot").last).to_contain_text("Phường Tam Thanh", timeout=30_000)
    assert "loa_chat" not in page.evaluate("document.cookie")  # HttpOnly: no script reads it
    page.reload()
    expect(page.locator(".msg.bot").last).to_contain_text("Phường Tam Thanh")  # still shown
    send(page, "cấp độ dịch thế nào")  # the same conversation: the place is remembered
    expect(page.locator(".msg.bot").last).to_contain_text(
        "Phường Tam Thanh, Tỉnh Lạng Sơn đang ở tình huống", timeout=30_000
    )
    clear = page.locator("#reset")
    clear.click()
    expect(clear).to_have_text("Bấm lần nữa để xóa")  # one press alone clears nothing
    assert page.locator(".msg.user").count() == 2
    clear.click()
    expect(page.locator("#notice")).to_contain_text("Đã xóa cuộc trò chuyện")
    expect(page.locator(".msg.user")).to_have_count(0)
    send(page, "cấp độ dịch thế nào")  # a new conversation: no place remembered
    expect(page.locator(".msg.bot").nth(1)).to_be_visible(timeout=30_000)  # no eval: CSP
    assert "Tam Thanh" not in page.locator(".msg.bot").last.inner_text()
    page.reload()
    expect(page.locator(".msg.user")).to_have_count(1)  # only the new conversation's bubble
