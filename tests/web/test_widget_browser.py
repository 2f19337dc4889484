"""The embeddable chat in a real browser (Debian's Chromium, headless): a portal on another
origin (another port of 127.0.0.1, or localhost: another site) pastes the snippet under a
strict CSP of its own; the widget appears, opens by keyboard, chats with the app (fake Rasa)
in one conversation, closes on Escape and gives the focus back, fills a phone's screen and
keeps the focus there; with that origin not in EMBED_ORIGINS (or not matching a *.host entry)
the widget shows nothing and the browser refuses a frame of the chat. The chat page and the
widget have no serious axe violation at a phone's and a desktop's size; screenshots go to
tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from testkit.axe import ARTIFACTS, VIEWPORTS, screenshots, serious_violations
from testkit.browser import chromium
from testkit.fakes.server import serve
from tests.channels_rig import Rig, rig

pytestmark = pytest.mark.slow
PHONE, DESKTOP = VIEWPORTS["phone"], VIEWPORTS["desktop"]
# Resolves when the element's animations (its slide-in) have finished.
SETTLED = "el => Promise.all(el.getAnimations({subtree: true}).map(a => a.finished))"
# Before any script of the portal: its globals, and every CSP violation it reports.
WATCH = """
window.__globals = Object.getOwnPropertyNames(window);
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""
NEW_GLOBALS = """Object.getOwnPropertyNames(window)
  .filter((n) => !window.__globals.includes(n) && !['__globals', '__violations'].includes(n))"""
PORTAL = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cổng thông tin tỉnh (thử)</title></head>
<body><header><p>Cổng thông tin điện tử tỉnh</p></header>
<main><h1>Tin tức</h1><p>Trang thử: nhúng khung trò chuyện của Loa.</p>
<p><a href="#tin">Xem tin mới</a></p></main>
{body}
</body></html>"""


@dataclass
class Portal:
    """The province's portal: another origin than the app; ``app_url`` is set once the app
    (which must list the portal's origin) runs."""

    url: str = ""
    app_url: str = ""

    def asgi(self) -> Starlette:
        def page(body: str) -> Response:
            # Our origin in script-src and frame-src only, as the README asks of a portal.
            csp = (
                f"default-src 'self'; script-src 'self' {self.app_url}; "
                f"frame-src {self.app_url}; style-src 'self'; img-src 'self'"
            )
            return HTMLResponse(PORTAL.format(body=body), headers={"Content-Security-Policy": csp})

        async def snippet(request: Request) -> Response:
            return page(f'<script src="{self.app_url}/widget.js" async></script>')

        async def attributes(request: Request) -> Response:  # the optional data- attributes
            return page(
                f'<script src="{self.app_url}/widget.js" async data-position="left"'
                ' data-label="Trợ lý Loa" data-title="Hỏi đáp <b>phòng dịch</b>"></script>'
            )

        async def frame(request: Request) -> Response:  # a frame of the chat, no widget
            return page(f'<iframe src="{self.app_url}/chat?embed=1" title="Loa"></iframe>')

        async def favicon(request: Request) -> Response:
            return Response(status_code=204)

        routes = [
            Route("/", snippet),
            Route("/attributes", attributes),
            Route("/frame", frame),
            Route("/favicon.ico", favicon),
        ]
        return Starlette(routes=routes)


@contextmanager
def portal_and_app(
    database_url: str,
    session_factory,
    *,
    listed: bool,
    host: str = "127.0.0.1",
    origins: str = "",
) -> Iterator[tuple[Portal, Rig]]:
    """The portal on another port of 127.0.0.1 (another origin, the same site), or at
    ``host`` (localhost: another site, whose frames get no SameSite=Strict cookie); its own
    origin is EMBED_ORIGINS if ``listed``, else ``origins`` or a site far away ({port}: the
    portal's)."""
    portal = Portal()
    with serve(portal.asgi()) as url:
        portal.url = url.replace("127.0.0.1", host)
        port = url.rsplit(":", 1)[1]
        if listed:
            origins = portal.url
        origins = (origins or "https://tinh.example.gov.vn").format(port=port)
        with rig(database_url, session_factory, embed_origins=origins) as app:
            portal.app_url = app.url
            yield portal, app


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def console() -> list[str]:
    return []


@pytest.fixture
def page(browser: Browser, console: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, locale="vi-VN")
    page = context.new_page()
    page.add_init_script(WATCH)
    page.on("console", lambda m: console.append(_line(m)))
    page.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
    yield page
    context.close()


def _line(message: ConsoleMessage) -> str:
    return f"{message.type}: {message.text}"


def chat_frame(page: Page):
    return page.frame_locator("iframe[title='Trò chuyện với Loa']")


def focused_in_widget(page: Page) -> str:
    """The class of the focused element inside the widget's shadow root ('' if elsewhere)."""
    return page.evaluate(
        """() => { const host = document.querySelector('[data-loa-widget]');
        return host && document.activeElement === host && host.shadowRoot.activeElement
          ? host.shadowRoot.activeElement.className : ''; }"""
    )


def test_the_widget_opens_chats_and_closes_on_a_portal_of_another_origin(
    database_url, session_factory, page: Page, console: list[str]
) -> None:
    with portal_and_app(database_url, session_factory, listed=True, host="localhost") as (
        portal,
        app,
    ):
        assert portal.url.startswith("http://localhost:") and "127.0.0.1" in app.url
        page.goto(portal.url)
        launcher = page.get_by_role("button", name="Hỏi Loa")
        expect(launcher).to_be_visible()
        expect(launcher).to_have_attribute("aria-expanded", "false")
        assert page.locator("iframe").count() == 0  # nothing loaded until it is asked for
        # Keyboard only: the launcher is a real button.
        launcher.focus()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="Loa — hỏi đáp về dịch bệnh")
        expect(dialog).to_be_visible()
        expect(launcher).to_have_attribute("aria-expanded", "true")
        text = chat_frame(page).locator("#text")
        expect(text).to_be_focused()
        page.keyboard.type("số đường dây nóng")
        page.keyboard.press("Enter")
        expect(chat_frame(page).locator(".msg.user").last).to_have_text("số đường dây nóng")
        expect(chat_frame(page).locator(".msg.bot").last).to_contain_text("echo:", timeout=15_000)
        assert app.rasa.received and app.rasa.received[-1]["message"] == "số đường dây nóng"
        # Escape inside the chat closes the widget and gives the focus back to the button.
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(launcher).to_have_attribute("aria-expanded", "false")
        assert focused_in_widget(page) == "launcher"
        # Open again: the same conversation; the close button closes it too.
        launcher.click()
        expect(text).to_be_focused()
        page.keyboard.type("còn gì nữa")
        page.keyboard.press("Enter")
        expect(chat_frame(page).locator(".msg.bot").last).to_contain_text("echo: còn gì nữa")
        # One conversation, though the portal is another site (its cookie is partitioned).
        assert len({r["sender"] for r in app.rasa.received}) == 1, app.rasa.received
        # "Xóa cuộc trò chuyện" (pressed twice) in the frame: the next message starts anew.
        chat_frame(page).locator("#reset").click()
        chat_frame(page).locator("#reset").click()
        expect(chat_frame(page).locator("#notice")).to_contain_text("Đã xóa cuộc trò chuyện")
        chat_frame(page).locator("#text").fill("câu mới")
        chat_frame(page).locator("#text").press("Enter")
        expect(chat_frame(page).locator(".msg.bot").last).to_contain_text("echo: câu mới")
        assert len({r["sender"] for r in app.rasa.received}) == 2, app.rasa.received
        text.focus()
        page.get_by_role("button", name="Đóng khung trò chuyện").click()
        expect(dialog).to_be_hidden()
        assert focused_in_widget(page) == "launcher"
        # The portal is untouched: no global, no stylesheet, one element added to its body.
        assert page.evaluate(NEW_GLOBALS) == []
        assert page.evaluate("document.styleSheets.length") == 0
        assert page.evaluate("document.body.lastElementChild.hasAttribute('data-loa-widget')")
        assert page.evaluate("window.__violations") == []
        frame_violations = (
            chat_frame(page).locator("html").evaluate("() => window.__violations || []")
        )
        assert frame_violations == []
    assert [line for line in console if line.startswith(("error", "warning", "pageerror"))] == []


def test_on_a_phone_the_widget_fills_the_screen(database_url, session_factory, page: Page) -> None:
    page.set_viewport_size(PHONE)
    with portal_and_app(database_url, session_factory, listed=True) as (portal, _app):
        page.goto(portal.url)
        page.get_by_role("button", name="Hỏi Loa").click()
        dialog = page.get_by_role("dialog")
        # The widget gives the chat's input the focus once the frame has loaded; the keys
        # below wait for it (a late load once took the focus back in the middle of them).
        expect(chat_frame(page).locator("#text")).to_be_focused()
        # The panel slides in (0.15 s); on a loaded machine a frame of it was once measured
        # (y 0.17): measure where it comes to rest.
        dialog.evaluate(SETTLED)
        assert dialog.bounding_box() == {"x": 0, "y": 0, **PHONE}
        close = page.get_by_role("button", name="Đóng khung trò chuyện")
        box = close.bounding_box()
        assert box is not None and box["width"] >= 44 and box["height"] >= 44  # a finger's size
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        # Full screen, the focus stays in the panel: Tab after the chat's last control comes
        # back to the close button, Shift+Tab from it goes back into the chat.
        expect(dialog).to_have_attribute("aria-modal", "true")
        chat_frame(page).locator("#reset").focus()
        page.keyboard.press("Tab")
        assert focused_in_widget(page) == "close"
        page.keyboard.press("Shift+Tab")
        in_frame = "document.querySelector('[data-loa-widget]').shadowRoot.activeElement.tagName"
        assert page.evaluate(in_frame) == "IFRAME"
        page.keyboard.press("Tab")  # the chat's first control: the emergency number
        expect(chat_frame(page).locator("a.emergency")).to_be_focused()
        # A desktop at 200 % zoom (1280×800 CSS pixels become 640×400): full screen too.
        page.set_viewport_size({"width": 640, "height": 400})
        assert dialog.bounding_box() == {"x": 0, "y": 0, "width": 640, "height": 400}
        expect(chat_frame(page).locator("#text")).to_be_in_viewport()


def test_the_snippet_attributes_set_side_label_and_title(
    database_url, session_factory, page: Page
) -> None:
    with portal_and_app(database_url, session_factory, listed=True) as (portal, _app):
        page.goto(f"{portal.url}/attributes")
        launcher = page.get_by_role("button", name="Trợ lý Loa")
        box = launcher.bounding_box()
        assert box is not None and box["x"] < 40  # on the left
        launcher.click()
        # Text, never markup: the title is shown as typed.
        expect(page.get_by_role("dialog", name="Hỏi đáp <b>phòng dịch</b>")).to_be_visible()
        assert page.locator("[data-loa-widget] b").count() == 0


def test_a_site_not_in_embed_origins_gets_no_widget_and_no_frame(
    database_url, session_factory, page: Page
) -> None:
    with portal_and_app(database_url, session_factory, listed=False) as (portal, app):
        expect_refused(page, portal.url)
        assert app.rasa.received == []


def expect_refused(page: Page, portal_url: str) -> None:
    """No widget on the portal (its script says why in the console), and a frame of the
    chat pasted by hand is refused by the browser itself (frame-ancestors)."""
    with page.expect_console_message(lambda m: "is not in EMBED_ORIGINS" in m.text):
        page.goto(portal_url)
    expect(page.get_by_role("button", name="Hỏi Loa")).to_have_count(0)
    assert page.locator("[data-loa-widget]").count() == 0
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text):
        page.goto(f"{portal_url}/frame")
    expect(page.frame_locator("iframe[title='Loa']").locator("#text")).to_have_count(0)


@pytest.mark.parametrize(
    ("host", "shown"),
    [("tinh.localhost", True), ("a.b.localhost", True), ("localhost", False)],
)
def test_a_wildcard_origin_admits_its_subdomains_only(
    database_url, session_factory, page: Page, host: str, shown: bool
) -> None:
    """``http://*.localhost:<port>`` (Chromium resolves every *.localhost to this machine):
    the widget agrees with the browser's own frame-ancestors matching."""
    with portal_and_app(
        database_url, session_factory, listed=False, host=host, origins="http://*.localhost:{port}"
    ) as (portal, _app):
        if not shown:
            expect_refused(page, portal.url)
            return
        page.goto(f"{portal.url}/frame")
        expect(page.frame_locator("iframe[title='Loa']").locator("#text")).to_be_visible()
        page.goto(portal.url)
        page.get_by_role("button", name="Hỏi Loa").click()
        expect(chat_frame(page).locator("#text")).to_be_visible()


def test_the_chat_page_and_the_widget_have_no_serious_accessibility_violation(
    database_url, session_factory, page: Page
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with portal_and_app(database_url, session_factory, listed=True) as (portal, app):
        found: dict[str, list[str]] = {}
        for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(viewport)
            page.goto(f"{app.url}/chat")
            page.fill("#text", "xin chào")
            page.press("#text", "Enter")
            expect(page.locator(".msg.bot").last).to_contain_text("echo:", timeout=15_000)
            found[f"chat {size}"] = serious_violations(page)

            page.goto(portal.url)
            page.get_by_role("button", name="Hỏi Loa").click()
            expect(chat_frame(page).locator("#text")).to_be_visible()
            found[f"portal with the widget open {size}"] = serious_violations(page)
            frame = page.frame(url=lambda u: "/chat?embed=1" in u)
            assert frame is not None
            found[f"widget's chat {size}"] = serious_violations(frame)

        def open_widget(p: Page) -> None:
            p.get_by_role("button", name="Hỏi Loa").click()
            expect(chat_frame(p).locator(".msg.bot").first).to_be_visible()

        written = [
            *screenshots(page, f"{app.url}/chat", "chat"),
            *screenshots(page, portal.url, "widget-closed"),
            *screenshots(page, portal.url, "widget-open", prepare=open_widget),
        ]
    assert found == {label: [] for label in found}
    assert all(path.stat().st_size > 0 for path in written)
