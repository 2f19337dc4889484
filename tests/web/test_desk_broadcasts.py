"""The communications officers' pages over real HTTP: who may see and do what (a table), CSRF on
every form, four-eyes (not one's own draft, one approval however often it is pressed), a stale
edit, HTML typed into a title or a template, the recipient preview against a seeded audience,
the live progress following the delivery rows, the levels form and the plan-vs-actual page."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from html import unescape

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts import audience
from bot.alerts import broadcasts as work
from bot.alerts.subscriptions import AreaCode, unsubscribe
from bot.clock import VIETNAM
from bot.content import files
from bot.helpdesk.staff import Staff
from bot.storage.alerts import DONE, DRAFT, FAILED, SENT, UNREACHABLE, Broadcast, Delivery
from bot.storage.content import AreaLevel
from bot.storage.staff import (
    ADMIN,
    COMMUNICATIONS,
    INSPECTOR,
    OPERATOR,
    SUPERVISOR,
    AuditEntry,
    StaffUser,
)
from tests.channels_rig import Rig, rig
from tests.desk_rig import (
    CHEAP,
    KY_LUA,
    LANG_SON,
    TAM_THANH,
    Clock,
    add_staff,
    csrf_of,
    signed_in_browser,
    subscriber,
)

DATABASES = ("sqlite", "postgresql")
HTML = {"accept": "text/html"}
PROVINCE = AreaCode(LANG_SON)
SCRIPT = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(database_url: str, session_factory: sessionmaker[Session], clock: Clock) -> Iterator[Rig]:
    """The app with the fake channels, the demo content, and one account of each role."""
    load_content(session_factory)
    add_staff(session_factory, "comm-1", COMMUNICATIONS, display_name="Nguyễn Thu Hà")
    add_staff(session_factory, "comm-2", COMMUNICATIONS, display_name="Hoàng Văn Minh")
    add_staff(session_factory, "sup", SUPERVISOR, display_name="Trần Văn Giám")
    add_staff(session_factory, "op-kyl", OPERATOR, [KY_LUA])
    add_staff(session_factory, "ins", INSPECTOR)
    add_staff(session_factory, "adm", ADMIN)
    with rig(
        database_url,
        session_factory,
        now=clock,
        desk_watch_seconds=0,
        desk_autoassign_seconds=0,
        embedded_worker=0,  # the tests move the delivery rows themselves
        **CHEAP,
    ) as app:
        yield app


def load_content(factory: sessionmaker[Session]) -> None:
    """The Lạng Sơn demo: its levels, hotlines and the seed plan's scheme."""
    with factory.begin() as session:
        files.load(files.read_file(files.DEMO), session=session, prefer_province="Lạng Sơn")


def count(factory: sessionmaker[Session], model: type[object]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def officer(factory: sessionmaker[Session], username: str) -> Staff:
    with factory() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        assert user is not None
        return Staff.of(user)


def draft(
    factory: sessionmaker[Session],
    clock: Clock,
    *,
    by: str = "comm-1",
    areas: tuple[AreaCode, ...] = (PROVINCE,),
    title: str = "Tiêm chủng cuối tuần",
    template: str = "Thông báo gửi người dân {khu_vuc}: trạm y tế mở cửa tiêm chủng thứ Bảy.",
) -> int:
    """A one-off draft written by ``by``; its id."""
    with factory.begin() as session:
        made = work.draft_one_off(
            session=session, officer=officer(factory, by), areas=list(areas), title=title,
            template=template, urgent=False, now=clock(),
        )  # fmt: skip
        session.flush()
        return made.id


def broadcast(factory: sessionmaker[Session], broadcast_id: int) -> Broadcast:
    with factory() as session:
        row = session.get(Broadcast, broadcast_id)
        assert row is not None
        session.expunge(row)
        return row


def alert(page: httpx.Response) -> str:
    found = re.search(
        r'<(?:p|div) class="alert[^"]*" role="alert"[^>]*>(.*?)</(?:p|div)>', page.text, re.S
    )
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split()) if found else ""


def approve_as(browser: httpx.Client, broadcast_id: int, version: int) -> httpx.Response:
    page = browser.get(f"/desk/broadcasts/{broadcast_id}")
    return browser.post(
        f"/desk/broadcasts/{broadcast_id}/approve",
        data={"csrf": csrf_of(page), "version": str(version)},
    )


# -- who may see and do what ------------------------------------------------------------------

PAGES = ("levels", "list", "new", "one", "progress", "plan")
ACTIONS = ("set level", "one-off", "edit", "approve", "cancel")
SEEN, DONE_, NO, LOGIN = 200, 303, 403, "login"
PERMISSIONS = [
    # (who, what each of PAGES answers, what each of ACTIONS answers)
    ("comm-2", (SEEN,) * 6, (DONE_,) * 5),
    ("sup", (SEEN, SEEN, NO, SEEN, SEEN, SEEN), (NO,) * 5),  # reads, never acts
    ("op-kyl", (NO,) * 6, (NO,) * 5),
    ("ins", (NO,) * 6, (NO,) * 5),
    ("adm", (NO,) * 6, (NO,) * 5),
    (None, (LOGIN,) * 6, (LOGIN,) * 5),
]


def look(browser: httpx.Client, page: str, broadcast_id: int) -> httpx.Response:
    path = {
        "levels": "/desk/levels",
        "list": "/desk/broadcasts",
        "new": "/desk/broadcasts/new",
        "one": f"/desk/broadcasts/{broadcast_id}",
        "progress": f"/desk/broadcasts/{broadcast_id}/progress",
        "plan": "/desk/broadcasts/plan",
    }[page]
    return browser.get(path)


def act(
    browser: httpx.Client, action: str, broadcast_id: int, version: int, csrf: str, clock: Clock
) -> httpx.Response:
    base = f"/desk/broadcasts/{broadcast_id}"
    when = (clock() + timedelta(hours=1)).astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M")
    match action:
        case "set level":
            data = {"area": "Kỳ Lừa", "level": "3", "decision": "15/QĐ-UBND", "effective_at": when}
            return browser.post("/desk/levels", data={"csrf": csrf, **data})
        case "one-off":
            data = {"areas": "Tam Thanh", "title": "Nước sạch", "template": "Cắt nước ngày mai."}
            return browser.post("/desk/broadcasts/new", data={"csrf": csrf, **data})
        case "edit":
            data = {
                "title": "Sửa",
                "template": "Nội dung mới cho {khu_vuc}.",
                "version": str(version),
            }
            return browser.post(f"{base}/edit", data={"csrf": csrf, **data})
        case "approve" | "cancel":
            return browser.post(f"{base}/{action}", data={"csrf": csrf, "version": str(version)})
    raise AssertionError(action)


@pytest.mark.parametrize(("who", "pages", "actions"), PERMISSIONS, ids=lambda v: str(v))
def test_who_may_see_and_do_what(
    desk: Rig,
    session_factory: sessionmaker[Session],
    clock: Clock,
    who: str | None,
    pages: tuple[object, ...],
    actions: tuple[object, ...],
) -> None:
    with ExitStack() as stack:
        if who is None:
            browser = stack.enter_context(httpx.Client(base_url=desk.url, headers=HTML, timeout=10))
            csrf = "forged"
        else:
            browser = stack.enter_context(signed_in_browser(desk.url, who))
            csrf = csrf_of(browser.get("/desk/password"))
        shown = draft(session_factory, clock)
        for page, expected in zip(PAGES, pages, strict=True):
            assert outcome(look(browser, page, shown)) == expected, (who, page)
        for action, expected in zip(ACTIONS, actions, strict=True):
            target = draft(session_factory, clock)  # by comm-1: comm-2 may approve it
            assert outcome(act(browser, action, target, 1, csrf, clock)) == expected, (who, action)


def outcome(answer: httpx.Response) -> object:
    return LOGIN if answer.headers.get("location") == "/desk/login" else answer.status_code


def test_every_form_needs_its_csrf_token(
    desk: Rig, session_factory: sessionmaker[Session], clock: Clock
) -> None:
    shown = draft(session_factory, clock)
    before = broadcast(session_factory, shown)
    levels_before = count(session_factory, AreaLevel)
    with signed_in_browser(desk.url, "comm-2") as browser:
        for action in ACTIONS:
            for token in ("", "not-the-token"):
                answer = act(browser, action, shown, before.version, token, clock)
                assert answer.status_code == 403, action
                assert "Biểu mẫu đã hết hạn" in answer.text
    after = broadcast(session_factory, shown)
    assert (after.version, after.status, after.title) == (before.version, DRAFT, before.title)
    assert (count(session_factory, Broadcast), count(session_factory, AreaLevel)) == (
        1, levels_before,
    )  # fmt: skip


# -- four-eyes, conflicts, escaping -----------------------------------------------------------


def test_the_author_cannot_approve_their_own_draft_and_is_told_why(
    desk: Rig, session_factory: sessionmaker[Session], clock: Clock
) -> None:
    shown = draft(session_factory, clock, by="comm-1")
    with signed_in_browser(desk.url, "comm-1") as browser:
        page = browser.get(f"/desk/broadcasts/{shown}")
        assert 'id="approve-form"' not in page.text
        assert "không thể tự duyệt" in page.text  # why, before trying
        answer = approve_as(browser, shown, 1)  # a hand-made post is refused too
        assert answer.status_code == 422
        assert alert(answer)  # the domain's sentence, next to nothing else
    row = broadcast(session_factory, shown)
    assert (row.status, row.approved_by, row.text) == (DRAFT, None, "")


def test_approving_twice_approves_once(
    desk: Rig, session_factory: sessionmaker[Session], clock: Clock
) -> None:
    shown = draft(session_factory, clock)
    version = broadcast(session_factory, shown).version
    with signed_in_browser(desk.url, "comm-2") as browser:
        first = approve_as(browser, shown, version)
        assert (first.status_code, first.headers["location"]) == (
            303, f"/desk/broadcasts/{shown}?done=approved",
        )  # fmt: skip
        approved = broadcast(session_factory, shown)
        clock.advance(minutes=1)
        again = approve_as(browser, shown, version)  # the same form, pressed again
        assert again.status_code == 409
        assert "vừa được người khác thay đổi" in again.text
    row = broadcast(session_factory, shown)
    assert row.status != DRAFT and row.approved_at == approved.approved_at
    assert row.version == approved.version
    with session_factory() as session:
        approvals = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "broadcast_approve")
        )
    assert approvals == 1


def test_two_officers_approving_at_once_make_one_approval(
    desk: Rig, session_factory: sessionmaker[Session], clock: Clock
) -> None:
    add_staff(session_factory, "comm-3", COMMUNICATIONS)
    shown = draft(session_factory, clock)
    version = broadcast(session_factory, shown).version
    answers: dict[str, int] = {}
    with signed_in_browser(desk.url, "comm-2") as one, signed_in_browser(desk.url, "comm-3") as two:
        forms = {
            name: (b, csrf_of(b.get(f"/desk/broadcasts/{shown}")))
            for name, b in (("2", one), ("3", two))
        }
        start = threading.Barrier(2)

        def press(name: str) -> None:
            browser, csrf = forms[name]
            start.wait()
            answers[name] = browser.post(
                f"/desk/broadcasts/{shown}/approve", data={"csrf": csrf, "version": str(version)}
            ).status_code

        threads = [threading.Thread(target=press, args=(n,)) for n in forms]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(answers.values()) == [303, 409]
    winner = "comm-2" if answers["2"] == 303 else "comm-3"
    row = broadcast(session_factory, shown)
    assert row.approved_by == officer(session_factory, winner).id


def test_a_stale_edit_is_a_conflict_that_loses_nothing(
    desk: Rig, session_factory: sessionmaker[Session], clock: Clock
) -> None:
    shown = draft(session_factory, clock)
    with signed_in_browser(desk.url, "comm-1") as one, signed_in_browser(desk.url, "comm-2") as two:
        mine = one.get(f"/desk/broadcasts/{shown}")
        seen = re.search(r'name="version" value="(\d+)"', mine.text)
        assert seen
        theirs = two.get(f"/desk/broadcasts/{shown}")
        saved = two.post(
            f"/desk/broadcasts/{shown}/edit",
            data={
                "csrf": csrf_of(theirs), "version": seen.group(1), "title": "Bản của Minh",
                "template": "Lịch tiêm của Minh cho {khu_vuc}.",
            },
        )  # fmt: skip
        assert (saved.status_code, saved.headers["location"]) == (
            303, f"/desk/broadcasts/{shown}?done=saved",
        )  # fmt: skip
        typed = "Lịch tiêm của Hà cho {khu_vuc}: sáng thứ Bảy, 7 giờ."
        stale = one.post(
            f"/desk/broadcasts/{shown}/edit",
            data={"csrf": csrf_of(mine), "version": seen.group(1), "title": "Bản của Hà",
                  "template": typed},
        )  # fmt: skip
    assert stale.status_code == 409
    conflict = re.search(
        r'<div class="alert" role="alert" id="conflict">(.*?)</div>', stale.text, re.S
    )
    assert conflict and "Lịch tiêm của Minh cho {khu_vuc}." in conflict.group(
        1
    )  # what is there now
    form = re.search(r'<form [^>]*id="edit-form">(.*?)</form>', stale.text, re.S)
    assert form and typed in form.group(1) and 'value="Bản của Hà"' in form.group(1)  # kept
    row = broadcast(session_factory, shown)
    assert (row.title, row.template) == ("Bản của Minh", "Lịch tiêm của Minh cho {khu_vuc}.")
    assert f'name="version" value="{row.version}"' in form.group(1)  # saving again works


def test_html_in_a_title_or_template_is_text(
    desk: Rig, session_factory: sessionmaker[Session], clock: Clock
) -> None:
    shown = draft(
        session_factory, clock, title=f"Tin {SCRIPT}", template=f"Chú ý {SCRIPT} {{khu_vuc}}"
    )
    with signed_in_browser(desk.url, "comm-2") as browser:
        for path in ("/desk/broadcasts", f"/desk/broadcasts/{shown}"):
            page = browser.get(path)
            assert page.status_code == 200
            assert "<script>alert(2)" not in page.text and "<img src=x" not in page.text
            assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page.text
        preview = re.search(r'id="preview-text">(.*?)</p>', page.text, re.S)
        assert preview and "&lt;img src=x" in preview.group(1)


# -- the recipient preview and the progress ---------------------------------------------------


def seed_audience(factory: sessionmaker[Session], clock: Clock) -> None:
    """Subscribers of the province and two of its wards, on three channels, some unreachable."""
    ky_lua, tam_thanh = AreaCode(LANG_SON, KY_LUA), AreaCode(LANG_SON, TAM_THANH)
    old = clock() - timedelta(days=8)  # outside Zalo OA's 7-day window
    subscriber(factory, "telegram:1", PROVINCE)
    subscriber(factory, "telegram:2", PROVINCE, ky_lua)  # both: one recipient
    subscriber(factory, "telegram:3", ky_lua)
    subscriber(factory, "telegram:4", ky_lua, reachable=False)  # blocked the bot
    subscriber(factory, "zalo_oa:5", ky_lua)
    subscriber(factory, "zalo_oa:6", tam_thanh, last_inbound=old)  # window closed
    subscriber(factory, "zalo_bot:7", tam_thanh)
    gone = subscriber(factory, "telegram:8", ky_lua, tam_thanh)
    subscriber(factory, "telegram:9", AreaCode(1))  # Hà Nội: another province
    with factory.begin() as session:
        unsubscribe(session=session, person_id=gone, now=clock())


def preview_numbers(page: httpx.Response) -> tuple[int, dict[str, int], dict[str, int], int]:
    total = re.search(r'id="preview-total">(\d+)<', page.text)
    unreachable = re.search(r'id="preview-unreachable">(\d+) ', page.text)

    def table(name: str) -> dict[str, int]:
        body = re.search(rf'id="{name}">(.*?)</table>', page.text, re.S)
        assert body
        rows = re.findall(r'<th scope="row">([^<]*)</th><td[^>]*>(\d+)</td>', body.group(1))
        return {unescape(k): int(v) for k, v in rows}

    assert total
    return (
        int(total.group(1)),
        table("preview-channels"),
        table("preview-communes"),
        int(unreachable.group(1)) if unreachable else 0,
    )


@pytest.mark.parametrize(
    ("areas", "total", "channels", "communes", "unreachable"),
    [
        (
            (PROVINCE,),
            7,
            {"Telegram": 4, "Zalo OA": 2, "Zalo Bot": 1},
            {"Đăng ký cả tỉnh": 2, "Phường Kỳ Lừa, Tỉnh Lạng Sơn": 4,
             "Phường Tam Thanh, Tỉnh Lạng Sơn": 2},
            2,
        ),
        (
            (AreaCode(LANG_SON, KY_LUA),),
            4,
            {"Telegram": 3, "Zalo OA": 1},
            {"Phường Kỳ Lừa, Tỉnh Lạng Sơn": 4},
            1,
        ),
        ((AreaCode(LANG_SON, TAM_THANH),), 2, {"Zalo OA": 1, "Zalo Bot": 1},
         {"Phường Tam Thanh, Tỉnh Lạng Sơn": 2}, 1),
    ],
    ids=["province", "Kỳ Lừa", "Tam Thanh"],
)  # fmt: skip
def test_the_preview_counts_the_seeded_audience(
    desk: Rig,
    session_factory: sessionmaker[Session],
    clock: Clock,
    areas: tuple[AreaCode, ...],
    total: int,
    channels: dict[str, int],
    communes: dict[str, int],
    unreachable: int,
) -> None:
    seed_audience(session_factory, clock)
    shown = draft(session_factory, clock, areas=areas, template="Gửi {khu_vuc}: lịch tiêm mới.")
    with signed_in_browser(desk.url, "sup") as browser:  # a reader sees the same numbers
        page = browser.get(f"/desk/broadcasts/{shown}")
    assert preview_numbers(page) == (total, channels, communes, unreachable)
    text = re.search(r'id="preview-text">(.*?)</p>', page.text, re.S)
    assert text and "{khu_vuc}" not in text.group(1) and "lịch tiêm mới" in text.group(1)
    assert 'id="approve-form"' not in page.text and 'id="edit-form"' not in page.text  # reads


def approved(factory: sessionmaker[Session], clock: Clock, desk: Rig) -> int:
    """A province-wide broadcast approved by comm-2, with its delivery rows made (as the
    worker does first)."""
    shown = draft(factory, clock)
    with signed_in_browser(desk.url, "comm-2") as browser:
        assert approve_as(browser, shown, broadcast(factory, shown).version).status_code == 303
    with factory.begin() as session:
        row = session.get(Broadcast, shown)
        assert row is not None
        if row.audience_ready_at is None:
            audience.materialize(session=session, broadcast=row, now=clock())
    return shown


def mark(
    factory: sessionmaker[Session], broadcast_id: int, status: str, n: int, **values: object
) -> None:
    """Give ``n`` pending deliveries of the broadcast ``status`` (the worker's part)."""
    with factory.begin() as session:
        ids = list(
            session.scalars(
                select(Delivery.id)
                .where(Delivery.broadcast_id == broadcast_id, Delivery.status == "pending")
                .order_by(Delivery.id)
                .limit(n)
            )
        )
        assert len(ids) == n
        session.execute(
            update(Delivery).where(Delivery.id.in_(ids)).values(status=status, **values)
        )


def test_the_progress_follows_the_delivery_rows(
    desk: Rig, session_factory: sessionmaker[Session], clock: Clock
) -> None:
    seed_audience(session_factory, clock)
    shown = approved(session_factory, clock, desk)
    url = f"/desk/broadcasts/{shown}/progress"
    with signed_in_browser(desk.url, "sup") as browser:
        start = browser.get(url).json()
        assert (start["total"], start["sent"], start["pending"], start["finished"]) == (
            7,
            0,
            7,
            False,
        )
        clock.advance(seconds=10)
        mark(session_factory, shown, SENT, 3, sent_at=clock(), channel_message_id="m")
        mark(session_factory, shown, FAILED, 1, error="Forbidden: bot was blocked by the user")
        mark(session_factory, shown, UNREACHABLE, 2, error="zalo window closed")
        now = browser.get(url).json()
        assert (now["sent"], now["failed"], now["unreachable"], now["pending"]) == (3, 1, 2, 1)
        assert now["percent"] == round(100 * 6 / 7, 1)
        assert {"reason": "Forbidden: bot was blocked by the user", "count": 1} in now["failures"]
        page = browser.get(f"/desk/broadcasts/{shown}")  # no script: a reload shows the same
        assert re.search(r'data-field="sent">3<', page.text)
        assert re.search(r'data-field="pending">1<', page.text)
        assert 'src="/static/broadcast.js"' in page.text
        mark(session_factory, shown, SENT, 1, sent_at=clock(), channel_message_id="m")
        with session_factory.begin() as session:
            session.execute(
                update(Broadcast)
                .where(Broadcast.id == shown)
                .values(status=DONE, finished_at=clock())
            )
        end = browser.get(url).json()
        assert (end["sent"], end["pending"], end["finished"], end["percent"]) == (4, 0, True, 100.0)
        assert 'src="/static/broadcast.js"' not in browser.get(f"/desk/broadcasts/{shown}").text


# -- levels, one-off announcements, plan vs actual --------------------------------------------


def level_form(browser: httpx.Client, clock: Clock, **fields: str) -> httpx.Response:
    page = browser.get("/desk/levels")
    when = (clock() + timedelta(hours=1)).astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M")
    data = {"area": "Kỳ Lừa", "level": "3", "decision": "15/QĐ-UBND", "effective_at": when}
    return browser.post("/desk/levels", data={"csrf": csrf_of(page), **data, **fields})


def test_setting_a_level_keeps_its_history_and_opens_its_draft(
    desk: Rig, session_factory: sessionmaker[Session], clock: Clock
) -> None:
    with signed_in_browser(desk.url, "comm-1") as browser:
        now = clock().astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M")
        answer = level_form(browser, clock, area="ky lua", effective_at=now)  # no diacritics
        assert answer.status_code == 303
        found = re.fullmatch(r"/desk/broadcasts/(\d+)\?done=level", answer.headers["location"])
        assert found
        page = browser.get(answer.headers["location"])
        assert "Đã đặt cấp độ mới" in page.text and "Phường Kỳ Lừa" in page.text
        levels = browser.get("/desk/levels")
    row = broadcast(session_factory, int(found.group(1)))
    assert (row.kind, row.level, row.status) == ("level_change", 3, DRAFT)
    assert row.areas == [{"province_code": LANG_SON, "commune_code": KY_LUA}]
    entry = re.search(
        r"Phường Kỳ Lừa, Tỉnh Lạng Sơn: <strong>cấp 3</strong>(.*?)</article>", levels.text, re.S
    )
    assert entry and "15/QĐ-UBND" in entry.group(1) and "Nguyễn Thu Hà" in entry.group(1)
    assert "Tỉnh Lạng Sơn: <strong>cấp 2</strong>" in levels.text  # the province's, unchanged


@pytest.mark.parametrize(
    ("label", "fields", "shown"),
    [
        ("ambiguous name", {"area": "Chi Lăng"}, "có thể là nhiều nơi"),
        ("old name", {"area": "Phường Chi Lăng"}, "Phường Lương Văn Tri"),
        ("unknown name", {"area": "Xyzabc"}, "không tìm thấy địa bàn"),
        ("garbled time", {"effective_at": "ngày mai"}, "ngày giờ có hiệu lực"),
        ("no level", {"level": ""}, "Vui lòng chọn cấp độ"),
    ],
)
def test_a_level_form_that_needs_more_says_so_and_keeps_the_values(
    desk: Rig, session_factory: sessionmaker[Session], clock: Clock, label: str,
    fields: dict[str, str], shown: str,
) -> None:  # fmt: skip
    before = count(session_factory, AreaLevel)
    with signed_in_browser(desk.url, "comm-1") as browser:
        answer = level_form(browser, clock, decision="77/QĐ-UBND", **fields)
    assert answer.status_code == 422
    assert shown in answer.text
    assert 'value="77/QĐ-UBND"' in answer.text  # what was typed is still there
    assert (count(session_factory, AreaLevel), count(session_factory, Broadcast)) == (before, 0)


def test_a_choice_among_ambiguous_names_sets_that_unit(
    desk: Rig, session_factory: sessionmaker[Session], clock: Clock
) -> None:
    with signed_in_browser(desk.url, "comm-1") as browser:
        asked = level_form(browser, clock, area="Chi Lăng")
        choices = dict(
            (unescape(label).strip(), code)
            for code, label in re.findall(
                r'name="unit" value="(c:\d+)" required> ([^<]+)<', asked.text
            )
        )
        assert "Xã Chi Lăng, Tỉnh Lạng Sơn" in choices
        answer = level_form(
            browser, clock, area="Chi Lăng", unit=choices["Xã Chi Lăng, Tỉnh Lạng Sơn"]
        )
    assert answer.status_code == 303
    row = broadcast(session_factory, int(answer.headers["location"].split("/")[-1].split("?")[0]))
    assert row.areas == [{"province_code": LANG_SON, "commune_code": 6463}]


@pytest.mark.parametrize(
    ("label", "fields", "field"),
    [
        ("a level outside the scheme", {"level": "9"}, "level"),
        ("an effective time long past", {"effective_at": "2020-01-01T08:00"}, "effective_at"),
        ("an effective time far ahead", {"effective_at": "2031-01-01T08:00"}, "effective_at"),
        ("no decision", {"decision": ""}, "decision"),
    ],
)
def test_the_domain_refusal_is_shown_by_its_field(
    desk: Rig, session_factory: sessionmaker[Session], clock: Clock, label: str,
    fields: dict[str, str], field: str,
) -> None:  # fmt: skip
    with signed_in_browser(desk.url, "comm-1") as browser:
        answer = level_form(browser, clock, note="ghi chú giữ lại", **fields)
    assert answer.status_code == 422, answer.text[:500]
    assert f'id="error-{field}"' in answer.text
    assert 'value="ghi chú giữ lại"' in answer.text
    assert count(session_factory, Broadcast) == 0


def test_a_one_off_for_several_areas_by_name(
    desk: Rig, session_factory: sessionmaker[Session], clock: Clock
) -> None:
    with signed_in_browser(desk.url, "comm-1") as browser:
        form = browser.get("/desk/broadcasts/new")
        data = {"csrf": csrf_of(form), "title": "Cắt nước", "template": "Cắt nước ở {khu_vuc}."}
        asked = browser.post("/desk/broadcasts/new", data={**data, "areas": "Kỳ Lừa\nChi Lăng"})
        assert asked.status_code == 422 and "có thể là nhiều nơi" in asked.text
        assert 'name="unit" value="c:6187"' in asked.text  # Kỳ Lừa is kept as chosen
        assert 'value="Cắt nước"' in asked.text
        made = browser.post(
            "/desk/broadcasts/new", data={**data, "areas": "", "unit": ["c:6187", "c:6463"]}
        )
        assert made.status_code == 303
        unknown = browser.post("/desk/broadcasts/new", data={**data, "areas": "Xyzabc"})
        assert unknown.status_code == 422 and "không tìm thấy địa bàn" in unknown.text
        bad = browser.post(
            "/desk/broadcasts/new", data={**data, "areas": "Kỳ Lừa", "template": "Xin chào {ai}"}
        )
        assert bad.status_code == 422 and 'id="error-template"' in bad.text
        assert "Xin chào {ai}" in bad.text  # kept
    shown = int(made.headers["location"].split("/")[-1].split("?")[0])
    row = broadcast(session_factory, shown)
    assert (row.kind, row.status) == ("one_off", DRAFT)
    assert sorted(a["commune_code"] for a in row.areas) == [6187, 6463]
    assert count(session_factory, Broadcast) == 1


def test_plan_vs_actual_draws_and_tabulates_the_week(
    desk: Rig, session_factory: sessionmaker[Session], clock: Clock
) -> None:
    """The province is at situation 2 (at least two messages a week): two announcements this
    week, the second failed for two people — they did not get their two."""
    seed_audience(session_factory, clock)  # 8 people in the province this week, 7 still in
    clock.advance(days=1)
    for _ in range(2):
        shown = approved(session_factory, clock, desk)
        mark(session_factory, shown, SENT, 7 if _ == 0 else 5, sent_at=clock())
    mark(session_factory, shown, FAILED, 2, error="Forbidden: bot was blocked by the user")
    clock.advance(minutes=1)
    with signed_in_browser(desk.url, "sup") as browser:
        page = browser.get("/desk/broadcasts/plan")
        assert page.status_code == 200
        assert "Tuần này từ thứ Hai 30/11/2026" in page.text
        row = re.search(r'<th scope="row">Tỉnh Lạng Sơn</th>(.*?)</tr>', page.text, re.S)
        assert row, page.text
        cells = [
            " ".join(unescape(c).split()) for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
        ]
        assert cells == ["Cấp 2 — Có ca bệnh xâm nhập vào tỉnh", "2 tin/tuần", "8", "5", "62,5%"]
        bar = re.search(
            r'<rect [^>]*data-value="62.5"><title>Tỉnh Lạng Sơn: 62.5 %</title>', page.text
        )
        assert bar  # the chart draws the same number
        last = browser.get("/desk/broadcasts/plan", params={"week": "2026-11-23"})
        assert last.status_code == 200 and "62,5%" not in last.text
        assert (
            browser.get("/desk/broadcasts/plan", params={"week": "2020-01-06"}).status_code == 400
        )
        assert browser.get("/desk/broadcasts/plan", params={"week": "tuần"}).status_code == 400
