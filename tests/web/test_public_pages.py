"""The province's page and the communes' pages over real HTTP, against the database (SQLite and
PostgreSQL): what they show is what the demo content file says (levels with decision, source
and since when; zones with their measures; hotlines), only published announcements, the
channel links as configured, landmarks; a level set by ``loa level set`` in another process
shows on the pages and in the feed while the cache holds them; ETag and max-age."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import feedparser
import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import places
from bot.alerts import broadcasts
from bot.clock import VIETNAM
from bot.content import files
from bot.helpdesk.staff import Staff
from bot.storage.alerts import CANCELLED, DIGEST, DONE, DRAFT, Broadcast
from bot.storage.staff import COMMUNICATIONS, StaffUser
from testkit import http
from tests.channels_rig import wait_for
from tests.desk_rig import add_staff
from tests.public_rig import (
    KY_LUA,
    LANG_SON,
    TAM_THANH,
    add_officer,
    announce,
    loa_level_set,
    load_demo,
    public_site,
)

DATABASES = ("sqlite", "postgresql")
DEMO: dict = yaml.safe_load(Path(files.DEMO).read_text(encoding="utf-8"))
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # the demo's levels and zones are in force


def text_of(html: str) -> str:
    """The page's words, tags stripped and entities decoded, spaces collapsed."""
    words = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    return re.sub(r" ([,.;)])", r"\1", words)


def demo_level(area: str) -> dict:
    """The demo file's level for ``area`` that has no end (the one in force)."""
    return next(
        row
        for row in DEMO["alert_levels"]
        if row["area"] == area and row["effective_until"] is None
    )


def situation(level: int) -> str:
    return next(s["name"] for s in DEMO["situations"] if s["level"] == level)


def zones(status: str) -> list[dict]:
    return [z for z in DEMO["zones"] if z["status"] == status]


@pytest.fixture
def site(database_url: str, session_factory: sessionmaker[Session]):
    load_demo(session_factory)
    with public_site(database_url, now=lambda: NOW) as (url, app):
        yield url, app


def news(factory: sessionmaker[Session]) -> dict[str, int]:
    """One announcement of each kind and status; their ids by label."""
    at = NOW - timedelta(hours=2)
    made = {
        "province": announce(factory, areas=[(LANG_SON, None)], title="Tiêm chủng thứ Bảy",
                             text="Trạm y tế các xã mở cửa tiêm chủng.", at=at),
        "tam_thanh": announce(factory, areas=[(LANG_SON, TAM_THANH)], title="Phát gạo Tam Thanh",
                              text="Nhận gạo tại nhà văn hóa.", at=at + timedelta(minutes=1),
                              status=DONE),
        "ky_lua": announce(factory, areas=[(LANG_SON, KY_LUA)], title="Chợ Kỳ Lừa mở lại",
                           text="Chợ mở lại từ sáng mai.", at=at + timedelta(minutes=2)),
        "draft": announce(factory, areas=[(LANG_SON, None)], title="Bản nháp chưa duyệt",
                          text="Chưa duyệt.", at=at, status=DRAFT),
        "cancelled": announce(factory, areas=[(LANG_SON, None)], title="Thông báo đã hủy",
                              text="Đã hủy.", at=at, status=CANCELLED),
        "digest": announce(factory, areas=[(LANG_SON, None)], title="Tin định kỳ tuần này",
                           text="Nhắc lại cấp độ.", at=at, kind=DIGEST),
    }  # fmt: skip
    return made


def test_the_province_page_shows_what_the_content_says(site, session_factory) -> None:
    url, _ = site
    news(session_factory)
    page = http.get(f"{url}/")
    assert page.status_code == 200
    html, words = page.text, text_of(page.text)
    province = demo_level("Tỉnh Lạng Sơn")
    assert html.count("<h1") == 1
    for landmark in ("<header", "<nav", "<main", "<footer", 'href="#noi-dung"'):
        assert landmark in html, landmark
    assert f"Cấp {province['level']} {situation(province['level'])}" in words
    since = province["effective_from"].strftime("%d/%m/%Y")
    assert f"Theo quyết định {province['decision']}, áp dụng từ {since}" in words
    assert "dữ liệu minh họa" in words  # the demo's levels and zones say so
    # Every commune of the province, with a link to its page; no other province's.
    linked = set(re.findall(r'href="/xa/(\d+)"', html))
    assert linked == {str(p.code) for p in places.units_in(LANG_SON)}
    own = demo_level("Phường Tam Thanh, Tỉnh Lạng Sơn")
    assert re.search(
        rf'/xa/{TAM_THANH}">Phường Tam Thanh</a> <span class="lvl lvl-{own["level"]}"', html
    )
    for zone in zones("active"):
        assert zone["name"] in words and zone["note"] in words, zone["key"]
    for zone in zones("lifted"):
        assert zone["name"] not in words, zone["key"]
    for hotline in DEMO["hotlines"]:
        shown = hotline["effective_until"] is None  # the old number ended in 2020
        assert (hotline["number"] in words) == shown, hotline["key"]
    for shown in ("Tiêm chủng thứ Bảy", "Phát gạo Tam Thanh", "Chợ Kỳ Lừa mở lại"):
        assert shown in words
    for hidden in ("Bản nháp chưa duyệt", "Thông báo đã hủy", "Tin định kỳ tuần này"):
        assert hidden not in words
    assert 'href="/chat"' in html and 'action="/tim"' in html


def test_a_commune_page_shows_its_level_history_zones_and_news(site, session_factory) -> None:
    url, _ = site
    news(session_factory)
    page = http.get(f"{url}/xa/{TAM_THANH}")
    assert page.status_code == 200
    words = text_of(page.text)
    assert page.text.count("<h1") == 1 and "<h1>Phường Tam Thanh</h1>" in page.text
    own = demo_level("Phường Tam Thanh, Tỉnh Lạng Sơn")
    assert f"Cấp {own['level']} {situation(own['level'])}" in words
    assert "quyết định riêng của xã, phường" in words
    history = [r["decision"] for r in DEMO["alert_levels"]
               if r["area"] in ("Phường Tam Thanh, Tỉnh Lạng Sơn", "Tỉnh Lạng Sơn")]  # fmt: skip
    for decision in history:
        assert decision in words, decision
    assert "MH-03/QĐ-UBND" not in words  # Hữu Lũng's own decision
    tam_thanh_zone = next(z for z in zones("active") if "Tam Thanh" in z["area"])
    assert tam_thanh_zone["name"] in words and tam_thanh_zone["note"] in words
    assert "Phát gạo Tam Thanh" in words and "Tiêm chủng thứ Bảy" in words
    assert "Chợ Kỳ Lừa mở lại" not in words  # another commune's
    assert "Bản nháp chưa duyệt" not in words
    assert "Gửi yêu cầu hỗ trợ" in words and "Nhận thông báo cho xã này" in words
    # No channel set up: said plainly, no link to nowhere.
    assert "chưa mở kênh Telegram" in words and "chưa mở kênh Zalo" in words
    assert "t.me/" not in page.text and "zalo.me/" not in page.text


def test_a_commune_without_a_decision_of_its_own_shows_the_province_level(site) -> None:
    url, _ = site
    words = text_of(http.get(f"{url}/xa/{KY_LUA}").text)
    province = demo_level("Tỉnh Lạng Sơn")
    assert f"Cấp {province['level']} {situation(province['level'])}" in words
    assert "theo cấp độ chung của tỉnh" in words


def test_the_channel_links_follow_the_settings(database_url, session_factory) -> None:
    load_demo(session_factory)
    with public_site(
        database_url, now=lambda: NOW, telegram_bot_username="@LoaLangSonBot",
        zalo_oa_id="1234567890123456789",
    ) as (url, _):  # fmt: skip
        html = http.get(f"{url}/xa/{KY_LUA}").text
    assert f'href="https://t.me/LoaLangSonBot?start=xa_{KY_LUA}"' in html  # Start offers it
    assert 'href="https://zalo.me/1234567890123456789"' in html
    assert "Đăng ký nhận thông báo Phường Kỳ Lừa" in text_of(html)


def test_pages_carry_an_etag_and_a_short_max_age(site) -> None:
    url, _ = site
    first = http.get(f"{url}/")
    assert first.headers["cache-control"] == "public, max-age=5"
    again = http.get(f"{url}/", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert "script-src 'self'" in first.headers["content-security-policy"]
    for path in ("/", "/xa/6187", "/thong-bao", "/thong-bao/atom.xml"):  # link checkers, monitors
        head = http.head(f"{url}{path}")
        assert head.status_code == 200 and head.content == b"", path


def officer(factory: sessionmaker[Session], username: str) -> Staff:
    with factory() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        assert user is not None
        return Staff.of(user)


def test_a_level_set_in_another_process_shows_at_once(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    load_demo(session_factory)
    add_officer(session_factory)
    add_staff(session_factory, "comm-approver", COMMUNICATIONS)
    with public_site(database_url) as (url, app):  # the real clock: the command uses it
        app.state.public_pages.cache.ttl = 3600  # only the content's version may refresh pages
        feed_url = f"{url}/xa/{KY_LUA}/atom.xml"
        before = {path: http.get(f"{url}{path}").text for path in ("/", f"/xa/{KY_LUA}")}
        assert f'/xa/{KY_LUA}">Phường Kỳ Lừa</a> <span class="lvl lvl-2"' in before["/"]
        assert feedparser.parse(http.get(feed_url).content).entries == []

        said = loa_level_set(database_url, "Kỳ Lừa", 4, "125/QĐ-UBND")
        draft_id = int(re.search(r"Draft broadcast #(\d+)", said).group(1))  # type: ignore[union-attr]
        with session_factory.begin() as session:  # the second officer approves, elsewhere
            row = session.get(Broadcast, draft_id)
            assert row is not None
            broadcasts.approve(
                session=session, officer=officer(session_factory, "comm-approver"),
                broadcast_id=draft_id, version=row.version, now=datetime.now(UTC),
            )  # fmt: skip

        def home_moved() -> bool:
            html = http.get(f"{url}/").text
            return f'/xa/{KY_LUA}">Phường Kỳ Lừa</a> <span class="lvl lvl-4"' in html

        wait_for(home_moved, timeout=10)
        words = text_of(http.get(f"{url}/xa/{KY_LUA}").text)
        assert f"Cấp 4 {situation(4)}" in words and "125/QĐ-UBND" in words
        assert "quyết định riêng của xã, phường" in words
        entries = feedparser.parse(http.get(feed_url).content).entries
        assert [e.link for e in entries] == [f"{url}/thong-bao/{draft_id}"]
        local = datetime.now(UTC).astimezone(VIETNAM).strftime("%d/%m/%Y")
        assert local in words  # since today
