"""The desk's work on requests: scope, the queue, a request's page, claiming, notes, replies
through the outbox path, status changes told to the person. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import wording
from bot.helpdesk import desk, requests
from bot.helpdesk.requests import Conflict, InvalidRequest
from bot.storage import conversations as log
from bot.storage.conversations import ChannelAccount
from bot.storage.helpdesk import (
    IN_PROGRESS,
    NEW,
    NOTE,
    RESOLVED,
    HelpRequest,
    RequestEvent,
)
from bot.storage.staff import ADMIN, INSPECTOR, OPERATOR, SUPERVISOR, AuditEntry, StaffUser
from tests.helpdesk.conftest import COMMUNE, OTHER_COMMUNE

DATABASES = ("sqlite", "postgresql")
AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NOW = AT + timedelta(hours=1)
Staff = Callable[..., StaffUser]
Filer = Callable[..., str]


def request_row(factory: sessionmaker[Session], code: str) -> HelpRequest:
    with factory() as session:
        row = session.scalar(select(HelpRequest).where(HelpRequest.code == code))
        assert row is not None
        return row


def outbound(factory: sessionmaker[Session], account_id: int) -> list[log.Message]:
    with factory() as session:
        return log.outbound_after(session=session, account_id=account_id, after_id=0)


# -- scope ----------------------------------------------------------------------------------

SCOPE = [
    # (role, the user's communes, the request's commune, allowed)
    (OPERATOR, [COMMUNE], COMMUNE, True),
    (OPERATOR, [OTHER_COMMUNE], COMMUNE, False),
    (OPERATOR, [], COMMUNE, False),
    (SUPERVISOR, [], COMMUNE, True),
    (ADMIN, [], COMMUNE, False),  # staff.may: admins keep accounts, not citizens' data
    (INSPECTOR, [COMMUNE], COMMUNE, False),
]


@pytest.mark.parametrize(("role", "communes", "commune", "allowed"), SCOPE)
def test_scope_as_a_table(
    new_staff: Staff,
    file_request: Filer,
    session_factory: sessionmaker[Session],
    role: str,
    communes: list[int],
    commune: int,
    allowed: bool,
) -> None:
    user = new_staff("u", role, communes=communes)
    code = file_request(commune_code=commune)
    assert desk.in_scope(user, commune) is allowed
    with session_factory() as session:
        actions: list[Callable[[], object]] = [
            lambda: desk.detail(session, user, code, now=NOW),
            lambda: desk.add_note(session, user, code, "đã gọi", now=NOW),
            lambda: desk.reply(session, user, code, "Chào bạn", now=NOW),
        ]
        for action in actions:
            if allowed:
                action()
            else:
                with pytest.raises(desk.NotAllowed):
                    action()
    if not allowed:  # nothing of a refused action was stored
        with session_factory() as session:
            assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
            kinds = session.scalars(select(RequestEvent.kind)).all()
            assert set(kinds) == {"created"}


def test_an_inactive_user_is_refused(
    new_staff: Staff, file_request: Filer, session_factory
) -> None:
    user = new_staff("gone", SUPERVISOR, active=False)
    code = file_request()
    with session_factory() as session, pytest.raises(desk.NotAllowed):
        desk.detail(session, user, code, now=NOW)


def test_an_unknown_code_is_a_lookup_error(new_staff: Staff, session_factory) -> None:
    boss = new_staff("boss", SUPERVISOR)
    with session_factory() as session, pytest.raises(LookupError):
        desk.detail(session, boss, "HT-26-999999", now=NOW)


# -- the queue -------------------------------------------------------------------------------


def test_the_queue_is_most_urgent_then_oldest_and_shows_nothing_personal(
    new_staff: Staff, file_request: Filer, session_factory: sessionmaker[Session]
) -> None:
    boss = new_staff("boss", SUPERVISOR)
    old_normal = file_request(level="normal", at=AT)
    new_emergency = file_request(level="emergency", at=AT + timedelta(minutes=30))
    old_emergency = file_request(level="emergency", at=AT + timedelta(minutes=10))
    high = file_request(level="high", at=AT + timedelta(minutes=5))
    with session_factory() as session:
        page = desk.queue(session, boss, now=NOW)
    assert [r.code for r in page.rows] == [old_emergency, new_emergency, high, old_normal]
    assert page.total == 4 and page.pages == 1 and page.counts[NEW] == 4
    first = page.rows[0]
    assert first.needs == ("food",) and first.commune_code == COMMUNE and first.assignee is None
    shown = set(vars(first))
    assert not shown & {"phone", "address_detail", "description", "people_count"}


def test_an_operator_sees_only_their_communes(
    new_staff: Staff, file_request: Filer, session_factory: sessionmaker[Session]
) -> None:
    mine = file_request(commune_code=COMMUNE)
    file_request(commune_code=OTHER_COMMUNE)
    operator = new_staff("an", OPERATOR, communes=[COMMUNE])
    with session_factory() as session:
        page = desk.queue(session, operator, now=NOW)
        assert [r.code for r in page.rows] == [mine]
        assert page.counts[NEW] == 1
        with pytest.raises(desk.NotAllowed):
            desk.queue(session, operator, desk.QueueFilter(commune=OTHER_COMMUNE), now=NOW)
        inspector = new_staff("ins", INSPECTOR)
        with pytest.raises(desk.NotAllowed):
            desk.queue(session, inspector, now=NOW)


def test_filters(
    new_staff: Staff, file_request: Filer, session_factory: sessionmaker[Session]
) -> None:
    boss = new_staff("boss", SUPERVISOR)
    operator = new_staff("an", OPERATOR, communes=[COMMUNE])
    food = file_request(needs=["food"], at=AT)
    medicine = file_request(needs=["medicine"], level="high", at=AT + timedelta(minutes=50))
    elsewhere = file_request(commune_code=OTHER_COMMUNE, at=AT + timedelta(minutes=20))
    with session_factory() as session:
        desk.claim(session, operator, food, now=NOW)

    def codes(**kw: object) -> list[str]:
        with session_factory() as session:
            page = desk.queue(session, boss, desk.QueueFilter(**kw), now=NOW)  # type: ignore[arg-type]
            return [r.code for r in page.rows]

    assert codes(need="medicine") == [medicine]
    assert codes(urgency="normal") == [food, elsewhere]
    assert codes(commune=OTHER_COMMUNE) == [elsewhere]
    assert codes(older_than_hours=0.5) == [food, elsewhere]  # filed 60 and 40 minutes ago
    assert codes(assignee=desk.NOBODY) == [medicine, elsewhere]
    assert codes(assignee=operator.id) == [food]
    assert codes(statuses=(NEW,)) == [medicine, elsewhere]
    assert codes(statuses=(IN_PROGRESS,)) == [food]
    with session_factory() as session:
        mine = desk.queue(session, operator, desk.QueueFilter(assignee=desk.ME), now=NOW)
        assert [r.code for r in mine.rows] == [food]
        assert mine.rows[0].assignee == "An"
        # The counts per status follow the other filters, not the status one.
        page = desk.queue(session, boss, desk.QueueFilter(statuses=(NEW,), need="food"), now=NOW)
        assert [r.code for r in page.rows] == [elsewhere]
        assert page.counts[IN_PROGRESS] == 1 and page.counts[NEW] == 1


BAD_FILTERS = [
    ("status", {"statuses": ("open",)}),
    ("status", {"statuses": ()}),
    ("need", {"need": "water"}),
    ("urgency", {"urgency": "urgent"}),
    ("age", {"older_than_hours": -1}),
    ("assignee", {"assignee": "everyone"}),
]


@pytest.mark.parametrize(("field", "kw"), BAD_FILTERS)
def test_a_bad_filter_is_named(
    new_staff: Staff, session_factory: sessionmaker[Session], field: str, kw: dict
) -> None:
    boss = new_staff("boss", SUPERVISOR)
    with session_factory() as session, pytest.raises(InvalidRequest) as refused:
        desk.queue(session, boss, desk.QueueFilter(**kw), now=NOW)
    assert refused.value.field == field


def test_pages_of_fifty(
    new_staff: Staff, file_request: Filer, session_factory: sessionmaker[Session]
) -> None:
    boss = new_staff("boss", SUPERVISOR)
    codes = [file_request(at=AT + timedelta(seconds=i)) for i in range(desk.PAGE_SIZE + 3)]
    with session_factory() as session:
        first = desk.queue(session, boss, page=1, now=NOW)
        second = desk.queue(session, boss, page=2, now=NOW)
        beyond = desk.queue(session, boss, page=99, now=NOW)
    assert [r.code for r in first.rows] == codes[: desk.PAGE_SIZE]
    assert [r.code for r in second.rows] == codes[desk.PAGE_SIZE :]
    assert first.pages == 2 and first.total == desk.PAGE_SIZE + 3
    assert beyond.page == 2  # a page past the end shows the last one


# -- a request's page ------------------------------------------------------------------------


def test_the_page_has_events_transcript_and_is_audited_each_time(
    new_staff: Staff,
    file_request: Filer,
    new_account: Callable[..., ChannelAccount],
    session_factory: sessionmaker[Session],
) -> None:
    operator = new_staff("an", OPERATOR, communes=[COMMUNE])
    code = file_request(sender="telegram:555")
    account = new_account("telegram:555")
    with session_factory() as session:
        session.add(
            log.Message(
                account_id=account.id,
                channel="telegram",
                direction=log.INBOUND,
                text="Tôi cần giúp đỡ",
                status=log.ANSWERED,
                created_at=AT - timedelta(minutes=5),
            )
        )
        session.commit()
        desk.add_note(session, operator, code, "Đã gọi, không nghe máy", now=NOW)
        first = desk.detail(session, operator, code, now=NOW)
        desk.detail(session, operator, code, now=NOW)
    assert first.request.phone == "0912345678" and first.channel == "telegram"
    assert [e.kind for e in first.events] == ["created", NOTE]
    assert [m.text for m in first.transcript] == ["Tôi cần giúp đỡ"]
    assert first.cannot_reach is None
    with session_factory() as session:
        views = session.scalars(
            select(AuditEntry).where(AuditEntry.action == desk.VIEW_PERSONAL)
        ).all()
    assert [(v.actor, v.target_id) for v in views] == [("an", code), ("an", code)]
    assert "phone" in views[0].detail["fields"]


# -- claim, assign, release ------------------------------------------------------------------


def test_claiming_a_new_request_starts_it_and_tells_the_person(
    new_staff: Staff, file_request: Filer, session_factory: sessionmaker[Session]
) -> None:
    operator = new_staff("an", OPERATOR, communes=[COMMUNE])
    code = file_request()
    with session_factory() as session:
        claimed = desk.claim(session, operator, code, now=NOW)
        again = desk.claim(session, operator, code, now=NOW)  # one's own: nothing changes
    assert claimed.status == IN_PROGRESS and claimed.assignee_id == operator.id
    assert again.version == claimed.version
    told = outbound(session_factory, claimed.account_id)
    expected = wording.system("desk_status_in_progress").format(code=code)
    assert [m.text for m in told] == [expected]
    assert told[0].status == log.QUEUED


def test_a_second_claim_names_who_holds_it(
    new_staff: Staff, file_request: Filer, session_factory: sessionmaker[Session]
) -> None:
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    binh = new_staff("binh", OPERATOR, communes=[COMMUNE])
    code = file_request()
    with session_factory() as session:
        desk.claim(session, an, code, now=NOW)
        with pytest.raises(desk.AlreadyClaimed) as lost:
            desk.claim(session, binh, code, now=NOW)
    assert lost.value.by == "An"


def test_assign_release_and_their_rules(
    new_staff: Staff, file_request: Filer, session_factory: sessionmaker[Session]
) -> None:
    boss = new_staff("boss", SUPERVISOR)
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    far = new_staff("far", OPERATOR, communes=[OTHER_COMMUNE])
    code = file_request()
    with session_factory() as session:
        with pytest.raises(desk.NotAllowed):
            desk.assign(session, an, code, an.id, now=NOW)  # operators do not assign
        with pytest.raises(InvalidRequest):
            desk.assign(session, boss, code, far.id, now=NOW)  # not their commune
        assigned = desk.assign(session, boss, code, an.id, now=NOW)
        assert assigned.assignee_id == an.id and assigned.status == NEW
        # An auto- or hand-assigned NEW request still starts when its holder claims it.
        assert desk.claim(session, an, code, now=NOW).status == IN_PROGRESS
        desk.release(session, an, code, now=NOW)
        assert request_row(session_factory, code).assignee_id is None
        desk.claim(session, an, code, now=NOW)
        other = new_staff("other", OPERATOR, communes=[COMMUNE])
        with pytest.raises(desk.NotAllowed):
            desk.release(session, other, code, now=NOW)
        desk.release(session, boss, code, now=NOW)  # a supervisor frees anyone's
    assert request_row(session_factory, code).assignee_id is None


def test_a_closed_request_cannot_be_claimed(
    new_staff: Staff, file_request: Filer, session_factory: sessionmaker[Session]
) -> None:
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    code = file_request()
    with session_factory() as session:
        desk.set_status(session, an, code, RESOLVED, version=1, reason="Đã gửi gạo", now=NOW)
        with pytest.raises(Conflict):
            desk.claim(session, an, code, now=NOW)


# -- notes, replies, statuses ----------------------------------------------------------------


@pytest.mark.parametrize("channel", ["webchat", "telegram", "zalo_oa", "zalo_bot"])
def test_a_reply_goes_through_the_outbox_path_of_the_persons_channel(
    new_staff: Staff,
    file_request: Filer,
    new_account: Callable[..., ChannelAccount],
    session_factory: sessionmaker[Session],
    channel: str,
) -> None:
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    code = file_request(sender=f"{channel}:p1")
    account = new_account(f"{channel}:p1")
    with session_factory() as session:
        session.get(ChannelAccount, account.id).last_inbound_at = NOW - timedelta(hours=1)  # type: ignore[union-attr]
        session.commit()
        message = desk.reply(session, an, code, "  Chiều nay có người mang gạo đến.  ", now=NOW)
    sent = outbound(session_factory, account.id)
    assert [m.id for m in sent] == [message.id]
    assert sent[0].channel == channel
    assert sent[0].status == (log.SENT if channel == "webchat" else log.QUEUED)
    assert sent[0].text.endswith("\n\nChiều nay có người mang gạo đến.") and code in sent[0].text
    row = request_row(session_factory, code)
    assert row.first_response_at == NOW and row.version == 1  # an answer is no lost update
    with session_factory() as session:
        shown = requests.status_for(session=session, person_id=row.person_id, code=code)
    assert shown is not None and shown.last_message == "Chiều nay có người mang gạo đến."


def test_markup_and_control_characters_are_kept_as_text(
    new_staff: Staff, file_request: Filer, session_factory: sessionmaker[Session]
) -> None:
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    code = file_request()
    hostile = "<script>alert('x')</script>\x00 {code} ok"
    with session_factory() as session:
        message = desk.reply(session, an, code, hostile, now=NOW)
        note = desk.add_note(session, an, code, hostile, now=NOW)
        closed = desk.set_status(session, an, code, RESOLVED, version=1, reason=hostile, now=NOW)
    assert closed.request.status_reason == "<script>alert('x')</script> {code} ok"
    # Stored as written (the desk escapes on output); only the NUL neither database takes.
    assert message.text.endswith("<script>alert('x')</script> {code} ok")
    assert note.text == "<script>alert('x')</script> {code} ok"


def test_the_first_answer_is_kept_not_moved(
    new_staff: Staff, file_request: Filer, session_factory: sessionmaker[Session]
) -> None:
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    code = file_request()
    with session_factory() as session:
        desk.reply(session, an, code, "Một", now=NOW)
        desk.reply(session, an, code, "Hai", now=NOW + timedelta(hours=1))
    assert request_row(session_factory, code).first_response_at == NOW


CANNOT_REACH = [
    # (channel, reachable, last wrote this long before NOW, why)
    ("zalo_oa", True, timedelta(days=8), desk.WINDOW_CLOSED),
    ("zalo_oa", True, None, desk.WINDOW_CLOSED),
    ("telegram", False, timedelta(minutes=5), desk.UNREACHABLE),
    ("zalo_bot", False, timedelta(minutes=5), desk.UNREACHABLE),
]


@pytest.mark.parametrize(("channel", "reachable", "ago", "why"), CANNOT_REACH)
def test_a_reply_that_cannot_arrive_shows_the_phone_and_stores_nothing(
    new_staff: Staff,
    file_request: Filer,
    new_account: Callable[..., ChannelAccount],
    session_factory: sessionmaker[Session],
    channel: str,
    reachable: bool,
    ago: timedelta | None,
    why: str,
) -> None:
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    code = file_request(sender=f"{channel}:p2")
    account = new_account(f"{channel}:p2")
    with session_factory() as session:
        stored = session.get(ChannelAccount, account.id)
        assert stored is not None
        stored.reachable = reachable
        stored.last_inbound_at = NOW - ago if ago else None
        session.commit()
        with pytest.raises(desk.CannotReach) as refused:
            desk.reply(session, an, code, "Chào bạn", now=NOW)
        assert desk.detail(session, an, code, now=NOW).cannot_reach == why
    assert refused.value.phone == "0912345678" and refused.value.reason == why
    assert outbound(session_factory, account.id) == []
    assert request_row(session_factory, code).first_response_at is None


def test_the_zalo_window_still_open_on_its_last_day(
    new_staff: Staff,
    file_request: Filer,
    new_account: Callable[..., ChannelAccount],
    session_factory: sessionmaker[Session],
) -> None:
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    code = file_request(sender="zalo_oa:p3")
    account = new_account("zalo_oa:p3")
    with session_factory() as session:
        session.get(ChannelAccount, account.id).last_inbound_at = NOW - timedelta(days=6, hours=23)  # type: ignore[union-attr]
        session.commit()
        desk.reply(session, an, code, "Chào bạn", now=NOW)
    assert len(outbound(session_factory, account.id)) == 1


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "empty"), ("   \n ", "empty"), ("x" * (desk.MAX_REPLY + 1), "longer")],
)
def test_a_bad_reply_is_refused_clearly(
    new_staff: Staff,
    file_request: Filer,
    session_factory: sessionmaker[Session],
    text: str,
    problem: str,
) -> None:
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    code = file_request()
    with session_factory() as session:
        with pytest.raises(InvalidRequest) as refused:
            desk.reply(session, an, code, text, now=NOW)
        with pytest.raises(InvalidRequest):
            desk.add_note(session, an, code, text if not text.strip() else "x" * 4001, now=NOW)
    assert refused.value.field == "text" and problem in str(refused.value)
    row = request_row(session_factory, code)
    assert outbound(session_factory, row.account_id) == []


def test_a_note_is_never_shown_to_the_person(
    new_staff: Staff, file_request: Filer, session_factory: sessionmaker[Session]
) -> None:
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    code = file_request()
    with session_factory() as session:
        note = desk.add_note(session, an, code, "Hàng xóm báo nhà có trẻ nhỏ", now=NOW)
    row = request_row(session_factory, code)
    assert note.kind == NOTE and note.actor == "an"
    assert outbound(session_factory, row.account_id) == []
    with session_factory() as session:
        shown = requests.status_for(session=session, person_id=row.person_id, code=code)
    assert shown is not None and shown.last_message is None


def test_closing_and_reopening_tell_the_person_and_move_the_clocks(
    new_staff: Staff, file_request: Filer, session_factory: sessionmaker[Session]
) -> None:
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    code = file_request()
    later = NOW + timedelta(hours=2)
    with session_factory() as session:
        desk.reply(session, an, code, "Đang xử lý", now=NOW)
        with pytest.raises(InvalidRequest):  # closing needs a reason
            desk.set_status(session, an, code, RESOLVED, version=1, now=NOW)
        closed = desk.set_status(session, an, code, RESOLVED, version=1, reason="Đã giao", now=NOW)
        assert closed.told and closed.request.closed_at == NOW
        reopened = desk.set_status(session, an, code, IN_PROGRESS, version=2, now=later)
    row = reopened.request
    assert row.closed_at is None and row.first_response_at is None
    assert row.clock_started_at == later
    texts = [m.text for m in outbound(session_factory, row.account_id)]
    assert texts[1:] == [
        wording.system("desk_status_resolved").format(code=code),
        wording.system("desk_status_reopened").format(code=code),
    ]
    with session_factory() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["reply", "status", "status"]


def test_a_stale_version_is_a_conflict_and_nothing_is_told(
    new_staff: Staff, file_request: Filer, session_factory: sessionmaker[Session]
) -> None:
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    binh = new_staff("binh", OPERATOR, communes=[COMMUNE])
    code = file_request()
    with session_factory() as session:
        desk.set_status(session, an, code, RESOLVED, version=1, reason="Đã giao", now=NOW)
    with session_factory() as session, pytest.raises(Conflict) as lost:
        # Binh's page was read at version 1, before An closed it.
        desk.set_status(session, binh, code, "not_eligible", version=1, reason="x", now=NOW)
    assert lost.value.current.status == RESOLVED
    assert "changed since version 1" in str(lost.value)
    row = request_row(session_factory, code)
    assert row.status == RESOLVED and row.status_reason == "Đã giao"
    assert len(outbound(session_factory, row.account_id)) == 1  # An's closing, only
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1


def test_a_status_change_stands_when_the_person_cannot_be_told(
    new_staff: Staff,
    file_request: Filer,
    new_account: Callable[..., ChannelAccount],
    session_factory: sessionmaker[Session],
) -> None:
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    code = file_request(sender="zalo_oa:p4")  # never wrote within the window
    with session_factory() as session:
        changed = desk.set_status(session, an, code, RESOLVED, version=1, reason="ok", now=NOW)
    assert not changed.told and changed.request.status == RESOLVED
    assert outbound(session_factory, changed.request.account_id) == []
