"""The supervisors' reports: requests filed per day by need and by commune, the median time to
a first answer and to a closing, and the share of requests kept within the SLA.

Everything is counted over the requests *filed* in a window of Viet Nam days (the last 14 or
30), grouped in SQL: nothing personal leaves the database. A request with two needs counts
once for each need in the per-need series, once in every other count. SLA outcomes are those
``bot.helpdesk.sla`` gives a request: met, missed (closed late) and overdue (open and late)
are decided; a request still open within its targets is pending and kept out of the share.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Float, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.clock import VIETNAM, start_of
from bot.helpdesk.sla import DEFAULT, Targets
from bot.storage.helpdesk import NEEDS, URGENCIES, HelpRequest, RequestNeed

WINDOWS = (14, 30)  # the days a report may cover (the page's choices)
OTHERS = 0  # the commune code of "all the other communes" in the per-commune series

# SLA outcomes, as counted here.
MET = "met"  # closed, both targets kept
LATE = "late"  # a target passed: closed late, or open and overdue
PENDING = "pending"  # open, no target passed yet


@dataclass(frozen=True)
class Window:
    """The Viet Nam days ``first``..``last`` (included), as UTC ``start``..``end``."""

    first: date
    last: date
    start: datetime
    end: datetime

    @classmethod
    def last_days(cls, days: int, now: datetime) -> Window:
        """The last ``days`` days up to ``now`` (today included, up to ``now``)."""
        if days < 1:
            raise ValueError("a window has at least one day")
        today = now.astimezone(VIETNAM).date()
        first = today - timedelta(days=days - 1)
        return cls(first, today, start_of(first), now)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


@dataclass(frozen=True)
class Series:
    """Counts per day and key (a need, or a commune code), every day of the window present."""

    days: list[date]
    keys: list[Any]  # in the order a chart stacks them
    counts: dict[tuple[date, Any], int]

    def at(self, day: date, key: Any) -> int:
        return self.counts.get((day, key), 0)

    def total(self, key: Any) -> int:
        return sum(n for (_, k), n in self.counts.items() if k == key)

    def day_total(self, day: date) -> int:
        return sum(n for (d, _), n in self.counts.items() if d == day)


@dataclass(frozen=True)
class Medians:
    """Median minutes to the first answer and to the closing, and how many each is over."""

    first_response: float | None
    first_response_n: int
    close: float | None
    close_n: int


@dataclass(frozen=True)
class SlaShare:
    met: int
    late: int
    pending: int

    @property
    def share(self) -> float | None:
        """The share of decided requests that met both targets (0..1), None if none decided."""
        decided = self.met + self.late
        return self.met / decided if decided else None


def _local_day(session: Session, column: Any) -> ColumnElement[Any]:
    """The Viet Nam day of a stored UTC time, as the database writes a date (YYYY-MM-DD).
    Viet Nam keeps UTC+7 all year (no daylight saving), so SQLite's fixed offset is exact."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column, "+7 hours")
    return func.to_char(func.timezone("Asia/Ho_Chi_Minh", column), "YYYY-MM-DD")


def _seconds(session: Session, start: Any, end: Any) -> ColumnElement[float]:
    """``end - start`` in seconds, in SQL."""
    if session.get_bind().dialect.name == "sqlite":
        return cast((func.julianday(end) - func.julianday(start)) * 86400.0, Float)
    return cast(func.extract("epoch", end - start), Float)


def _in_window(window: Window) -> ColumnElement[bool]:
    return and_(HelpRequest.created_at >= window.start, HelpRequest.created_at <= window.end)


def by_need(session: Session, window: Window) -> Series:
    """Requests filed per day and need."""
    day = _local_day(session, HelpRequest.created_at).label("day")
    query = (
        select(day, RequestNeed.need, func.count())
        .join(RequestNeed, RequestNeed.request_id == HelpRequest.id)
        .where(_in_window(window))
        .group_by(day, RequestNeed.need)
    )
    counts = {(date.fromisoformat(d), need): n for d, need, n in session.execute(query)}
    return Series(window.days, list(NEEDS), counts)


def by_commune(session: Session, window: Window, top: int = 6) -> Series:
    """Requests filed per day and commune: the ``top`` busiest communes of the window by name,
    the rest together under ``OTHERS``."""
    day = _local_day(session, HelpRequest.created_at).label("day")
    query = (
        select(day, HelpRequest.commune_code, func.count())
        .where(_in_window(window))
        .group_by(day, HelpRequest.commune_code)
    )
    raw = [(date.fromisoformat(d), code, n) for d, code, n in session.execute(query)]
    totals: dict[int, int] = defaultdict(int)
    for _, code, n in raw:
        totals[code] += n
    busiest = sorted(totals, key=lambda code: (-totals[code], code))[:top]
    counts: dict[tuple[date, int], int] = defaultdict(int)
    for d, code, n in raw:
        counts[(d, code if code in busiest else OTHERS)] += n
    keys = busiest + ([OTHERS] if len(totals) > top else [])
    return Series(window.days, keys, dict(counts))


def medians(session: Session, window: Window) -> dict[str | None, Medians]:
    """Median minutes from filing to the first answer and to the closing, per urgency and for
    all (key None). The durations are computed in SQL; only numbers come back."""
    first = _seconds(session, HelpRequest.created_at, HelpRequest.first_response_at)
    close = _seconds(session, HelpRequest.created_at, HelpRequest.closed_at)
    query = select(HelpRequest.urgency, first, close).where(_in_window(window))
    firsts: dict[str | None, list[float]] = defaultdict(list)
    closes: dict[str | None, list[float]] = defaultdict(list)
    for urgency, to_first, to_close in session.execute(query):
        for key in (urgency, None):
            if to_first is not None:
                firsts[key].append(to_first / 60)
            if to_close is not None:
                closes[key].append(to_close / 60)

    def median(values: list[float]) -> float | None:
        return round(statistics.median(values), 1) if values else None

    return {
        key: Medians(median(firsts[key]), len(firsts[key]), median(closes[key]), len(closes[key]))
        for key in (*URGENCIES, None)
    }


def _outcome(session: Session, now: datetime, targets: Targets) -> ColumnElement[str]:
    """MET, LATE or PENDING for each request, as ``bot.helpdesk.sla.sla`` decides it."""
    start = func.coalesce(HelpRequest.clock_started_at, HelpRequest.created_at)
    stopped = func.coalesce(HelpRequest.closed_at, literal(now, HelpRequest.closed_at.type))
    answered = func.coalesce(HelpRequest.first_response_at, stopped)

    def target(by_urgency: dict[str, timedelta]) -> ColumnElement[float]:
        return case(
            *((HelpRequest.urgency == u, by_urgency[u].total_seconds()) for u in URGENCIES),
            else_=0.0,
        )

    late = (_seconds(session, start, answered) > target(targets.first_response)) | (
        _seconds(session, start, stopped) > target(targets.resolution)
    )
    return case(
        (late, LATE),
        (HelpRequest.closed_at.is_(None), PENDING),
        else_=MET,
    )


def sla_shares(
    session: Session, window: Window, now: datetime, targets: Targets = DEFAULT
) -> dict[str | None, SlaShare]:
    """Met, late and pending requests per urgency and for all (key None)."""
    outcome = _outcome(session, now, targets).label("outcome")
    query = (
        select(HelpRequest.urgency, outcome, func.count())
        .where(_in_window(window))
        .group_by(HelpRequest.urgency, outcome)
    )
    found: dict[str | None, dict[str, int]] = {key: defaultdict(int) for key in (*URGENCIES, None)}
    for urgency, kind, n in session.execute(query):
        found[urgency][kind] += n
        found[None][kind] += n
    return {key: SlaShare(c[MET], c[LATE], c[PENDING]) for key, c in found.items()}


@dataclass(frozen=True)
class CsvRow:
    """One line of the export: the requests filed on a day in a commune at an urgency."""

    day: date
    commune_code: int
    urgency: str
    requests: int
    needs: dict[str, int]  # requests holding each need
    answered: int  # with a first answer
    closed: int
    met: int
    late: int


def export_rows(
    session: Session, window: Window, now: datetime, targets: Targets = DEFAULT
) -> list[CsvRow]:
    """The export's lines, by day, commune and urgency: counts only, nothing personal."""
    day = _local_day(session, HelpRequest.created_at).label("day")
    outcome = _outcome(session, now, targets)
    query = (
        select(
            day,
            HelpRequest.commune_code,
            HelpRequest.urgency,
            func.count(),
            func.count(HelpRequest.first_response_at),
            func.count(HelpRequest.closed_at),
            func.sum(case((outcome == MET, 1), else_=0)),
            func.sum(case((outcome == LATE, 1), else_=0)),
        )
        .where(_in_window(window))
        .group_by(day, HelpRequest.commune_code, HelpRequest.urgency)
    )
    needs_query = (
        select(day, HelpRequest.commune_code, HelpRequest.urgency, RequestNeed.need, func.count())
        .join(RequestNeed, RequestNeed.request_id == HelpRequest.id)
        .where(_in_window(window))
        .group_by(day, HelpRequest.commune_code, HelpRequest.urgency, RequestNeed.need)
    )
    held: dict[tuple[str, int, str], dict[str, int]] = defaultdict(dict)
    for d, code, urgency, need, n in session.execute(needs_query):
        held[(d, code, urgency)][need] = n
    rows = [
        CsvRow(
            day=date.fromisoformat(d),
            commune_code=code,
            urgency=urgency,
            requests=n,
            needs={need: held[(d, code, urgency)].get(need, 0) for need in NEEDS},
            answered=answered,
            closed=closed,
            met=int(met or 0),
            late=int(late or 0),
        )
        for d, code, urgency, n, answered, closed, met, late in session.execute(query)
    ]
    rank = {u: i for i, u in enumerate(URGENCIES)}
    return sorted(rows, key=lambda r: (r.day, r.commune_code, rank[r.urgency]))
