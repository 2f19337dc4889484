"""The supervisors' reports page and its CSV over real HTTP: who reaches them, the charts as
inline SVG with their numbers in tables, the export Excel reads (UTF-8 with a BOM), no
personal field in it, and a bad window refused."""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk import stats
from bot.storage.helpdesk import HelpRequest
from bot.storage.staff import ADMIN, INSPECTOR, OPERATOR, SUPERVISOR
from bot.web.app import create_app
from testkit import http
from testkit.fakes.server import serve
from tests.desk_rig import (
    KY_LUA,
    START,
    TAM_THANH,
    Clock,
    add_staff,
    browser_as,
    desk_settings,
    file_request,
    signed_in_browser,
)

DATABASES = ("sqlite", "postgresql")


@pytest.fixture
def desk(database_url: str, session_factory: sessionmaker[Session]) -> Iterator[str]:
    """The app with an account of each role and three requests filed today (two in Kỳ Lừa)."""
    add_staff(session_factory, "op1", OPERATOR, [KY_LUA])
    add_staff(session_factory, "sup", SUPERVISOR)
    add_staff(session_factory, "ins", INSPECTOR)
    add_staff(session_factory, "adm", ADMIN)
    file_request(session_factory, "telegram:1", KY_LUA)
    file_request(session_factory, "telegram:2", KY_LUA)
    file_request(session_factory, "zalo_oa:3", TAM_THANH)
    with serve(create_app(desk_settings(database_url), now=Clock())) as url:
        yield url


@pytest.mark.parametrize(
    ("username", "expected"),
    [(None, 303), ("op1", 403), ("ins", 403), ("adm", 403), ("sup", 200)],
)
def test_only_supervisors_reach_the_reports(desk: str, username: str | None, expected: int) -> None:
    with browser_as(desk, username) as browser:
        got = (browser.get("/desk/stats").status_code, browser.get("/desk/stats.csv").status_code)
    assert got == (expected, expected)


def test_the_page_draws_its_charts_and_repeats_the_numbers(desk: str) -> None:
    with signed_in_browser(desk, "sup") as browser:
        page = browser.get("/desk/stats?days=30")
    assert page.status_code == 200
    charts = re.findall(r'<svg class="chart"[^>]*role="img"[^>]*aria-label="([^"]+)"', page.text)
    assert len(charts) == 4 and "theo nhu cầu, 30 ngày" in charts[0]
    assert page.text.count("<title>") >= 4
    bars = [int(v) for v in re.findall(r'<rect [^>]*data-key="food" data-value="(\d+)"', page.text)]
    assert bars == [3]  # one day, three requests for food
    commune_bars = re.findall(r'data-key="(\d+)" data-value="(\d+)"', page.text)
    assert sorted(commune_bars) == [(str(TAM_THANH), "1"), (str(KY_LUA), "2")]
    assert re.search(r"Lương thực, thực phẩm</th><td[^>]*>3</td>", page.text)
    assert re.search(r"Kỳ Lừa</th><td[^>]*>2</td>", page.text)
    assert "<script" not in page.text


def test_the_csv_opens_in_excel_with_counts_only(desk: str) -> None:
    with signed_in_browser(desk, "sup") as browser:
        answer = browser.get("/desk/stats.csv?days=14")
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    raw = answer.content
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header, lines = rows[0], rows[1:]
    assert header[:5] == ["Ngày", "Mã xã/phường", "Xã/phường", "Mức độ", "Số yêu cầu"]
    by_commune = {line[1]: line for line in lines}
    assert set(by_commune) == {str(KY_LUA), str(TAM_THANH)}
    assert by_commune[str(KY_LUA)][3:6] == ["Bình thường", "2", "2"]  # two, both for food
    assert "Kỳ Lừa" in by_commune[str(KY_LUA)][2]
    assert "Hết gạo" not in answer.text and "telegram" not in answer.text


@pytest.mark.parametrize("days", ["7", "abc", "-14", "99999999999999999999"])
def test_a_window_the_page_does_not_offer_is_refused(desk: str, days: str) -> None:
    with signed_in_browser(desk, "sup") as browser:
        page = browser.get(f"/desk/stats?days={days}")
        export = browser.get(f"/desk/stats.csv?days={days}")
    assert (page.status_code, export.status_code) == (400, 400)
    assert "Khoảng thời gian không hợp lệ" in page.text


def test_the_numbers_are_reused_for_30_seconds_unless_requests_change(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    add_staff(session_factory, "sup", SUPERVISOR)
    first = file_request(session_factory, "telegram:1", KY_LUA)
    file_request(session_factory, "telegram:2", KY_LUA)
    clock = Clock()

    def shown(browser: httpx.Client) -> tuple[dict[str, str], str, dict[str, str]]:
        page = browser.get("/desk/stats?days=30")
        export = browser.get("/desk/stats.csv?days=30")
        lines = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))[1:]
        at = re.search(r"tính lúc (\d\d:\d\d:\d\d)", page.text)
        assert at, "no time on the page"
        return (
            dict(re.findall(r'data-key="(\d+)" data-value="(\d+)"', page.text)),
            at.group(1),
            {line[1]: line[4] for line in lines},
        )

    with (
        serve(create_app(desk_settings(database_url), now=clock)) as url,
        signed_in_browser(url, "sup") as browser,
    ):
        assert shown(browser) == ({str(KY_LUA): "2"}, "08:00:00", {str(KY_LUA): "2"})
        # A change the requests' version cannot see (no desk action moves a request to
        # another commune): the numbers of 08:00:00 are shown for 30 seconds.
        with session_factory.begin() as session:
            session.execute(
                update(HelpRequest).where(HelpRequest.code == first).values(commune_code=TAM_THANH)
            )
        clock.advance(seconds=29)
        assert shown(browser) == ({str(KY_LUA): "2"}, "08:00:00", {str(KY_LUA): "2"})
        clock.advance(seconds=1)
        moved = {str(KY_LUA): "1", str(TAM_THANH): "1"}
        assert shown(browser) == (moved, "08:00:30", moved)
        # A new request changes the version: counted at once.
        file_request(session_factory, "telegram:3", KY_LUA, at=START + timedelta(seconds=31))
        clock.advance(seconds=1)
        both = {str(KY_LUA): "2", str(TAM_THANH): "1"}
        assert shown(browser) == (both, "08:00:31", both)


@pytest.mark.parametrize("path", ["/desk/stats?days=30", "/desk/stats.csv?days=30"])
def test_computing_the_reports_holds_up_nothing_else(
    desk: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first computation reads every request of the window (about a second at 100,000): it
    runs off the app's event loop, so citizens' webhooks and other pages go on meanwhile.
    The computation here waits until the app has answered another request: on the loop it
    would wait for ever (bounded: the check fails instead)."""
    entered, released = threading.Event(), threading.Event()
    computing = {"page": stats.report, "csv": stats.export_rows}[
        "csv" if ".csv" in path else "page"
    ]

    def slow(*args: object, **kwargs: object) -> object:
        entered.set()
        released.wait(timeout=20)
        return computing(*args, **kwargs)

    monkeypatch.setattr(stats, computing.__name__, slow)
    answers: list[int] = []
    with signed_in_browser(desk, "sup") as browser:
        opening = threading.Thread(target=lambda: answers.append(browser.get(path).status_code))
        opening.start()
        try:
            assert entered.wait(timeout=20)
            other = http.get(f"{desk}/desk/login", timeout=5)  # answered while it computes
            assert other.status_code == 200
        finally:
            released.set()
            opening.join(timeout=30)
    assert not opening.is_alive() and answers == [200]
