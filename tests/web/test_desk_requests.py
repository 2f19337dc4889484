"""The desk's request pages over real HTTP, with the app wired to the fake channels: who may do
what where (a table), CSRF on every new form, a stale status form, two operators claiming at
once, HTML in every field, and the person receiving the desk's words on the fake Telegram."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk import desk as work
from bot.helpdesk import retention
from bot.helpdesk import staff as accounts
from bot.storage import conversations as log
from bot.storage.helpdesk import HelpRequest, RequestEvent
from bot.storage.staff import ADMIN, INSPECTOR, OPERATOR, SUPERVISOR, StaffUser
from bot.web.desk.auth import LOGIN_PATH
from testkit import http
from testkit.fakes.telegram import update_message
from tests.channels_rig import TELEGRAM_SECRET, Rig, rig, wait_for
from tests.desk_rig import (
    CHEAP,
    KY_LUA,
    START,
    TAM_THANH,
    Clock,
    add_staff,
    csrf_of,
    file_request,
    signed_in_browser,
)

DATABASES = ("sqlite", "postgresql")
HTML = {"accept": "text/html"}


@pytest.fixture
def clock() -> Clock:
    clock = Clock()
    clock.advance(minutes=20)  # the requests are filed at START
    return clock


@pytest.fixture
def desk(database_url: str, session_factory: sessionmaker[Session], clock: Clock) -> Iterator[Rig]:
    """The app with the fake channels and one account of each role (the workers off)."""
    add_staff(session_factory, "op-kyl", OPERATOR, [KY_LUA], display_name="Lê Thị Lan")
    add_staff(session_factory, "op-tt", OPERATOR, [TAM_THANH], display_name="Phạm Văn Tâm")
    add_staff(session_factory, "sup", SUPERVISOR, display_name="Trần Văn Giám")
    add_staff(session_factory, "ins", INSPECTOR)
    add_staff(session_factory, "adm", ADMIN)
    with rig(
        database_url,
        session_factory,
        now=clock,
        desk_watch_seconds=0,
        desk_autoassign_seconds=0,
        **CHEAP,
    ) as app:
        yield app


def alert(page: httpx.Response) -> str:
    found = re.search(r'<p class="alert" role="alert">(.*?)</p>', page.text, re.S)
    return " ".join(found.group(1).split()) if found else ""


def row_of(factory: sessionmaker[Session], code: str) -> HelpRequest:
    with factory() as session:
        row = session.scalar(select(HelpRequest).where(HelpRequest.code == code))
        assert row is not None
        return row


def event_kinds(factory: sessionmaker[Session], code: str) -> list[str]:
    with factory() as session:
        query = (
            select(RequestEvent.kind)
            .join(HelpRequest, HelpRequest.id == RequestEvent.request_id)
            .where(HelpRequest.code == code)
            .order_by(RequestEvent.id)
        )
        return list(session.scalars(query))


def staff_id(factory: sessionmaker[Session], username: str) -> int:
    with factory() as session:
        found = session.scalar(select(StaffUser.id).where(StaffUser.username == username))
        assert found is not None
        return found


# -- who may do what, where -------------------------------------------------------------------

ACTIONS = ("view queue", "view request", "claim", "note", "reply", "assign", "status")
SEEN, DONE, NO, LOGIN = 200, 303, 403, "login"
PERMISSIONS = [
    # (who, the request's commune, what each of ACTIONS answers)
    ("op-kyl", KY_LUA, (SEEN, SEEN, DONE, DONE, DONE, NO, DONE)),
    ("op-kyl", TAM_THANH, (NO, NO, NO, NO, NO, NO, NO)),
    ("sup", KY_LUA, (SEEN, SEEN, DONE, DONE, DONE, DONE, DONE)),
    ("sup", TAM_THANH, (SEEN, SEEN, DONE, DONE, DONE, DONE, DONE)),
    ("ins", KY_LUA, (NO, NO, NO, NO, NO, NO, NO)),
    ("ins", TAM_THANH, (NO, NO, NO, NO, NO, NO, NO)),
    ("adm", KY_LUA, (NO, NO, NO, NO, NO, NO, NO)),  # admins keep accounts, not citizens' data
    ("adm", TAM_THANH, (NO, NO, NO, NO, NO, NO, NO)),
    (None, KY_LUA, (LOGIN,) * 7),
    (None, TAM_THANH, (LOGIN,) * 7),
]


def attempt(
    browser: httpx.Client, action: str, code: str, commune: int, csrf: str, assignee: int, v: int
) -> httpx.Response:
    base = f"/desk/requests/{code}"
    match action:
        case "view queue":
            return browser.get("/desk/requests", params={"commune": commune})
        case "view request":
            return browser.get(base)
        case "claim":
            return browser.post(f"{base}/claim", data={"csrf": csrf})
        case "note":
            return browser.post(f"{base}/note", data={"csrf": csrf, "text": "Đã gọi điện."})
        case "reply":
            return browser.post(f"{base}/reply", data={"csrf": csrf, "text": "Chiều nay có gạo."})
        case "assign":
            return browser.post(f"{base}/assign", data={"csrf": csrf, "staff_id": assignee})
        case _:
            data = {"csrf": csrf, "to": "resolved", "version": v, "reason": "Đã trao 10 kg gạo."}
            return browser.post(f"{base}/status", data=data)


@pytest.mark.parametrize(("who", "commune", "expected"), PERMISSIONS)
def test_who_may_do_what_where_as_a_table(
    desk: Rig,
    session_factory: sessionmaker[Session],
    who: str | None,
    commune: int,
    expected: tuple[object, ...],
) -> None:
    code = file_request(session_factory, "telegram:77", commune)
    holder = staff_id(session_factory, "op-kyl" if commune == KY_LUA else "op-tt")
    got: list[object] = []
    with httpx.Client(base_url=desk.url, timeout=10, headers=HTML) as anonymous:
        if who is None:
            for action in ACTIONS:
                answer = attempt(anonymous, action, code, commune, "x", holder, 1)
                location = answer.headers.get("location")
                got.append(LOGIN if (answer.status_code, location) == (303, LOGIN_PATH) else answer)
            assert tuple(got) == expected
            assert event_kinds(session_factory, code) == ["created"]
            return
    with signed_in_browser(desk.url, who) as browser:
        csrf = csrf_of(browser.get("/desk"))
        for action in ACTIONS:
            version = row_of(session_factory, code).version
            answer = attempt(browser, action, code, commune, csrf, holder, version)
            got.append(answer.status_code)
            if answer.status_code == 303:
                assert answer.headers["location"].startswith(f"/desk/requests/{code}?done=")
    assert tuple(got) == expected
    if NO in expected and SEEN not in expected:  # refused everything: nothing was stored
        assert event_kinds(session_factory, code) == ["created"]
        assert row_of(session_factory, code).assignee_id is None


def test_an_unknown_or_malformed_code_is_not_found(desk: Rig) -> None:
    with signed_in_browser(desk.url, "sup") as browser:
        assert browser.get("/desk/requests/HT-26-999999").status_code == 404
        assert browser.get("/desk/requests/<script>").status_code == 404
        csrf = csrf_of(browser.get("/desk"))
        answer = browser.post("/desk/requests/HT-26-999999/note", data={"csrf": csrf, "text": "x"})
        assert answer.status_code == 404


# -- CSRF -------------------------------------------------------------------------------------

FORMS = {
    "claim": {},
    "release": {},
    "assign": {"staff_id": "1"},
    "note": {"text": "ghi chú"},
    "reply": {"text": "trả lời"},
    "status": {"to": "resolved", "version": "1", "reason": "xong"},
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_form_without_its_csrf_token_changes_nothing(
    desk: Rig, session_factory: sessionmaker[Session], form: str
) -> None:
    code = file_request(session_factory, "telegram:78", KY_LUA)
    with signed_in_browser(desk.url, "sup") as browser:
        for token in (None, "forged-token"):
            data = dict(FORMS[form]) | ({"csrf": token} if token else {})
            answer = browser.post(f"/desk/requests/{code}/{form}", data=data)
            assert answer.status_code == 403
            assert "Biểu mẫu đã hết hạn" in answer.text
    row = row_of(session_factory, code)
    assert (row.status, row.assignee_id, row.version) == ("new", None, 1)
    assert event_kinds(session_factory, code) == ["created"]
    with session_factory() as session:
        outbound = select(func.count()).where(log.Message.direction == log.OUTBOUND)
        assert session.scalar(outbound) == 0


# -- conflicts ------------------------------------------------------------------------------


def test_a_stale_status_form_is_a_conflict_that_keeps_what_was_typed(
    desk: Rig, session_factory: sessionmaker[Session]
) -> None:
    code = file_request(session_factory, "telegram:79", KY_LUA)
    with (
        signed_in_browser(desk.url, "op-kyl") as lan,
        signed_in_browser(desk.url, "sup") as boss,
    ):
        seen = lan.get(f"/desk/requests/{code}")
        version = re.search(r'name="version" value="(\d+)"', seen.text)
        assert version is not None
        boss_page = boss.get(f"/desk/requests/{code}")
        closed = boss.post(
            f"/desk/requests/{code}/status",
            data={"csrf": csrf_of(boss_page), "to": "referred", "version": version.group(1),
                  "reason": "Chuyển UBND phường"},
        )  # fmt: skip
        assert closed.status_code == 303
        late = lan.post(
            f"/desk/requests/{code}/status",
            data={"csrf": csrf_of(seen), "to": "resolved", "version": version.group(1),
                  "reason": "Đã mang gạo đến tận nhà"},
        )  # fmt: skip
    assert late.status_code == 409
    message = alert(late)
    assert "vừa được người khác cập nhật" in message
    assert "Đã chuyển đơn vị khác" in message and "Chuyển UBND phường" in message
    assert ">Đã mang gạo đến tận nhà</textarea>" in late.text  # nothing typed is lost
    fresh = re.search(r'name="version" value="(\d+)"', late.text)
    assert fresh is not None and int(fresh.group(1)) > int(version.group(1))
    row = row_of(session_factory, code)
    assert (row.status, row.status_reason) == ("referred", "Chuyển UBND phường")


def test_two_operators_claiming_at_once_one_wins_and_the_other_is_told(
    desk: Rig, session_factory: sessionmaker[Session]
) -> None:
    add_staff(session_factory, "op-kyl2", OPERATOR, [KY_LUA], display_name="Hoàng Minh Đức")
    code = file_request(session_factory, "telegram:80", KY_LUA)
    with (
        signed_in_browser(desk.url, "op-kyl") as lan,
        signed_in_browser(desk.url, "op-kyl2") as duc,
    ):
        tokens = {lan: csrf_of(lan.get("/desk")), duc: csrf_of(duc.get("/desk"))}
        start = threading.Barrier(2)
        answers: dict[httpx.Client, httpx.Response] = {}

        def claim(browser: httpx.Client) -> None:
            start.wait()
            answers[browser] = browser.post(
                f"/desk/requests/{code}/claim", data={"csrf": tokens[browser]}
            )

        threads = [threading.Thread(target=claim, args=(b,)) for b in (lan, duc)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    statuses = sorted(a.status_code for a in answers.values())
    assert statuses == [303, 409]
    (lost,) = [a for a in answers.values() if a.status_code == 409]
    winner = "Lê Thị Lan" if lost is answers[duc] else "Hoàng Minh Đức"
    assert alert(lost).startswith(f"Yêu cầu này vừa được {winner} nhận")
    row = row_of(session_factory, code)
    assert row.assignee_id == staff_id(
        session_factory, "op-kyl" if answers[lan].status_code == 303 else "op-kyl2"
    )
    assert event_kinds(session_factory, code) == ["created", "status"]


# -- escaping -------------------------------------------------------------------------------

SCRIPT = '<script>alert("x")</script>'


def test_html_in_every_field_is_shown_as_text(
    desk: Rig, session_factory: sessionmaker[Session]
) -> None:
    add_staff(session_factory, "op-evil", OPERATOR, [KY_LUA], display_name=f"Tên {SCRIPT}")
    code = file_request(session_factory, "telegram:81", KY_LUA, description=f"Mô tả {SCRIPT}")
    with signed_in_browser(desk.url, "op-evil") as browser:
        csrf = csrf_of(browser.get("/desk"))
        for form, text in (
            ("claim", ""),
            ("note", f"Ghi chú {SCRIPT}"),
            ("reply", f"Trả lời {SCRIPT}"),
        ):
            answer = browser.post(
                f"/desk/requests/{code}/{form}", data={"csrf": csrf, "text": text}
            )
            assert answer.status_code == 303
        page = browser.get(f"/desk/requests/{code}")
        queue = browser.get("/desk/requests")
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
    for shown in (page, queue):
        assert "<script>alert" not in shown.text
    for words in ("Mô tả ", "Ghi chú ", "Trả lời ", "Tên "):
        assert words + escaped in page.text, words
    assert "Tên " + escaped in queue.text  # the assignee column


# -- the queue ------------------------------------------------------------------------------


def test_the_queue_keeps_its_filters_counts_statuses_and_shows_nothing_personal(
    desk: Rig, session_factory: sessionmaker[Session], clock: Clock
) -> None:
    urgent = file_request(
        session_factory, "telegram:82", KY_LUA, level="emergency", phone="0912345678",
        description="Bà cụ khó thở",
    )  # fmt: skip
    calm = file_request(session_factory, "telegram:83", KY_LUA)
    elsewhere = file_request(session_factory, "telegram:84", TAM_THANH)
    with signed_in_browser(desk.url, "sup") as browser:
        everything = browser.get("/desk/requests")
        assert everything.text.index(urgent) < everything.text.index(calm)  # most urgent first
        assert elsewhere in everything.text
        assert "Quá hạn" in everything.text and 'class="urgency-row-emergency overdue"' in (
            everything.text
        )  # 20 minutes without an answer: past the emergency's 15
        assert "20 phút trước" in everything.text and "Khẩn cấp" in everything.text
        for personal in ("0912345678", "Bà cụ khó thở", "Số 5 ngõ 12"):
            assert personal not in everything.text
        mine = browser.get(
            "/desk/requests", params={"commune": KY_LUA, "urgency": "normal", "age": "0.25"}
        )
    assert calm in mine.text and urgent not in mine.text and elsewhere not in mine.text
    assert f'<option value="{KY_LUA}" selected>' in mine.text
    assert '<option value="normal" selected>' in mine.text
    assert '<option value="0.25" selected>' in mine.text
    assert re.search(r"Mới <strong>1</strong>", mine.text)


@pytest.mark.parametrize(
    "query",
    [{"status": "lost"}, {"need": "<b>"}, {"age": "2"}, {"commune": "abc"}, {"assignee": "7"}],
)
def test_a_filter_the_bar_cannot_make_is_a_clear_400(desk: Rig, query: dict[str, str]) -> None:
    with signed_in_browser(desk.url, "sup") as browser:
        answer = browser.get("/desk/requests", params=query)
    assert answer.status_code == 400
    assert "Địa chỉ không hợp lệ" in answer.text


def test_the_queue_poll_counts_requests_filed_since_the_page_was_shown(
    desk: Rig, session_factory: sessionmaker[Session], clock: Clock
) -> None:
    file_request(session_factory, "telegram:85", KY_LUA)
    with signed_in_browser(desk.url, "op-kyl") as browser:
        page = browser.get("/desk/requests")
        poll = re.search(r'data-poll="([^"]+)"', page.text)
        assert poll is not None
        url = poll.group(1).replace("&amp;", "&")
        json = {"accept": "application/json"}
        assert browser.get(url, headers=json).json() == {"new": 0}
        clock.advance(minutes=1)
        file_request(session_factory, "telegram:86", KY_LUA, at=clock.at)
        file_request(session_factory, "telegram:87", TAM_THANH, at=clock.at)  # not theirs
        assert browser.get(url, headers=json).json() == {"new": 1}
        assert browser.get("/desk/requests/new?since=yesterday", headers=json).status_code == 400
    outsider = http.get(f"{desk.url}{url}", headers={"accept": "application/json"})
    assert outsider.status_code == 401


# -- the person hears of it -------------------------------------------------------------------


def test_the_person_receives_the_reply_and_the_status_changes_on_telegram(
    desk: Rig, session_factory: sessionmaker[Session]
) -> None:
    code = file_request(session_factory, "telegram:4242", KY_LUA)
    with signed_in_browser(desk.url, "op-kyl") as browser:
        csrf = csrf_of(browser.get(f"/desk/requests/{code}"))
        post = lambda form, **data: browser.post(  # noqa: E731
            f"/desk/requests/{code}/{form}", data={"csrf": csrf, **data}
        )
        assert post("claim").status_code == 303
        assert post("reply", text="Chiều nay tổ dân phố mang gạo đến.").status_code == 303
        version = str(row_of(session_factory, code).version)
        done = post("status", to="resolved", version=version, reason="Đã trao gạo")
        assert done.headers["location"] == f"/desk/requests/{code}?done=status"
        assert "báo cho người dân" in browser.get(done.headers["location"]).text
    sent = wait_for(lambda: len(desk.telegram.sent) >= 3 and desk.telegram.sent)
    texts = [m["text"] for m in sent if m["chat_id"] == 4242]
    assert texts == [
        f"Yêu cầu hỗ trợ {code} của bạn đã có cán bộ tiếp nhận và đang được xử lý. Loa sẽ "
        "báo cho bạn ngay khi có kết quả.",
        f"Cán bộ đường dây nóng trả lời về yêu cầu hỗ trợ {code} của bạn:\n\n"
        "Chiều nay tổ dân phố mang gạo đến.",
        f"Yêu cầu hỗ trợ {code} của bạn đã được giải quyết. Cảm ơn bạn đã kiên nhẫn chờ đợi. "
        'Nếu vẫn cần giúp đỡ, bạn nhắn "tôi cần giúp đỡ" để gửi yêu cầu mới nhé.',
    ]
    assert event_kinds(session_factory, code) == ["created", "status", "message", "status"]


def test_a_person_who_blocked_the_bot_gets_a_call_instead(
    desk: Rig, session_factory: sessionmaker[Session]
) -> None:
    code = file_request(session_factory, "telegram:4343", KY_LUA, phone="0912345678")
    with session_factory.begin() as session:
        account = session.scalar(
            select(log.ChannelAccount).where(log.ChannelAccount.external_id == "4343")
        )
        assert account is not None
        account.reachable = False
    with signed_in_browser(desk.url, "op-kyl") as browser:
        page = browser.get(f"/desk/requests/{code}")
        assert "đã chặn hoặc rời kênh Telegram" in page.text
        assert 'href="tel:0912345678"' in page.text
        assert re.search(r"<textarea name=\"text\"[^>]*disabled", page.text)
        answer = browser.post(
            f"/desk/requests/{code}/reply", data={"csrf": csrf_of(page), "text": "Alo"}
        )
    assert answer.status_code == 409
    assert "Vui lòng gọi điện" in alert(answer)
    assert ">Alo</textarea>" in answer.text
    assert event_kinds(session_factory, code) == ["created"]


def test_the_supervisors_home_lists_the_overdue_requests(
    desk: Rig, session_factory: sessionmaker[Session]
) -> None:
    late = file_request(session_factory, "telegram:88", KY_LUA, level="emergency")
    fine = file_request(session_factory, "telegram:89", KY_LUA)
    with signed_in_browser(desk.url, "sup") as browser:
        home = browser.get("/desk").text
    with signed_in_browser(desk.url, "op-kyl") as browser:
        operator_home = browser.get("/desk").text
    overdue = home[home.index('id="overdue"') :]
    assert late in overdue and fine not in overdue
    assert "chưa trả lời người dân, quá hạn 5 phút" in overdue
    assert 'id="overdue"' not in operator_home


@pytest.mark.parametrize(
    ("why", "shown"),
    [("forget_me", "(người dân đã yêu cầu xóa)"), ("retention", "(đã xóa theo thời hạn lưu trữ)")],
)
def test_erased_texts_say_why_and_when(
    desk: Rig, session_factory: sessionmaker[Session], clock: Clock, why: str, shown: str
) -> None:
    code = file_request(
        session_factory, "telegram:90", KY_LUA, phone="0912345678", description="Nhà số 5"
    )
    with session_factory.begin() as session:
        account = session.scalar(
            select(log.ChannelAccount).where(log.ChannelAccount.external_id == "90")
        )
        assert account is not None
        session.add(
            log.Message(account_id=account.id, channel="telegram", direction=log.INBOUND,
                        text="Tôi ở nhà số 5", data={}, status=log.ANSWERED, created_at=START)
        )  # fmt: skip
    with signed_in_browser(desk.url, "op-kyl") as browser:
        page = browser.get(f"/desk/requests/{code}")
        csrf = csrf_of(page)
        browser.post(f"/desk/requests/{code}/note", data={"csrf": csrf, "text": "Gọi lúc 9h"})
        version = str(row_of(session_factory, code).version)
        close = {"csrf": csrf, "to": "resolved", "version": version, "reason": "xong"}
        assert browser.post(f"/desk/requests/{code}/status", data=close).status_code == 303
        with session_factory.begin() as session:
            if why == "forget_me":
                person = row_of(session_factory, code).person_id
                retention.ask_to_forget(session=session, person_id=person, now=clock.at)
            else:
                later = clock.at + timedelta(days=31)
                retention.erase_closed_requests(session=session, now=later, days=30)
                retention.expire_message_texts(session=session, now=later, days=0)
        erased = browser.get(f"/desk/requests/{code}").text
    for gone in ("0912345678", "Nhà số 5", "Số 5 ngõ 12", "Tôi ở nhà số 5", "Gọi lúc 9h"):
        assert gone not in erased, gone
    fields, rest = erased.split("<h2>Thời hạn</h2>")
    events, transcript = rest.split('class="card transcript"')
    assert fields.count(shown) == 4  # the notice at the top; description, address, phone
    assert shown in events  # the note
    assert shown in transcript  # the person's message
    assert "Thông tin cá nhân của yêu cầu này đã được xóa lúc" in erased


BAD_FORMS = [
    # (form, fields, status, the alert's start, what the form shows again)
    ("note", {"text": "x" * 5000}, 422, "Ghi chú không được để trống", "x" * 5000),
    ("note", {"text": "   "}, 422, "Ghi chú không được để trống", None),
    ("reply", {"text": "ạ" * 5000}, 422, "Nội dung trả lời không được để trống", "ạ" * 5000),
    ("status", {"to": "resolved", "reason": " "}, 422, "Vui lòng ghi lý do", None),
    ("status", {"to": "lost", "reason": "Đã xong"}, 422, "Không thể chuyển", "Đã xong"),
    ("status", {"to": "resolved", "version": "abc", "reason": "Đã xong"}, 422,
     "Không thể chuyển", "Đã xong"),
    ("assign", {"staff_id": "abc"}, 422, "Người được chọn không phụ trách", None),
]  # fmt: skip


@pytest.mark.parametrize(("form", "fields", "status", "said", "kept"), BAD_FORMS)
def test_a_bad_form_is_refused_clearly_and_keeps_what_was_typed(
    desk: Rig,
    session_factory: sessionmaker[Session],
    form: str,
    fields: dict[str, str],
    status: int,
    said: str,
    kept: str | None,
) -> None:
    code = file_request(session_factory, "telegram:91", KY_LUA)
    with signed_in_browser(desk.url, "sup") as browser:
        csrf = csrf_of(browser.get(f"/desk/requests/{code}"))
        data = {"csrf": csrf, "version": "1", **fields}
        answer = browser.post(f"/desk/requests/{code}/{form}", data=data)
    assert answer.status_code == status
    assert alert(answer).startswith(said)
    if kept is not None:
        assert f">{kept}</textarea>" in answer.text
    row = row_of(session_factory, code)
    assert (row.status, row.version, row.assignee_id) == ("new", 1, None)
    assert event_kinds(session_factory, code) == ["created"]


# -- the event loop ---------------------------------------------------------------------------

SLOW = [
    # (what waits on the database, the request, the module and function doing that work)
    ("queue", "GET", "/desk/requests", work, "queue"),
    ("request page", "GET", "/desk/requests/{code}", work, "detail"),
    ("note", "POST", "/desk/requests/{code}/note", work, "add_note"),
    ("sign-in check of a page", "GET", "/desk/requests", accounts, "session_for"),
    ("sign-in check of a form", "POST", "/desk/requests/{code}/note", accounts, "session_for"),
]


@pytest.mark.parametrize(
    ("label", "method", "path", "module", "name"), SLOW, ids=[case[0] for case in SLOW]
)
def test_a_slow_desk_page_holds_up_no_citizen(
    desk: Rig,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    label: str,
    method: str,
    path: str,
    module: object,
    name: str,
) -> None:
    """The desk's database work (its pages, its forms, the sign-in check of every request)
    runs off the app's event loop: while it waits, a citizen's Telegram message is answered.
    The work here waits until the webhook has been answered: on the loop it would wait for
    ever (bounded: the webhook's post times out instead)."""
    code = file_request(session_factory, "telegram:92", KY_LUA)
    entered, released = threading.Event(), threading.Event()
    original = getattr(module, name)

    def slow(*args: object, **kwargs: object) -> object:
        entered.set()
        released.wait(timeout=20)
        return original(*args, **kwargs)

    answers: list[int] = []
    with signed_in_browser(desk.url, "op-kyl") as browser:
        form = {"csrf": csrf_of(browser.get("/desk")), "text": "Đã gọi điện."}
        monkeypatch.setattr(module, name, slow)
        opening = threading.Thread(
            target=lambda: answers.append(
                browser.request(
                    method, path.format(code=code), data=form if method == "POST" else None
                ).status_code
            )
        )
        opening.start()
        try:
            assert entered.wait(timeout=20), f"{label}: the slow work was never reached"
            update = update_message(1, 4343, "số đường dây nóng")
            headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
            assert desk.post("/webhooks/telegram", update, headers).status_code == 200
            assert not released.is_set() and opening.is_alive()  # answered while it waited
        finally:
            released.set()
            opening.join(timeout=30)
    assert not opening.is_alive() and answers == [303 if method == "POST" else 200]
