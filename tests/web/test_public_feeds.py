"""The announcements archive, each announcement's page and the Atom feeds (SQLite and
PostgreSQL): only approved announcements, never drafts, cancelled ones or digests; the feeds
parse cleanly with feedparser, link to pages that exist, are dated, page with rel="next"; an
announcement's HTML is shown as text."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from html import unescape

import feedparser
import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.alerts import CANCELLED, DIGEST, DONE, DRAFT, ZONE_CHANGE
from testkit import http
from tests.public_rig import KY_LUA, LANG_SON, TAM_THANH, announce, load_demo, public_site

DATABASES = ("sqlite", "postgresql")
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
SCRIPT = '<script>alert("x")</script>'


@pytest.fixture
def site(database_url: str, session_factory: sessionmaker[Session]):
    load_demo(session_factory)
    with public_site(database_url, now=lambda: NOW) as (url, _):
        yield url


def seed(factory: sessionmaker[Session]) -> dict[str, int]:
    at = NOW - timedelta(days=1)
    return {
        "province": announce(factory, areas=[(LANG_SON, None)], title="Cả tỉnh: tiêm chủng",
                             text="Các trạm y tế mở cửa.", at=at),
        "tam_thanh": announce(factory, areas=[(LANG_SON, TAM_THANH)], title="Tam Thanh: phát gạo",
                              text="Nhận gạo ở nhà văn hóa.", at=at + timedelta(hours=1),
                              status=DONE, kind=ZONE_CHANGE),
        "ky_lua": announce(factory, areas=[(LANG_SON, KY_LUA)], title="Kỳ Lừa: chợ mở lại",
                           text="Chợ mở lại.", at=at + timedelta(hours=2)),
        "html": announce(factory, areas=[(LANG_SON, None)], title=f"Tiêu đề {SCRIPT}",
                         text=f"Nội dung {SCRIPT}", at=at + timedelta(hours=3)),
        "draft": announce(factory, areas=[(LANG_SON, None)], title="Nháp", text="x", at=at,
                          status=DRAFT),
        "cancelled": announce(factory, areas=[(LANG_SON, None)], title="Đã hủy", text="x",
                              at=at, status=CANCELLED),
        "digest": announce(factory, areas=[(LANG_SON, None)], title="Định kỳ", text="x", at=at,
                           kind=DIGEST),
    }  # fmt: skip


PUBLISHED = ("html", "ky_lua", "tam_thanh", "province")  # newest first


def parsed(url: str) -> feedparser.FeedParserDict:
    answer = http.get(url)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(answer.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    return feed


def test_the_province_feed_lists_every_published_announcement(site, session_factory) -> None:
    ids = seed(session_factory)
    feed = parsed(f"{site}/thong-bao/atom.xml")
    assert [e.link for e in feed.entries] == [f"{site}/thong-bao/{ids[k]}" for k in PUBLISHED]
    assert feed.feed.title.endswith("Tỉnh Lạng Sơn")
    assert any(link.rel == "self" for link in feed.feed.links)
    newest = NOW - timedelta(days=1) + timedelta(hours=3)
    assert calendar.timegm(feed.feed.updated_parsed) == int(newest.timestamp())
    for entry in feed.entries:
        assert entry.updated_parsed and entry.id
        page = http.get(entry.link)
        assert page.status_code == 200 and entry.title in unescape(page.text)
    assert feed.entries[0].title == f"Tiêu đề {SCRIPT}"  # the feed carries the text as text
    assert feed.entries[0].summary == f"Nội dung {SCRIPT}"


def test_a_commune_feed_has_its_own_and_the_province_announcements(site, session_factory) -> None:
    ids = seed(session_factory)
    feed = parsed(f"{site}/xa/{TAM_THANH}/atom.xml")
    assert [e.link for e in feed.entries] == [
        f"{site}/thong-bao/{ids[k]}" for k in ("html", "tam_thanh", "province")
    ]
    assert feed.feed.title.endswith("Phường Tam Thanh")


def test_an_empty_feed_is_still_valid(site) -> None:
    feed = parsed(f"{site}/xa/{KY_LUA}/atom.xml")
    assert feed.entries == [] and feed.feed.updated_parsed


def test_unpublished_announcements_have_no_page(site, session_factory) -> None:
    ids = seed(session_factory)
    for label in ("draft", "cancelled", "digest"):
        assert http.get(f"{site}/thong-bao/{ids[label]}").status_code == 404, label
    archive = http.get(f"{site}/thong-bao").text
    assert all(f"/thong-bao/{ids[k]}" in archive for k in PUBLISHED)
    assert not any(f'"/thong-bao/{ids[k]}"' in archive for k in ("draft", "cancelled", "digest"))


def test_an_announcement_page_shows_html_as_text(site, session_factory) -> None:
    ids = seed(session_factory)
    page = http.get(f"{site}/thong-bao/{ids['html']}")
    assert page.status_code == 200 and page.text.count("<h1") == 1
    assert "<script>" not in page.text
    assert "Nội dung &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


def test_the_feed_and_the_archive_page_through_many(site, session_factory) -> None:
    start = NOW - timedelta(days=30)
    for n in range(55):
        announce(session_factory, areas=[(LANG_SON, None)], title=f"Thông báo số {n}",
                 text=f"Nội dung {n}.", at=start + timedelta(hours=n))  # fmt: skip
    first = parsed(f"{site}/thong-bao/atom.xml")
    assert len(first.entries) == 50 and first.entries[0].title == "Thông báo số 54"
    following = next(link.href for link in first.feed.links if link.rel == "next")
    second = parsed(following)
    assert [e.title for e in second.entries] == [f"Thông báo số {n}" for n in range(4, -1, -1)]
    assert not any(link.rel == "next" for link in second.feed.links)
    assert http.get(f"{site}/thong-bao/atom.xml?page=3").status_code == 404
    pages = [http.get(f"{site}/thong-bao", params={"page": p}) for p in (1, 2, 3, 4)]
    assert [p.status_code for p in pages] == [200, 200, 200, 404]
    assert "Thông báo số 54" in pages[0].text and "Thông báo số 0<" in pages[2].text
