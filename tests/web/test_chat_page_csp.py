"""The chat page under its Content-Security-Policy in a real browser (Debian's Chromium):
nothing it needs is refused. The app runs in-process against the fake Rasa."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, expect, sync_playwright

from testkit.browser import launch
from tests.channels_rig import rig

pytestmark = pytest.mark.slow
# Collects every CSP violation the page reports, before any of its own scripts run.
LISTEN = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def test_the_chat_page_works_without_a_csp_violation(database_url, session_factory) -> None:
    console: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            console.append(message.text)

    with rig(database_url, session_factory) as app, sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 360, "height": 740}, locale="vi-VN")
            page.on("console", on_console)
            page.add_init_script(LISTEN)
            response = page.goto(f"{app.url}/chat")
            assert response is not None and "content-security-policy" in response.headers
            # A long message makes the script resize the text box (an inline style by CSSOM,
            # which the policy allows); sending it exercises the API call.
            page.fill("#text", "số đường dây nóng\n" * 6)
            page.press("#text", "Enter")
            expect(page.locator(".msg.bot").last).to_contain_text("echo:", timeout=15_000)
            violations = page.evaluate("window.__violations")
        finally:
            browser.close()
    assert violations == []
    assert console == []
