"""False-information reports: filed once, grouped by claim, checked once, the verdict told to
every reporter (and at once to later ones), stale pages refused. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.helpdesk import reports, retention
from bot.storage.conversations import ChannelAccount
from bot.storage.reports import CHECKING, DISMISSED, FALSE, NEW, PUBLISHED, FalseInfoReport

DATABASES = ("sqlite", "postgresql")

Accounts = Callable[..., ChannelAccount]
AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
RUMOUR = "Uống nước chanh nóng mỗi sáng là khỏi bệnh, chia sẻ ngay! https://example.vn/tin?utm_source=zalo"


def report(
    factory: sessionmaker[Session],
    account: ChannelAccount,
    claim: str = RUMOUR,
    key: str = "k1",
    where: str = "nhóm Zalo khu phố",
) -> reports.Filed:
    with factory() as session:
        return reports.file(
            session=session,
            account_id=account.id,
            client_key=key,
            claim=claim,
            seen_where=where,
            at=AT,
        )


def current(factory: sessionmaker[Session], code: str) -> FalseInfoReport:
    with factory() as session:
        row = reports.by_code(session=session, code=code)
        assert row is not None
        return row


class Told:
    """Captures what ``publish`` queues for each channel account."""

    def __init__(self) -> None:
        self.messages: list[tuple[int, str]] = []

    def __call__(self, session: Session, account_id: int, text: str) -> None:
        self.messages.append((account_id, text))


def test_a_report_is_stored_with_its_link_and_a_code(
    session_factory: sessionmaker[Session], new_account: Accounts
) -> None:
    filed = report(session_factory, new_account("telegram:1"))
    assert filed.outcome == reports.FILED
    row = current(session_factory, filed.report.code)
    assert (row.code, row.status, row.link) == (
        "TG-26-000001",
        NEW,
        "https://example.vn/tin?utm_source=zalo",
    )
    assert row.seen_where == "nhóm Zalo khu phố"


def test_the_same_confirmation_twice_is_one_report(
    session_factory: sessionmaker[Session], new_account: Accounts
) -> None:
    account = new_account("zalo_oa:5")
    first = report(session_factory, account)
    again = report(session_factory, account)
    assert (again.outcome, again.report.code) == (reports.REPLAYED, first.report.code)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(FalseInfoReport)) == 1


def test_a_confirmation_arriving_twice_at_once_stores_one_report(
    session_factory: sessionmaker[Session], new_account: Accounts
) -> None:
    account = new_account("telegram:2")
    barrier, outcomes = threading.Barrier(2), []

    def confirm() -> None:
        barrier.wait()
        outcomes.append(report(session_factory, account).outcome)

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == [reports.FILED, reports.REPLAYED]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(FalseInfoReport)) == 1


@pytest.mark.parametrize(
    "other",
    [
        "Xem ngay: http://www.example.vn/tin/?fbclid=abc",  # the same link, forwarded again
        "uong nuoc chanh nong moi sang la khoi benh, chia se ngay! https://m.example.vn/tin",
    ],
)
def test_reports_of_the_same_claim_are_grouped_and_checked_once(
    session_factory: sessionmaker[Session], new_account: Accounts, other: str
) -> None:
    first = report(session_factory, new_account("telegram:1"))
    second = report(session_factory, new_account("zalo_oa:2"), claim=other, key="k2")
    assert second.outcome == reports.GROUPED
    assert current(session_factory, second.report.code).same_as_id == first.report.id
    with session_factory() as session:
        rows = reports.inspector_queue(session=session)
    assert [(r.report.code, r.reporters) for r in rows] == [(first.report.code, 2)]


def test_different_claims_are_not_grouped(
    session_factory: sessionmaker[Session], new_account: Accounts
) -> None:
    report(session_factory, new_account("telegram:1"))
    other = report(
        session_factory, new_account("telegram:2"), claim="Tỏi sống chữa được bệnh", key="x"
    )
    assert other.outcome == reports.FILED


def test_the_queue_puts_the_most_reported_claim_first(
    session_factory: sessionmaker[Session], new_account: Accounts
) -> None:
    lone = report(session_factory, new_account("telegram:1"), claim="Tỏi sống chữa bệnh", key="a")
    for n in range(3):
        report(session_factory, new_account(f"telegram:{10 + n}"), key=f"b{n}")
    with session_factory() as session:
        rows = reports.inspector_queue(session=session)
    assert [r.reporters for r in rows] == [3, 1]
    assert rows[1].report.code == lone.report.code


def test_publishing_tells_every_reporter_once_and_later_ones_at_once(
    session_factory: sessionmaker[Session], new_account: Accounts
) -> None:
    one, two = new_account("telegram:1"), new_account("zalo_bot:2")
    two_again = new_account("webchat:w2", person_of=two)
    first = report(session_factory, one)
    report(session_factory, two, key="k2")
    report(session_factory, two_again, key="k3")  # the same person on another channel
    row = current(session_factory, first.report.code)
    told = Told()
    with session_factory() as session:
        count = reports.publish(
            session=session,
            code=row.code,
            version=row.version,
            inspector_id=None,
            verdict=FALSE,
            text="Nước chanh không chữa được bệnh. Hãy làm theo hướng dẫn của Bộ Y tế.",
            tell=told,
            at=AT,
        )
    assert count == 2
    assert [account for account, _ in told.messages] == [one.id, two.id]
    text = told.messages[0][1]
    assert first.report.code in text and "SAI" in text and "Nước chanh không" in text
    with session_factory() as session:
        statuses = set(session.scalars(select(FalseInfoReport.status)))
    assert statuses == {PUBLISHED}

    late = report(session_factory, new_account("telegram:3"), key="k4")
    assert late.outcome == reports.ANSWERED
    assert late.verdict_message is not None and "SAI" in late.verdict_message
    replay = report(session_factory, new_account("telegram:3"), key="k4")
    assert (replay.outcome, replay.verdict_message) == (reports.REPLAYED, late.verdict_message)


def test_a_stale_page_cannot_change_a_report(
    session_factory: sessionmaker[Session], new_account: Accounts
) -> None:
    filed = report(session_factory, new_account("telegram:1"))
    with session_factory() as session:
        reports.take(session=session, code=filed.report.code, version=1, inspector_id=None)
    assert current(session_factory, filed.report.code).status == CHECKING
    with session_factory() as session, pytest.raises(reports.Conflict):
        reports.dismiss(session=session, code=filed.report.code, version=1, inspector_id=None)
    row = current(session_factory, filed.report.code)
    with session_factory() as session:
        reports.dismiss(
            session=session,
            code=row.code,
            version=row.version,
            inspector_id=None,
        )
    assert current(session_factory, filed.report.code).status == DISMISSED


@pytest.mark.parametrize("claim", ["", "   ", "🙂🙂", "x" * (reports.MAX_CLAIM + 1)])
def test_an_empty_or_huge_claim_is_refused_and_nothing_is_stored(
    session_factory: sessionmaker[Session], new_account: Accounts, claim: str
) -> None:
    with pytest.raises(reports.InvalidReport):
        report(session_factory, new_account("telegram:1"), claim=claim)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(FalseInfoReport)) == 0


def test_a_forgotten_reporter_is_not_told_and_loses_where_they_saw_it(
    session_factory: sessionmaker[Session], new_account: Accounts
) -> None:
    account = new_account("telegram:1")
    filed = report(session_factory, account)
    with session_factory.begin() as session:
        retention.ask_to_forget(session=session, person_id=account.person_id, now=AT)
    row = current(session_factory, filed.report.code)
    assert (row.seen_where, row.claim) == ("", RUMOUR)
    told = Told()
    with session_factory() as session:
        count = reports.publish(
            session=session,
            code=row.code,
            version=row.version,
            inspector_id=None,
            verdict=FALSE,
            text="Sai.",
            tell=told,
        )
    assert (count, told.messages) == (0, [])
