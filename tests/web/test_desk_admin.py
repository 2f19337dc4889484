"""The admin's desk pages over real HTTP: add an account (its password shown once), deactivate,
reset a password, end sessions, the audit log; "change my password"; names with HTML in them
shown as text."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk import staff as accounts
from bot.storage.staff import ADMIN, OPERATOR, SUPERVISOR, StaffUser
from bot.web.app import create_app
from bot.web.desk.auth import COOKIE
from testkit import http
from testkit.fakes.server import serve
from tests.desk_rig import (
    KY_LUA,
    PASSWORD,
    START,
    TAM_THANH,
    Clock,
    add_staff,
    csrf_of,
    desk_settings,
    sign_in,
    signed_in_browser,
)

DATABASES = ("sqlite", "postgresql")
HTML = {"accept": "text/html"}
SHOWN_PASSWORD = re.compile(r'<p class="secret"><code>([^<]+)</code></p>')
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def desk(database_url: str, session_factory: sessionmaker[Session]) -> Iterator[str]:
    add_staff(session_factory, "adm", ADMIN, display_name="Quản trị")
    add_staff(session_factory, "op-kyl", OPERATOR, [KY_LUA])
    with serve(create_app(desk_settings(database_url), now=Clock())) as url:
        yield url


@pytest.fixture
def admin(desk: str) -> Iterator[httpx.Client]:
    with signed_in_browser(desk, "adm") as browser:
        yield browser


def user_id(factory: sessionmaker[Session], username: str) -> int:
    with factory() as session:
        found = session.scalar(select(StaffUser.id).where(StaffUser.username == username))
        assert found is not None
        return found


def post(browser: httpx.Client, path: str, **fields: object) -> httpx.Response:
    token = csrf_of(browser.get("/desk/admin/users"))
    return browser.post(path, data={"csrf": token, **fields})  # type: ignore[dict-item]


def test_the_admin_adds_an_operator_who_signs_in_with_the_password_shown_once(
    desk: str, admin: httpx.Client, session_factory: sessionmaker[Session]
) -> None:
    page = admin.get("/desk/admin/users")
    assert "Phường Kỳ Lừa" in page.text  # the province's communes to choose from
    added = post(
        admin,
        "/desk/admin/users",
        username="Op-Moi",
        display_name="Nguyễn Văn Mới",
        role=OPERATOR,
        communes=[str(KY_LUA), str(TAM_THANH)],
    )
    assert added.status_code == 200
    [password] = SHOWN_PASSWORD.findall(added.text)
    assert "Phường Tam Thanh, Phường Kỳ Lừa" in added.text
    assert not SHOWN_PASSWORD.search(admin.get("/desk/admin/users").text)  # shown once
    with signed_in_browser(desk, "op-moi", password) as newcomer:
        home = newcomer.get("/desk")
        assert "Nguyễn Văn Mới" in home.text and "Tổng đài viên" in home.text
    with session_factory() as session:
        user = accounts.find_user(session=session, username="op-moi")
        assert user is not None and user.communes == {KY_LUA, TAM_THANH}
        assert password not in user.password_hash


@pytest.mark.parametrize(
    ("label", "fields", "message"),
    [
        ("bad username", {"username": "a b", "role": SUPERVISOR}, "Tên đăng nhập cần"),
        ("taken username", {"username": "op-kyl", "role": SUPERVISOR}, "chưa có ai dùng"),
        ("operator without commune", {"username": "op-x", "role": OPERATOR}, "ít nhất một xã"),
        ("unknown role", {"username": "boss", "role": "boss"}, "chọn vai trò"),
    ],
)
def test_an_account_that_cannot_be_added_is_explained(
    admin: httpx.Client,
    session_factory: sessionmaker[Session],
    label: str,
    fields: dict[str, str],
    message: str,
) -> None:
    answer = post(admin, "/desk/admin/users", **fields)
    assert answer.status_code == 422
    assert message in answer.text
    with session_factory() as session:
        assert len(accounts.list_users(session=session)) == 2


def test_deactivating_ends_the_accounts_sessions_and_sign_ins(
    desk: str, admin: httpx.Client, session_factory: sessionmaker[Session]
) -> None:
    target = user_id(session_factory, "op-kyl")
    with signed_in_browser(desk, "op-kyl") as operator:
        done = post(admin, f"/desk/admin/users/{target}/active", active="0")
        assert "Đã ngừng tài khoản" in done.text
        assert operator.get("/desk").status_code == 303
    with httpx.Client(base_url=desk, timeout=http.TIMEOUT, headers=HTML) as browser:
        assert "ngừng hoạt động" in sign_in(browser, "op-kyl").text
    post(admin, f"/desk/admin/users/{target}/active", active="1")
    with signed_in_browser(desk, "op-kyl"):
        pass


def test_an_admin_cannot_deactivate_themselves(
    admin: httpx.Client, session_factory: sessionmaker[Session]
) -> None:
    answer = post(admin, f"/desk/admin/users/{user_id(session_factory, 'adm')}/active", active="0")
    assert answer.status_code == 409
    assert admin.get("/desk").status_code == 200


def test_a_reset_password_replaces_the_old_one_and_ends_sessions(
    desk: str, admin: httpx.Client, session_factory: sessionmaker[Session]
) -> None:
    target = user_id(session_factory, "op-kyl")
    with signed_in_browser(desk, "op-kyl") as operator:
        reset = post(admin, f"/desk/admin/users/{target}/password")
        [password] = SHOWN_PASSWORD.findall(reset.text)
        assert operator.get("/desk").status_code == 303
    with httpx.Client(base_url=desk, timeout=http.TIMEOUT, headers=HTML) as browser:
        assert sign_in(browser, "op-kyl").status_code == 401
    with signed_in_browser(desk, "op-kyl", password):
        pass


def test_ending_an_accounts_sessions(
    desk: str, admin: httpx.Client, session_factory: sessionmaker[Session]
) -> None:
    target = user_id(session_factory, "op-kyl")
    with signed_in_browser(desk, "op-kyl") as one, signed_in_browser(desk, "op-kyl") as two:
        assert "2 phiên" in admin.get("/desk/admin/users").text
        post(admin, f"/desk/admin/users/{target}/sessions")
        assert one.get("/desk").status_code == two.get("/desk").status_code == 303
    assert admin.get("/desk").status_code == 200  # only theirs ended


def test_an_unknown_account_is_a_404_page(admin: httpx.Client) -> None:
    answer = post(admin, "/desk/admin/users/999999/sessions")
    assert answer.status_code == 404 and "Không tìm thấy" in answer.text
    assert post(admin, "/desk/admin/users/abc/sessions").status_code == 422


def test_the_audit_log_lists_the_latest_first_a_page_at_a_time(
    admin: httpx.Client, session_factory: sessionmaker[Session]
) -> None:
    post(admin, f"/desk/admin/users/{user_id(session_factory, 'op-kyl')}/sessions")
    with session_factory.begin() as session:
        for n in range(60):
            accounts.audit(
                session=session,
                staff=None,
                actor=f"old-{n}",
                action="login_wrong",
                target_kind="session",
                now=START.replace(year=2025),
            )
    first = admin.get("/desk/admin/audit")
    assert first.status_code == 200 and "Trang 1/2" in first.text
    rows = re.findall(r'data-label="Thao tác">([^<]+)<', first.text)
    assert rows[:2] == ["Kết thúc các phiên đăng nhập", "Đăng nhập"]  # newest first
    assert len(rows) == 50
    second = admin.get("/desk/admin/audit?page=2")
    assert len(re.findall(r'data-label="Thao tác">', second.text)) == 12
    assert admin.get("/desk/admin/audit?page=-4").status_code == 200


def test_html_in_names_is_shown_as_text(
    desk: str, admin: httpx.Client, session_factory: sessionmaker[Session]
) -> None:
    added = post(
        admin,
        "/desk/admin/users",
        username="sup-x",
        display_name=HOSTILE,
        role=SUPERVISOR,
    )
    [password] = SHOWN_PASSWORD.findall(added.text)
    with signed_in_browser(desk, "sup-x", password) as supervisor:
        pages = [supervisor.get("/desk").text, admin.get("/desk/admin/users").text]
    for text in pages:
        assert "<script>alert" not in text and "<img src=x" not in text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text
    with httpx.Client(base_url=desk, timeout=http.TIMEOUT, headers=HTML) as browser:
        echoed = sign_in(browser, HOSTILE, "x")
        assert "<script>alert" not in echoed.text


def test_changing_my_password_keeps_this_session_and_ends_the_others(desk: str) -> None:
    new = "a brand new passphrase"
    with signed_in_browser(desk, "op-kyl") as here, signed_in_browser(desk, "op-kyl") as there:
        token = csrf_of(here.get("/desk/password"))
        cases = [
            ({"current": "wrong one!", "new": new, "again": new}, "không đúng"),
            ({"current": PASSWORD, "new": new, "again": new + "x"}, "không giống nhau"),
            ({"current": PASSWORD, "new": "short", "again": "short"}, "từ 10 đến 200"),
        ]
        for fields, message in cases:
            answer = here.post("/desk/password", data={"csrf": token, **fields})
            assert answer.status_code == 422 and message in answer.text
        assert there.get("/desk").status_code == 200  # nothing changed yet
        done = here.post(
            "/desk/password", data={"csrf": token, "current": PASSWORD, "new": new, "again": new}
        )
        assert done.status_code == 200 and "Đã đổi mật khẩu" in done.text
        assert here.get("/desk").status_code == 200
        assert there.get("/desk").status_code == 303
        assert COOKIE in here.cookies
    with signed_in_browser(desk, "op-kyl", new):
        pass
