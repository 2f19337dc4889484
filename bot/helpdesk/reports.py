"""False-information reports: filed from the conversation, checked by the inspectors in the
desk, and the verdict told to every person who reported the same claim.

A claim already checked gets its verdict at once: the new report is stored as published with
the group's verdict, and the caller tells the person there and then. Every change is optimistic
(the report's ``version``): an inspector acting on a stale page gets ``Conflict``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot import text as vi
from bot import wording
from bot.clock import VIETNAM, utcnow
from bot.helpdesk import desk
from bot.storage.conversations import ChannelAccount
from bot.storage.helpdesk import next_code
from bot.storage.reports import (
    CHECKING,
    CODE_PREFIX,
    DISMISSED,
    NEW,
    OPEN_STATUSES,
    PUBLISHED,
    VERDICTS,
    FalseInfoReport,
    ReportCounter,
)

log = logging.getLogger(__name__)

MAX_CLAIM = 4000  # a long forwarded post fits; beyond it the form asks for the key part
MAX_SEEN_WHERE = 200
MAX_VERDICT = 2000
ATTEMPTS = 5

FILED = "filed"  # a new claim for the inspectors
GROUPED = "grouped"  # the same claim as an open report: checked once, told to all
ANSWERED = "answered"  # the claim was already checked: the verdict is told at once
REPLAYED = "replayed"  # the same confirmation again: nothing new stored

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|zarsrc|zalo_\w+)$", re.IGNORECASE)

Tell = Callable[[Session, int, str], None]  # queue a message to a channel account


class InvalidReport(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


class Conflict(Exception):
    """The report changed since the inspector read it (or is already closed)."""

    def __init__(self, current: FalseInfoReport, problem: str) -> None:
        super().__init__(problem)
        self.current, self.problem = current, problem


@dataclass(frozen=True)
class Filed:
    outcome: str  # FILED | GROUPED | ANSWERED | REPLAYED
    report: FalseInfoReport
    verdict_message: str | None = None  # ANSWERED (or a replay of it): what to tell them now


def first_link(claim: str) -> str | None:
    found = _URL.search(claim)
    return found.group(0).rstrip(".,;:!?)]}")[:500] if found else None


def claim_key(claim: str, link: str | None) -> str:
    """The same claim, however it was forwarded: its link without the scheme, ``www.``,
    tracking parameters and a trailing slash; else its folded words."""
    if link:
        parts = urlsplit(link if "://" in link else f"http://{link}")
        host = parts.netloc.lower().removeprefix("www.").removeprefix("m.")
        query = [(k, v) for k, v in parse_qsl(parts.query) if not _TRACKING.match(k)]
        basis = f"{host}{parts.path.rstrip('/')}?{urlencode(sorted(query))}"
    else:
        basis = vi.key(claim)
    return hashlib.sha256(basis.encode()).hexdigest()


def file(
    *,
    session: Session,
    account_id: int,
    client_key: str,
    claim: str,
    seen_where: str = "",
    at: datetime | None = None,
) -> Filed:
    """Store a confirmed report and commit before returning (see the module's docstring)."""
    text = vi.storable(vi.clean(claim))
    if not vi.has_words(text):
        raise InvalidReport("claim", "empty")
    if len(text) > MAX_CLAIM:
        raise InvalidReport("claim", f"longer than {MAX_CLAIM} characters")
    where = vi.storable(vi.clean(seen_where))[:MAX_SEEN_WHERE]
    account = session.get(ChannelAccount, account_id)
    if account is None:
        raise InvalidReport("account_id", "no such channel account")
    now = at or utcnow()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            filed = _file(session, account, client_key, text, where, now)
            session.commit()
            return filed
        except (IntegrityError, StaleDataError) as error:
            session.rollback()
            log.info("false-information report race, attempt %d: %s", attempt, type(error).__name__)
    raise RuntimeError(f"report not stored after {ATTEMPTS} attempts")


def _file(
    session: Session,
    account: ChannelAccount,
    client_key: str,
    claim: str,
    seen_where: str,
    now: datetime,
) -> Filed:
    replay = session.scalar(
        select(FalseInfoReport).where(
            FalseInfoReport.person_id == account.person_id,
            FalseInfoReport.client_key == client_key,
        )
    )
    if replay is not None:
        told = verdict_message(replay) if replay.status == PUBLISHED else None
        return Filed(REPLAYED, replay, told)
    link = first_link(claim)
    key = claim_key(claim, link)
    code = next_code(
        session=session,
        year=now.astimezone(VIETNAM).year,
        counter=ReportCounter,
        prefix=CODE_PREFIX,
    )
    row = FalseInfoReport(
        code=code,
        person_id=account.person_id,
        account_id=account.id,
        client_key=client_key,
        claim=claim,
        link=link,
        seen_where=seen_where,
        claim_key=key,
        created_at=now,
        updated_at=now,
    )
    group = _group_of(session, key)
    outcome = FILED
    if group is not None and group.status in OPEN_STATUSES:
        row.same_as_id, outcome = group.id, GROUPED
    elif group is not None and group.status == PUBLISHED:
        row.same_as_id, outcome = group.id, ANSWERED
        row.status, row.verdict, row.verdict_text = PUBLISHED, group.verdict, group.verdict_text
        row.verdict_at, row.inspector_id = now, group.inspector_id
    session.add(row)
    session.flush()
    return Filed(outcome, row, verdict_message(row) if outcome == ANSWERED else None)


def _group_of(session: Session, key: str) -> FalseInfoReport | None:
    """The report heading the group of this claim: the newest open or published first report."""
    return session.scalar(
        select(FalseInfoReport)
        .where(
            FalseInfoReport.claim_key == key,
            FalseInfoReport.same_as_id.is_(None),
            FalseInfoReport.status != DISMISSED,
        )
        .order_by(FalseInfoReport.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class QueueRow:
    report: FalseInfoReport
    reporters: int  # people who reported this claim (the first report and those grouped)


def inspector_queue(
    *, session: Session, statuses: tuple[str, ...] = OPEN_STATUSES, page: int = 1, size: int = 50
) -> list[QueueRow]:
    """The claims to check, one row per group: the most reported first, then the oldest."""
    grouped = (
        select(FalseInfoReport.same_as_id, func.count().label("n"))
        .where(FalseInfoReport.same_as_id.is_not(None))
        .group_by(FalseInfoReport.same_as_id)
        .subquery()
    )
    reporters = (1 + func.coalesce(grouped.c.n, 0)).label("reporters")
    query = (
        select(FalseInfoReport, reporters)
        .outerjoin(grouped, grouped.c.same_as_id == FalseInfoReport.id)
        .where(FalseInfoReport.same_as_id.is_(None), FalseInfoReport.status.in_(statuses))
        .order_by(reporters.desc(), FalseInfoReport.id)
        .limit(size)
        .offset((max(page, 1) - 1) * size)
    )
    return [QueueRow(row, int(n)) for row, n in session.execute(query)]


def by_code(*, session: Session, code: str) -> FalseInfoReport | None:
    query = select(FalseInfoReport).where(FalseInfoReport.code == code.strip().upper())
    return session.scalar(query.execution_options(populate_existing=True))


def take(
    *,
    session: Session,
    code: str,
    version: int,
    inspector_id: int | None,
    at: datetime | None = None,
) -> FalseInfoReport:
    """An inspector starts checking a claim (new → checking); commit."""
    row = _current(session, code, version)
    if row.status != NEW:
        raise Conflict(row, "already taken or closed")
    if row.same_as_id is not None:
        raise Conflict(row, "part of another report's group: take that one")
    row.status, row.inspector_id, row.updated_at = CHECKING, inspector_id, at or utcnow()
    session.commit()
    return row


def publish(
    *,
    session: Session,
    code: str,
    version: int,
    inspector_id: int | None,
    verdict: str,
    text: str,
    tell: Tell,
    at: datetime | None = None,
) -> int:
    """Publish the verdict on a claim: the group's open reports take it, and each of their
    reporters is told on their channel (``tell`` queues it in this transaction); commit.
    Returns how many people were told."""
    if verdict not in VERDICTS:
        raise InvalidReport("verdict", f"one of {', '.join(VERDICTS)}")
    explained = _explained(text)
    row = _current(session, code, version)
    if row.status not in OPEN_STATUSES:
        raise Conflict(row, "already closed")
    if row.same_as_id is not None:
        raise Conflict(row, "part of another report's group: publish on that one")
    now = at or utcnow()
    members = _open_members(session, row)
    told: set[int] = set()
    for report in (row, *members):
        report.status, report.verdict, report.verdict_text = PUBLISHED, verdict, explained
        report.verdict_at, report.inspector_id, report.updated_at = now, inspector_id, now
        if report.erased_at is None and report.person_id not in told:
            tell(session, report.account_id, verdict_message(report))
            told.add(report.person_id)
    session.commit()
    return len(told)


def dismiss(
    *,
    session: Session,
    code: str,
    version: int,
    inspector_id: int | None,
    at: datetime | None = None,
) -> FalseInfoReport:
    """Not a checkable claim (spam, a question): closed without telling anyone, with the open
    reports grouped under it (they are the same claim); commit."""
    row = _current(session, code, version)
    if row.status not in OPEN_STATUSES:
        raise Conflict(row, "already closed")
    if row.same_as_id is not None:
        raise Conflict(row, "part of another report's group: dismiss that one")
    now = at or utcnow()
    for report in (row, *_open_members(session, row)):
        report.status, report.inspector_id, report.updated_at = DISMISSED, inspector_id, now
    session.commit()
    return row


def group(*, session: Session, head: FalseInfoReport) -> list[FalseInfoReport]:
    """The reports grouped under ``head``, oldest first (whatever their status)."""
    query = select(FalseInfoReport).where(FalseInfoReport.same_as_id == head.id)
    return list(session.scalars(query.order_by(FalseInfoReport.id)))


def _open_members(session: Session, head: FalseInfoReport) -> list[FalseInfoReport]:
    return list(
        session.scalars(
            select(FalseInfoReport).where(
                FalseInfoReport.same_as_id == head.id, FalseInfoReport.status.in_(OPEN_STATUSES)
            )
        )
    )


def channel_teller(now: datetime) -> Tell:
    """A ``Tell`` for ``publish``: the message queued for the outbox on the reporter's channel
    account, as the desk's replies are — or, when the channel cannot take it now (blocked,
    the Zalo OA window closed), nothing queued and a log line."""

    def tell(session: Session, account_id: int, text: str) -> None:
        account = session.get(ChannelAccount, account_id)
        assert account is not None  # a foreign key
        problem = desk.reach_problem(account, now)
        if problem is not None:
            log.info("verdict to account %d not queued: %s", account_id, problem)
            return
        message = desk.queue_message(session, account, text)
        message.created_at = now
        message.data = {**message.data, "false_info": True}

    return tell


def preview(*, code: str, verdict: str, text: str) -> str:
    """What a reporter would read if this verdict were published now (nothing is stored)."""
    if verdict not in VERDICTS:
        raise InvalidReport("verdict", f"one of {', '.join(VERDICTS)}")
    explained = _explained(text)
    return verdict_message(FalseInfoReport(code=code, verdict=verdict, verdict_text=explained))


def _explained(text: str) -> str:
    explained = vi.storable(vi.clean(text))
    if not vi.has_words(explained) or len(explained) > MAX_VERDICT:
        raise InvalidReport("verdict_text", f"1 to {MAX_VERDICT} characters")
    return explained


def verdict_message(report: FalseInfoReport) -> str:
    """What the reporter reads: the code, the verdict in plain words, the inspectors' note."""
    assert report.verdict is not None
    return wording.phrase(
        "false_info_verdict",
        code=report.code,
        verdict=wording.table("false_info_verdicts")[report.verdict],
        text=report.verdict_text or "",
    )


def _current(session: Session, code: str, version: int) -> FalseInfoReport:
    row = by_code(session=session, code=code)
    if row is None:
        raise LookupError(code)
    if row.version != version:
        raise Conflict(row, "changed since it was read")
    return row
