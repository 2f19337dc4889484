"""The desk's sign-in over real HTTP: the form, wrong passwords, lock-out, a login flood, the
session cookie and its end (idle, absolute, sign-out, forged), CSRF on every POST, and which
role reaches which page. Each ``httpx.Client`` is one browser."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.staff import ADMIN, INSPECTOR, OPERATOR, SUPERVISOR, AuditEntry, StaffUser
from bot.web.app import create_app
from bot.web.desk.auth import COOKIE, LOGIN_COOKIE
from testkit import http
from testkit.fakes.server import serve
from tests.desk_rig import (
    HUU_LUNG,
    KY_LUA,
    PASSWORD,
    TAM_THANH,
    Clock,
    add_staff,
    csrf_of,
    desk_settings,
    file_request,
    sign_in,
    signed_in_browser,
)

DATABASES = ("sqlite", "postgresql")
HTML = {"accept": "text/html,application/xhtml+xml"}
LOGINS_PER_MINUTE = 4  # in the flood test; the others allow more


class StoppedClock:
    """The throttles' monotonic clock, standing still: no token comes back during a test."""

    def __call__(self) -> float:
        return 1000.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def logins_per_minute() -> int:
    return 100


@pytest.fixture
def desk(
    database_url: str,
    session_factory: sessionmaker[Session],
    clock: Clock,
    logins_per_minute: int,
) -> Iterator[str]:
    """The app with one account of each role; its URL."""
    add_staff(session_factory, "op-kyl", OPERATOR, [KY_LUA], display_name="Lê Thị Lan")
    add_staff(session_factory, "op-tt", OPERATOR, [TAM_THANH])
    add_staff(session_factory, "sup", SUPERVISOR, display_name="Trần Văn Giám")
    add_staff(session_factory, "ins", INSPECTOR)
    add_staff(session_factory, "adm", ADMIN)
    cfg = desk_settings(database_url, desk_logins_per_minute=logins_per_minute)
    with serve(create_app(cfg, now=clock, clock=StoppedClock())) as url:
        yield url


@pytest.fixture
def browser(desk: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=desk, timeout=http.TIMEOUT, headers=HTML) as client:
        yield client


def alert(page: httpx.Response) -> str:
    found = re.search(r'<p class="alert" role="alert">(.*?)</p>', page.text, re.S)
    return found.group(1).strip() if found else ""


def audit_actions(factory: sessionmaker[Session]) -> list[tuple[str, str]]:
    with factory() as session:
        rows = session.execute(select(AuditEntry.actor, AuditEntry.action).order_by(AuditEntry.id))
        return [(actor, action) for actor, action in rows]


def test_the_sign_in_form_is_vietnamese_and_sets_its_own_form_token(browser: httpx.Client) -> None:
    page = browser.get("/desk/login")
    assert page.status_code == 200
    assert '<html lang="vi"' in page.text and 'name="viewport"' in page.text
    assert "Đăng nhập bàn trực" in page.text
    assert csrf_of(page) == browser.cookies[LOGIN_COOKIE]
    cookie = page.headers["set-cookie"]
    assert (
        "HttpOnly" in cookie
        and "Path=/desk/login" in cookie
        and "samesite=strict" in cookie.lower()
    )
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_signing_in_opens_the_home_page_with_the_name_and_role(
    browser: httpx.Client, session_factory: sessionmaker[Session]
) -> None:
    answer = sign_in(browser, "op-kyl")
    assert (answer.status_code, answer.headers["location"]) == (303, "/desk")
    cookie = answer.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "Path=/desk" in cookie
    assert "samesite=strict" in cookie.lower()
    assert "secure" not in cookie.lower()  # http://127.0.0.1: the local development desk
    home = browser.get("/desk")
    assert home.status_code == 200
    assert "Lê Thị Lan" in home.text and "Tổng đài viên" in home.text
    assert "Đăng xuất" in home.text
    assert browser.get("/desk/login").headers["location"] == "/desk"  # already signed in
    assert audit_actions(session_factory) == [("op-kyl", "login")]


@pytest.mark.parametrize(
    ("label", "headers"),
    [
        ("a public host name", {"host": "desk.example.vn"}),
        ("https behind a proxy on this machine", {"x-forwarded-proto": "https"}),
    ],
)
def test_the_cookies_are_secure_off_this_machine_or_over_https(
    desk: str, label: str, headers: dict[str, str]
) -> None:
    page = http.get(f"{desk}/desk/login", headers=headers)
    assert "; secure" in page.headers["set-cookie"].lower()


def test_the_home_page_counts_the_open_requests_in_the_staff_scope(
    desk: str, session_factory: sessionmaker[Session]
) -> None:
    file_request(session_factory, "telegram:1", KY_LUA)
    file_request(session_factory, "telegram:2", KY_LUA)
    file_request(session_factory, "telegram:3", TAM_THANH)
    file_request(session_factory, "telegram:4", HUU_LUNG)
    expected = {
        "op-kyl": "<strong>2</strong> yêu cầu hỗ trợ đang mở",
        "op-tt": "<strong>1</strong> yêu cầu hỗ trợ đang mở",
        "sup": "<strong>4</strong> yêu cầu hỗ trợ đang mở",
    }
    for username, count in expected.items():
        with signed_in_browser(desk, username) as browser:
            assert count in browser.get("/desk").text
    for username in ("ins", "adm"):
        with signed_in_browser(desk, username) as browser:
            assert "yêu cầu hỗ trợ đang mở" not in browser.get("/desk").text


def test_a_wrong_password_and_an_unknown_username_get_the_same_answer(
    browser: httpx.Client, session_factory: sessionmaker[Session]
) -> None:
    wrong = sign_in(browser, "op-kyl", "not the password")
    unknown = sign_in(browser, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert alert(wrong) == alert(unknown) != ""
    assert "không đúng" in alert(wrong)
    assert COOKIE not in browser.cookies
    assert audit_actions(session_factory) == [("op-kyl", "login_wrong"), ("nobody", "login_wrong")]


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(
    browser: httpx.Client, clock: Clock, session_factory: sessionmaker[Session]
) -> None:
    statuses = [sign_in(browser, "sup", "wrong").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    locked = sign_in(browser, "sup")
    assert locked.status_code == 429
    assert "tạm khóa" in alert(locked) and "08:15 30/11/2026" in alert(locked)
    assert COOKIE not in browser.cookies
    clock.advance(minutes=14)
    assert sign_in(browser, "sup").status_code == 429
    clock.advance(minutes=1)
    assert sign_in(browser, "sup").status_code == 303
    assert browser.get("/desk").status_code == 200
    actions = [action for _, action in audit_actions(session_factory)]
    assert actions == ["login_wrong"] * 4 + ["login_locked"] * 3 + ["login"]


@pytest.mark.parametrize("logins_per_minute", [LOGINS_PER_MINUTE])
def test_a_login_flood_from_one_address_is_throttled(
    browser: httpx.Client, session_factory: sessionmaker[Session]
) -> None:
    statuses = [sign_in(browser, "nobody", "guess").status_code for _ in range(LOGINS_PER_MINUTE)]
    assert statuses == [401] * LOGINS_PER_MINUTE
    flooded = sign_in(browser, "op-kyl")  # even the right password waits
    assert flooded.status_code == 429
    assert "quá nhiều lần đăng nhập" in alert(flooded)
    assert COOKIE not in browser.cookies
    assert len(audit_actions(session_factory)) == LOGINS_PER_MINUTE  # not even checked


def test_pages_send_a_browser_without_a_session_to_the_sign_in_form(desk: str) -> None:
    page = http.get(f"{desk}/desk", headers=HTML)
    assert (page.status_code, page.headers["location"]) == (303, "/desk/login")
    api = http.get(f"{desk}/desk")  # not a browser page: a plain 401
    assert api.status_code == 401


def test_a_forged_cookie_opens_nothing(desk: str) -> None:
    for value in ("forged", "a" * 43, "x" * 5000):
        page = http.get(f"{desk}/desk", headers=HTML, cookies={COOKIE: value})
        assert (page.status_code, page.headers["location"]) == (303, "/desk/login")


def test_a_session_ends_after_two_idle_hours(desk: str, clock: Clock) -> None:
    with signed_in_browser(desk, "sup") as browser:
        clock.advance(minutes=119)
        assert browser.get("/desk").status_code == 200
        clock.advance(minutes=120)
        page = browser.get("/desk")
        assert (page.status_code, page.headers["location"]) == (303, "/desk/login")


def test_a_session_ends_twelve_hours_after_sign_in(desk: str, clock: Clock) -> None:
    with signed_in_browser(desk, "sup") as browser:
        for _ in range(11):
            clock.advance(minutes=60)
            assert browser.get("/desk").status_code == 200
        clock.advance(minutes=60)
        assert browser.get("/desk").status_code == 303


def test_signing_out_revokes_the_session_on_the_server(
    desk: str, session_factory: sessionmaker[Session]
) -> None:
    with signed_in_browser(desk, "sup") as browser:
        token = browser.cookies[COOKIE]
        out = browser.post("/desk/logout", data={"csrf": csrf_of(browser.get("/desk"))})
        assert (out.status_code, out.headers["location"]) == (303, "/desk/login")
        assert COOKIE not in browser.cookies
    # The old cookie, replayed, opens nothing.
    page = http.get(f"{desk}/desk", headers=HTML, cookies={COOKIE: token})
    assert page.status_code == 303
    assert audit_actions(session_factory)[-1] == ("sup", "logout")


def test_a_post_without_or_with_another_csrf_token_changes_nothing(
    desk: str, session_factory: sessionmaker[Session]
) -> None:
    with signed_in_browser(desk, "adm") as admin, signed_in_browser(desk, "sup") as other:
        theirs = csrf_of(other.get("/desk"))
        for form in ({}, {"csrf": ""}, {"csrf": "guess"}, {"csrf": theirs}):
            added = admin.post(
                "/desk/admin/users",
                data={**form, "username": "intruder", "role": ADMIN},
            )
            assert added.status_code == 403
            assert "Biểu mẫu đã hết hạn" in added.text
            out = admin.post("/desk/logout", data=form)
            assert out.status_code == 403
        assert admin.get("/desk").status_code == 200  # still signed in
    with session_factory() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(StaffUser).where(StaffUser.username == "intruder")
            )
            == 0
        )


def test_the_sign_in_form_needs_its_own_token(browser: httpx.Client) -> None:
    browser.get("/desk/login")
    answer = browser.post("/desk/login", data={"username": "sup", "password": PASSWORD})
    assert answer.status_code == 403
    with httpx.Client(base_url=str(browser.base_url), timeout=http.TIMEOUT, headers=HTML) as other:
        # A token from another browser's form, without its cookie: refused too.
        token = csrf_of(browser.get("/desk/login"))
        answer = other.post(
            "/desk/login", data={"csrf": token, "username": "sup", "password": PASSWORD}
        )
        assert answer.status_code == 403
        assert COOKIE not in other.cookies


def test_every_post_route_of_the_desk_checks_csrf(
    desk: str, session_factory: sessionmaker[Session], database_url: str
) -> None:
    app = create_app(desk_settings(database_url))
    posts = [
        route.path
        for route in api_routes(app.routes)
        if route.path.startswith("/desk") and "POST" in route.methods
    ]
    assert len(posts) >= 7
    with session_factory() as session:
        target = session.scalar(select(StaffUser.id).where(StaffUser.username == "op-tt"))
    with signed_in_browser(desk, "adm") as admin:
        for path in posts:
            answer = admin.post(path.replace("{user_id}", str(target)), data={"x": "1"})
            assert answer.status_code == 403, path
    with session_factory() as session:
        user = session.get(StaffUser, target)
        assert user is not None and user.active  # the deactivation did not happen
        assert session.scalar(select(func.count()).select_from(StaffUser)) == 5


def api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every route, also inside included routers (newer FastAPI keeps them as a wrapper that
    holds the router it includes)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (inner := getattr(route, "original_router", None)) is not None:
            yield from api_routes(inner.routes)


PAGES = ("/desk", "/desk/password", "/desk/admin/users", "/desk/admin/audit")
# role → the status of each page above; None: no session at all.
PAGE_TABLE = [
    (None, (303, 303, 303, 303)),
    ("op-kyl", (200, 200, 403, 403)),
    ("sup", (200, 200, 403, 403)),
    ("ins", (200, 200, 403, 403)),
    ("adm", (200, 200, 200, 200)),
]


@pytest.mark.parametrize(("username", "statuses"), PAGE_TABLE)
def test_which_role_reaches_which_page(
    desk: str, username: str | None, statuses: tuple[int, ...]
) -> None:
    with contextlib.ExitStack() as stack:
        if username is None:
            browser = stack.enter_context(
                httpx.Client(base_url=desk, timeout=http.TIMEOUT, headers=HTML)
            )
        else:
            browser = stack.enter_context(signed_in_browser(desk, username))
        got = tuple(browser.get(page).status_code for page in PAGES)
        assert got == statuses
        if 403 in got:
            refused = browser.get(PAGES[got.index(403)])
            assert "Bạn không có quyền xem trang này" in refused.text
