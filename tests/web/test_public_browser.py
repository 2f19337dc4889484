"""The public pages in a real browser (Debian's Chromium, headless): no serious or critical axe
violation (WCAG 2.1 A/AA, contrast included) on the province page, a commune page, the archive,
one announcement, the search's list and its "not found" page, at a phone's and a desktop's size
(screenshots in tests/artifacts/); the skip link is the first thing the keyboard reaches and
takes it to the content; at 200 % zoom of a desktop nothing needs a sideways scroll."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import Session, sessionmaker

from testkit.axe import VIEWPORTS, screenshots, serious_violations
from testkit.browser import chromium
from tests.public_rig import KY_LUA, LANG_SON, announce, load_demo, public_site

pytestmark = pytest.mark.slow
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def site(database_url: str, session_factory: sessionmaker[Session]) -> Iterator[tuple[str, int]]:
    load_demo(session_factory)
    news = announce(
        session_factory,
        areas=[(LANG_SON, KY_LUA)],
        title="Phong tỏa tạm thời Tổ dân phố 9, phường Kỳ Lừa",
        text="Từ 14:00 hôm nay, Tổ dân phố 9 tạm phong tỏa. Bà con cần giúp đỡ gọi 115.",
        at=NOW,
    )
    with public_site(database_url, now=lambda: NOW) as (url, _):
        yield url, news


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="vi-VN")
    yield context.new_page()
    context.close()


def test_every_public_page_passes_axe_on_a_phone_and_a_desktop(
    site: tuple[str, int], page: Page
) -> None:
    url, news = site
    pages = {
        "public-province": "/",
        "public-commune": f"/xa/{KY_LUA}",
        "public-archive": "/thong-bao",
        "public-announcement": f"/thong-bao/{news}",
        "public-search-list": "/tim?q=hoang+dong",
        "public-search-none": "/tim?q=khong+co+noi+nay",
    }
    found: dict[str, list[str]] = {}
    for name, path in pages.items():

        def check(p: Page, name: str = name) -> None:
            size = "phone" if p.viewport_size == VIEWPORTS["phone"] else "desktop"
            found[f"{name} ({size})"] = serious_violations(p)

        written = screenshots(page, url + path, name, prepare=check)
        assert all(shot.stat().st_size > 5_000 for shot in written), written
    assert found and all(not v for v in found.values()), {k: v for k, v in found.items() if v}


def test_the_skip_link_comes_first_and_leads_to_the_content(
    site: tuple[str, int], page: Page
) -> None:
    url, _ = site
    page.goto(f"{url}/xa/{KY_LUA}")
    page.keyboard.press("Tab")
    first = page.evaluate(
        "() => [document.activeElement.tagName, document.activeElement.getAttribute('href')]"
    )
    assert first[0] == "A" and first[1].startswith("#"), first
    page.keyboard.press("Enter")
    target = first[1][1:]
    assert page.evaluate(f"() => document.getElementById('{target}').tagName") == "MAIN"
    assert page.evaluate("() => location.hash") == first[1]


def test_at_200_percent_zoom_nothing_scrolls_sideways(site: tuple[str, int], page: Page) -> None:
    """A 1280-pixel screen at 200 % zoom is a 640-pixel wide page."""
    url, news = site
    page.set_viewport_size({"width": 640, "height": 400})
    for path in ("/", f"/xa/{KY_LUA}", "/thong-bao", f"/thong-bao/{news}"):
        page.goto(url + path)
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= 640, (path, wide)
