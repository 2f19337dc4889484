"""Finding a place from the province's page, and every kind of bad input the public pages can
get: a table of (label, request, expected status, where it leads or what the page says). Never
a 5xx, always a Vietnamese page with one h1, nothing typed echoed unescaped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import places
from bot.storage.engine import sessions
from testkit import http
from tests.conftest import copy_sqlite
from tests.public_rig import (
    DONG_DANG,
    HA_NOI_COMMUNE,
    KY_LUA,
    LANG_SON,
    TAM_THANH,
    load_demo,
    public_site,
)

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def site(sqlite_migrated: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One app for the whole table (the pages only read here)."""
    path = tmp_path_factory.mktemp("public-search") / "loa.db"
    copy_sqlite(sqlite_migrated, path)
    url = f"sqlite:///{path}"
    load_demo(sessions(url))
    with public_site(url, now=lambda: NOW) as (base, _):
        yield base


def links(html: str) -> set[int]:
    """The commune pages a result page links to."""
    return {int(code) for code in re.findall(r'href="/xa/(\d+)"', html)}


FOUND = [
    # label, typed, the commune page it opens
    ("new name with marks", "Kỳ Lừa", KY_LUA),
    ("new name without marks", "ky lua", KY_LUA),
    ("with a unit word, unmarked", "phuong tam thanh", TAM_THANH),
    ("upper case and spaces", "  PHƯỜNG   TAM THANH ", TAM_THANH),
]


@pytest.mark.parametrize(("label", "typed", "code"), FOUND, ids=[f[0] for f in FOUND])
def test_a_current_name_opens_its_commune_page(
    site: str, label: str, typed: str, code: int
) -> None:
    answer = http.get(f"{site}/tim", params={"q": typed})
    assert answer.status_code == 303, label
    assert answer.headers["location"] == f"/xa/{code}"
    assert http.get(f"{site}{answer.headers['location']}").status_code == 200


OLD = [
    # label, typed, a commune it must list (what the unit became), the old name said
    ("old commune, marked", "Hoàng Đồng", TAM_THANH, "Xã Hoàng Đồng"),
    ("old commune, unmarked", "hoang dong", TAM_THANH, "Xã Hoàng Đồng"),
    ("old town that no longer exists", "thị trấn Đồng Đăng", DONG_DANG, "Thị trấn Đồng Đăng"),
    ("old district, several communes", "huyen cao loc", KY_LUA, "Huyện Cao Lộc"),
]


@pytest.mark.parametrize(("label", "typed", "code", "old"), OLD, ids=[o[0] for o in OLD])
def test_an_old_name_lists_what_it_became(
    site: str, label: str, typed: str, code: int, old: str
) -> None:
    answer = http.get(f"{site}/tim", params={"q": typed})
    assert answer.status_code == 200, label
    shown = links(answer.text)
    assert code in shown
    assert all(places.get(c).province_code == LANG_SON for c in shown)
    assert f"(trước đây: {old}" in answer.text


def test_the_province_name_opens_the_province_page(site: str) -> None:
    answer = http.get(f"{site}/tim", params={"q": "lang son"})
    assert (answer.status_code, answer.headers["location"]) == (303, "/")


BAD = [
    # label, path, params, status, words the page must say
    ("search for nothing", "/tim", {"q": ""}, 400, "Bạn chưa nhập tên nơi cần tìm"),
    ("search for spaces", "/tim", {"q": "   "}, 400, "Bạn chưa nhập tên nơi cần tìm"),
    ("no q at all", "/tim", {}, 400, "Bạn chưa nhập tên nơi cần tìm"),
    ("5,000 characters", "/tim", {"q": "Kỳ Lừa " * 715}, 400, "Tên cần tìm quá dài"),
    ("HTML", "/tim", {"q": SCRIPT}, 404, "Không tìm thấy"),
    ("another province", "/tim", {"q": "Hoàn Kiếm"}, 404, "không thuộc Tỉnh Lạng Sơn"),
    ("a name nobody has", "/tim", {"q": "xyzzy qwerty"}, 404, "Không tìm thấy “xyzzy qwerty”"),
    ("unknown commune code", "/xa/999999", {}, 404, "Không có trang cho xã, phường này"),
    ("commune of another province", f"/xa/{HA_NOI_COMMUNE}", {}, 404, "Không có trang"),
    ("commune code in words", "/xa/ky-lua", {}, 404, "Không có trang"),
    ("huge commune code", "/xa/" + "9" * 40, {}, 404, "Không có trang"),
    ("feed of an unknown commune", "/xa/0/atom.xml", {}, 404, "Không có trang"),
    ("unknown announcement", "/thong-bao/424242", {}, 404, "Không tìm thấy thông báo này"),
    ("announcement id in words", "/thong-bao/abc", {}, 404, "Không tìm thấy thông báo này"),
    ("negative page", "/thong-bao", {"page": "-1"}, 400, "Số trang không đúng"),
    ("page zero", "/thong-bao", {"page": "0"}, 400, "Số trang không đúng"),
    ("page in words", "/thong-bao", {"page": "abc"}, 400, "Số trang không đúng"),
    ("huge page", "/thong-bao", {"page": "9" * 30}, 400, "Số trang không đúng"),
    ("page past the last", "/thong-bao", {"page": "7"}, 404, "Không có trang này"),
    ("feed, negative page", "/thong-bao/atom.xml", {"page": "-1"}, 400, "Số trang không đúng"),
    ("feed, page in words", "/thong-bao/atom.xml", {"page": "abc"}, 400, "Số trang không đúng"),
    ("feed, huge page", "/thong-bao/atom.xml", {"page": "1e99"}, 400, "Số trang không đúng"),
    ("feed, past the last", "/thong-bao/atom.xml", {"page": "2"}, 404, "Không có trang này"),
    ("commune feed, odd page", f"/xa/{KY_LUA}/atom.xml", {"page": "1; DROP"}, 400, "Số trang"),
]


@pytest.mark.parametrize(
    ("label", "path", "params", "status", "says"), BAD, ids=[b[0] for b in BAD]
)
def test_bad_input_gets_a_clear_page(
    site: str, label: str, path: str, params: dict[str, str], status: int, says: str
) -> None:
    answer = http.get(f"{site}{path}", params=params)
    assert answer.status_code == status, label
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.text.count("<h1") == 1
    assert says in answer.text
    assert "<script" not in answer.text and "<img" not in answer.text
    assert answer.headers["cache-control"] == "no-store"


def test_html_typed_comes_back_escaped(site: str) -> None:
    answer = http.get(f"{site}/tim", params={"q": SCRIPT})
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in answer.text


# Anything at all in a search, a code or a page number: 2xx, 3xx or a 4xx page, never a 5xx.
HOSTILE = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)


@settings(deadline=None, database=None, derandomize=True, max_examples=60)
@given(typed=HOSTILE, code=HOSTILE, page=HOSTILE)
def test_whatever_is_typed_never_gets_a_5xx(site: str, typed: str, code: str, page: str) -> None:
    for path, params in (
        ("/tim", {"q": typed}),
        (f"/xa/{quote(code, safe='')}", {}),
        ("/thong-bao", {"page": page}),
        (f"/xa/{KY_LUA}/atom.xml", {"page": page}),
    ):
        answer = http.get(f"{site}{path}", params=params)
        assert answer.status_code < 500, (path, params, answer.status_code)
