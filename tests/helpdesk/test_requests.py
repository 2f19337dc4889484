"""Filing help requests: checked fields, idempotency, linking repeats, codes, the owner's view
of a status, and status changes that never lose an update. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk import requests
from bot.helpdesk.urgency import Urgency
from bot.storage.conversations import ChannelAccount
from bot.storage.helpdesk import (
    DUPLICATE,
    EMERGENCY,
    HIGH,
    IN_PROGRESS,
    NEW,
    NORMAL,
    RESOLVED,
    HelpRequest,
    RequestEvent,
    RequestNeed,
)

DATABASES = ("sqlite", "postgresql")

Accounts = Callable[..., ChannelAccount]
Drafts = Callable[..., requests.Draft]
AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PLAIN = Urgency(NORMAL)


def file(
    factory: sessionmaker[Session],
    account: ChannelAccount,
    request: requests.Draft,
    key: str,
    level: Urgency = PLAIN,
    at: datetime = AT,
) -> requests.Filed:
    with factory() as session:
        return requests.create(
            session=session,
            account_id=account.id,
            client_key=key,
            request=request,
            level=level,
            at=at,
        )


def count(factory: sessionmaker[Session], *where: object) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(HelpRequest).where(*where)) or 0


def test_a_request_is_stored_committed_with_its_fields(
    session_factory: sessionmaker[Session], new_account: Accounts, draft: Drafts
) -> None:
    account = new_account("telegram:1")
    filed = file(session_factory, account, draft(needs=["medicine", "food"]), "k1")
    assert filed.outcome == requests.FILED
    with session_factory() as other:  # another connection sees it: committed
        row = other.scalars(select(HelpRequest)).one()
        assert (row.code, row.status, row.needs) == ("HT-26-000001", NEW, ("food", "medicine"))
        assert (row.phone, row.commune_code, row.province_code) == ("0912345678", 26743, 79)
        assert (row.person_id, row.account_id, row.created_at) == (
            account.person_id,
            account.id,
            AT,
        )
        kinds = other.scalars(select(RequestEvent.kind).where(RequestEvent.request_id == row.id))
        assert list(kinds) == ["created"]


BAD_FIELDS = [
    ("no need", {"needs": []}, "needs"),
    ("unknown need", {"needs": ["food", "gold"]}, "needs"),
    ("5,000-character description", {"description": "a" * 5000}, "description"),
    ("unknown commune", {"commune_code": 999999}, "commune_code"),
    ("province code as commune", {"commune_code": 79}, "commune_code"),
    ("no people", {"people_count": 0}, "people_count"),
    ("invalid phone", {"phone": "115"}, "phone"),
    ("phone without consent", {"consent": False}, "consent"),
    ("long address", {"address_detail": "x" * 301}, "address_detail"),
]


@pytest.mark.parametrize(
    ("changes", "field"), [c[1:] for c in BAD_FIELDS], ids=[c[0] for c in BAD_FIELDS]
)
def test_a_bad_field_is_named_and_nothing_is_stored(
    session_factory: sessionmaker[Session], draft: Drafts, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(requests.InvalidRequest) as refused:
        draft(**changes)
    assert refused.value.field == field
    assert count(session_factory) == 0


def test_no_phone_and_no_consent_is_a_valid_request(draft: Drafts) -> None:
    assert draft(phone=None, consent=False).phone is None


def test_the_database_refuses_a_phone_without_consent(
    session_factory: sessionmaker[Session], new_account: Accounts, draft: Drafts
) -> None:
    account = new_account("telegram:1")
    file(session_factory, account, draft(), "k1")
    with session_factory() as session, pytest.raises(IntegrityError):
        row = session.scalars(select(HelpRequest)).one()
        row.consent = False
        session.commit()


def test_the_same_confirmation_twice_is_one_request(
    session_factory: sessionmaker[Session], new_account: Accounts, draft: Drafts
) -> None:
    account = new_account("telegram:1")
    first = file(session_factory, account, draft(), "form-1")
    again = file(session_factory, account, draft(description="bấm lại"), "form-1")
    assert (again.outcome, again.request.code) == (requests.REPLAYED, first.request.code)
    assert count(session_factory) == 1


def test_a_client_key_is_per_person(
    session_factory: sessionmaker[Session], new_account: Accounts, draft: Drafts
) -> None:
    one, two = new_account("telegram:1"), new_account("zalo_oa:2")
    assert file(session_factory, one, draft(), "same").outcome == requests.FILED
    assert file(session_factory, two, draft(), "same").outcome == requests.FILED
    assert count(session_factory) == 2


def test_a_repeat_for_an_open_need_is_linked_and_raises_the_urgency(
    session_factory: sessionmaker[Session], new_account: Accounts, draft: Drafts
) -> None:
    telegram = new_account("telegram:1")
    web = new_account("webchat:abc", person_of=telegram)  # the same person on another channel
    first = file(session_factory, telegram, draft(needs=["food"]), "form-1")
    urgent = Urgency(EMERGENCY, ("oxygen_transport",))
    repeat = file(session_factory, web, draft(needs=["food", "oxygen_transport"]), "form-2", urgent)
    assert repeat.outcome == requests.LINKED
    assert repeat.request.code == first.request.code  # the person is told the open one's code
    assert repeat.repeat is not None and repeat.repeat.code == "HT-26-000002"
    assert count(session_factory, HelpRequest.status.in_((NEW, IN_PROGRESS))) == 1
    with session_factory() as session:
        target = session.scalars(select(HelpRequest).where(HelpRequest.code == "HT-26-000001"))
        row = target.one()
        assert row.needs == ("food", "oxygen_transport")
        assert (row.urgency, row.urgency_reasons, row.version) == (
            EMERGENCY,
            ["oxygen_transport"],
            2,
        )
        stored_repeat = session.get(HelpRequest, repeat.repeat.id)
        assert stored_repeat is not None
        assert (stored_repeat.status, stored_repeat.linked_to_id) == (DUPLICATE, row.id)
        events = session.execute(
            select(RequestEvent.kind, RequestEvent.text)
            .where(RequestEvent.request_id == row.id)
            .order_by(RequestEvent.id)
        )
        assert [tuple(e) for e in events] == [
            ("created", None),
            ("urgency", None),
            ("linked", "HT-26-000002"),
        ]


def test_a_less_urgent_repeat_does_not_lower_the_urgency(
    session_factory: sessionmaker[Session], new_account: Accounts, draft: Drafts
) -> None:
    account = new_account("telegram:1")
    file(session_factory, account, draft(), "form-1", Urgency(HIGH, ("child",)))
    file(session_factory, account, draft(), "form-2", PLAIN)
    with session_factory() as session:
        row = session.scalars(select(HelpRequest).where(HelpRequest.linked_to_id.is_(None))).one()
        assert (row.urgency, row.urgency_reasons) == (HIGH, ["child"])


def test_another_need_or_a_closed_request_makes_a_new_one(
    session_factory: sessionmaker[Session], new_account: Accounts, draft: Drafts
) -> None:
    account = new_account("telegram:1")
    food = file(session_factory, account, draft(needs=["food"]), "form-1")
    medicine = file(session_factory, account, draft(needs=["medicine"]), "form-2")
    assert medicine.outcome == requests.FILED
    with session_factory() as session:
        requests.change_status(
            session=session, code=food.request.code, to=RESOLVED, version=1, reason="Đã giao gạo"
        )
    again = file(session_factory, account, draft(needs=["food"]), "form-3")
    assert (again.outcome, again.request.code) == (requests.FILED, "HT-26-000003")


def test_codes_are_sequential_per_vietnam_year(
    session_factory: sessionmaker[Session], new_account: Accounts, draft: Drafts
) -> None:
    new_year_in_hanoi = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)  # 00:30 on 1/1/2027 there
    codes = []
    for n, at in enumerate([AT, AT, new_year_in_hanoi - timedelta(hours=1), new_year_in_hanoi]):
        account = new_account(f"telegram:{n}")
        codes.append(file(session_factory, account, draft(), f"k{n}", at=at).request.code)
    assert codes == ["HT-26-000001", "HT-26-000002", "HT-26-000003", "HT-27-000001"]


def test_the_database_refuses_two_open_requests_for_one_need(
    session_factory: sessionmaker[Session], new_account: Accounts, draft: Drafts
) -> None:
    account = new_account("telegram:1")
    file(session_factory, account, draft(), "form-1")
    with session_factory() as session, pytest.raises(IntegrityError):
        row = session.scalars(select(HelpRequest)).one()
        session.add(RequestNeed(request_id=row.id, need="food", person_id=row.person_id))
        session.commit()


STATUS_CODES = [
    # (label, the code as typed, found)
    ("exact", "HT-26-000001", True),
    ("lower case, spaces", "ht 26 000001", True),
    ("no zeros", "HT-26-1", True),
    ("no separators", "HT26000001", True),
    ("unknown", "HT-26-000404", False),
    ("not a code", "mã của tôi", False),
]


@pytest.mark.parametrize(
    ("typed", "found"), [c[1:] for c in STATUS_CODES], ids=[c[0] for c in STATUS_CODES]
)
def test_status_by_code_as_people_type_it(
    session_factory: sessionmaker[Session],
    new_account: Accounts,
    draft: Drafts,
    typed: str,
    found: bool,
) -> None:
    account = new_account("telegram:1")
    file(session_factory, account, draft(), "form-1")
    with session_factory() as session:
        status = requests.status_for(session=session, person_id=account.person_id, code=typed)
    assert (status is not None) == found


def test_status_only_for_the_owner_on_any_of_their_channels(
    session_factory: sessionmaker[Session], new_account: Accounts, draft: Drafts
) -> None:
    owner = new_account("telegram:1")
    owner_on_zalo = new_account("zalo_oa:9", person_of=owner)
    stranger = new_account("telegram:2")
    code = file(session_factory, owner, draft(), "form-1").request.code
    with session_factory() as session:
        requests.change_status(session=session, code=code, to=IN_PROGRESS, version=1)
        requests.record_message(
            session=session, code=code, text="Tổ dân phố sẽ mang gạo đến chiều nay.", actor="op1"
        )
        mine = requests.status_for(session=session, person_id=owner_on_zalo.person_id, code=code)
        latest = requests.status_for(session=session, person_id=owner.person_id, code=None)
        theirs = requests.status_for(session=session, person_id=stranger.person_id, code=code)
        unknown = requests.status_for(
            session=session, person_id=stranger.person_id, code="HT-26-000999"
        )
        nothing = requests.status_for(session=session, person_id=stranger.person_id, code=None)
    assert mine is not None and mine == latest
    assert (mine.code, mine.status, mine.last_message) == (
        code,
        IN_PROGRESS,
        "Tổ dân phố sẽ mang gạo đến chiều nay.",
    )
    assert theirs is None and unknown is None and nothing is None


def test_the_latest_after_a_repeat_is_the_request_it_joined(
    session_factory: sessionmaker[Session], new_account: Accounts, draft: Drafts
) -> None:
    account = new_account("telegram:1")
    first = file(session_factory, account, draft(needs=["food"]), "form-1")
    file(session_factory, account, draft(needs=["medicine"]), "form-2")
    repeat = file(session_factory, account, draft(needs=["food"]), "form-3")
    assert repeat.repeat is not None
    with session_factory() as session:
        latest = requests.status_for(session=session, person_id=account.person_id, code=None)
        by_repeat_code = requests.status_for(
            session=session, person_id=account.person_id, code=repeat.repeat.code
        )
    assert latest is not None and latest.code == first.request.code
    assert by_repeat_code == latest


def test_a_stale_version_is_a_conflict_and_loses_nothing(
    session_factory: sessionmaker[Session], new_account: Accounts, draft: Drafts
) -> None:
    account = new_account("telegram:1")
    code = file(session_factory, account, draft(), "form-1").request.code
    with session_factory() as alice, session_factory() as bob:
        seen_by_bob = requests.status_for(session=bob, person_id=account.person_id, code=code)
        requests.change_status(
            session=alice, code=code, to=RESOLVED, version=1, reason="Đã giao", actor="alice"
        )
        with pytest.raises(requests.Conflict) as conflict:
            requests.change_status(session=bob, code=code, to=IN_PROGRESS, version=1, actor="bob")
    assert seen_by_bob is not None
    assert (conflict.value.current.status, conflict.value.current.version) == (RESOLVED, 2)
    with session_factory() as session:
        row = session.scalars(select(HelpRequest)).one()
        assert (row.status, row.status_reason) == (RESOLVED, "Đã giao")
        actors = session.scalars(select(RequestEvent.actor).where(RequestEvent.kind == "status"))
        assert list(actors) == ["alice"]


def test_an_update_racing_past_the_version_check_is_still_refused(
    session_factory: sessionmaker[Session], new_account: Accounts, draft: Drafts
) -> None:
    """Bob read version 1 in his session, Alice commits version 2, Bob's write must fail even
    though his own check passed: the UPDATE carries ``WHERE version = 1``."""
    account = new_account("telegram:1")
    code = file(session_factory, account, draft(), "form-1").request.code
    with session_factory() as bob:
        row = bob.scalars(select(HelpRequest)).one()
        with session_factory() as alice:
            requests.change_status(session=alice, code=code, to=IN_PROGRESS, version=1)
        row.status, row.status_reason = RESOLVED, "Bob thinks it is done"
        with pytest.raises(Exception, match="expected to update 1 row"):
            bob.commit()
    with session_factory() as session:
        assert session.scalars(select(HelpRequest.status)).one() == IN_PROGRESS


TRANSITIONS = [
    # (label, path of (status, reason) to apply, then the refused one, its field)
    ("closing without a reason", [], (RESOLVED, None), "reason"),
    ("closing with a blank reason", [], (RESOLVED, "  "), "reason"),
    ("back to new", [(IN_PROGRESS, None)], (NEW, None), "status"),
    ("the same status", [(IN_PROGRESS, None)], (IN_PROGRESS, None), "status"),
    ("closed to closed", [(RESOLVED, "xong")], (DUPLICATE, "trùng"), "status"),
    ("an unknown status", [], ("done", "x"), "status"),
]


@pytest.mark.parametrize(
    ("path", "refused", "field"), [t[1:] for t in TRANSITIONS], ids=[t[0] for t in TRANSITIONS]
)
def test_refused_status_changes(
    session_factory: sessionmaker[Session],
    new_account: Accounts,
    draft: Drafts,
    path: list[tuple[str, str | None]],
    refused: tuple[str, str | None],
    field: str,
) -> None:
    account = new_account("telegram:1")
    code = file(session_factory, account, draft(), "form-1").request.code
    with session_factory() as session:
        for version, (status, reason) in enumerate(path, 1):
            requests.change_status(
                session=session, code=code, to=status, version=version, reason=reason
            )
        with pytest.raises(requests.InvalidRequest) as error:
            requests.change_status(
                session=session, code=code, to=refused[0], version=len(path) + 1, reason=refused[1]
            )
    assert error.value.field == field


def test_reopening_while_another_request_holds_the_need_is_a_conflict(
    session_factory: sessionmaker[Session], new_account: Accounts, draft: Drafts
) -> None:
    account = new_account("telegram:1")
    old = file(session_factory, account, draft(), "form-1").request.code
    with session_factory() as session:
        requests.change_status(session=session, code=old, to=RESOLVED, version=1, reason="xong")
    file(session_factory, account, draft(), "form-2")
    with session_factory() as session, pytest.raises(requests.Conflict, match="open request"):
        requests.change_status(session=session, code=old, to=IN_PROGRESS, version=2)
    assert count(session_factory, HelpRequest.status.in_((NEW, IN_PROGRESS))) == 1


def test_an_unknown_code_cannot_change(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, pytest.raises(LookupError):
        requests.change_status(session=session, code="HT-26-000001", to=IN_PROGRESS, version=1)
