"""The content team's to-do list in a real browser (Debian's Chromium, headless): an inspector
signs in, follows the menu to the questions Loa could not answer, reads the largest group first
and changes the window; the page has no serious axe violation at a phone's and a desktop's
size. Screenshots go to tests/artifacts/ (questions-phone.png, questions-desktop.png)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.questions import DOWN, UNKNOWN, record
from bot.storage.staff import INSPECTOR
from bot.web.app import create_app
from testkit.axe import VIEWPORTS, screenshots, serious_violations
from testkit.browser import launch
from testkit.fakes.server import serve
from tests.desk_rig import PASSWORD, START, Clock, add_staff, desk_settings

pytestmark = pytest.mark.slow
ASKED = [  # (text, outcome, minutes before now, entry rated down)
    ("chó mèo có lây covid cho người không", UNKNOWN, 60 * 24 * 2, None),
    ("cho meo co lay covid ko ad", UNKNOWN, 60 * 3, None),
    ("chó mèo nhà mình có bị nhiễm covid không vậy", DOWN, 40, "pets-covid"),
    ("xông hơi bằng sả chanh có diệt được virus không", UNKNOWN, 25, None),
    ("xông hơi sả chanh có diệt virus không", UNKNOWN, 60 * 24 * 10, None),
    ("giấy đi đường xin ở đâu", UNKNOWN, 15, None),
]


def test_an_inspector_reads_the_largest_group_first_and_the_page_is_accessible(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    add_staff(session_factory, "ins", INSPECTOR, display_name="Trần Văn Minh")
    with session_factory.begin() as session:
        for text, outcome, minutes, key in ASKED:
            at = START - timedelta(minutes=minutes)
            record(text, outcome, at=at, entry_key=key, session=session)
    app = create_app(desk_settings(database_url), now=Clock())
    with serve(app) as url, sync_playwright() as p:
        browser = launch(p)
        page: Page = browser.new_page(viewport=VIEWPORTS["desktop"], locale="vi-VN")
        page.goto(f"{url}/desk/login")
        page.fill("input[name=username]", "ins")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.get_by_role("link", name="Câu hỏi chưa trả lời được").click()
        expect(page.locator("h1")).to_have_text("Câu hỏi Loa chưa trả lời được")
        first = page.locator("table.list tbody tr").first
        expect(first.locator("td").first).to_have_text("3")  # the pets group, 3 wordings
        expect(first).to_contain_text("chó mèo nhà mình có bị nhiễm covid không vậy")
        expect(first).to_contain_text("pets-covid")
        page.select_option("select[name=days]", "7")
        page.get_by_role("button", name="Xem").click()
        expect(page).to_have_url(f"{url}/desk/questions?days=7")
        rows = page.locator("table.list tbody tr")
        expect(rows).to_have_count(3)
        expect(page.get_by_text("xông hơi sả chanh có diệt virus không")).to_have_count(0)
        found: dict[str, list[str]] = {}

        def check(shown: Page) -> None:
            size = "phone" if shown.viewport_size == VIEWPORTS["phone"] else "desktop"
            found[size] = serious_violations(shown)

        written = screenshots(page, f"{url}/desk/questions?days=30", "questions", prepare=check)
        browser.close()
    assert all(shot.stat().st_size > 5_000 for shot in written), written
    assert set(found) == {"phone", "desktop"} and found == {"phone": [], "desktop": []}, found
