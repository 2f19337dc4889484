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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Executable, Float, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.clock import VIETNAM, start_of
from bot.helpdesk.sla import DEFAULT, Targets
from bot.storage.helpdesk import NEEDS, URGENCIES, HelpRequest, RequestNeed

WINDOWS = (14, 30)  # the days a report may cover (the page's choices)
OTHERS = 0  # the commune code of "all the other communes" in the per-commune series

Key = tuple[date, int, str]  # a day, a commune code, an urgency


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
    """The Viet Nam day of a stored UTC time: a date on PostgreSQL, its ISO text on SQLite
    (``_day`` reads either). Viet Nam keeps UTC+7 all year (no daylight saving), so SQLite's
    fixed offset is exact; on PostgreSQL a cast to date costs a third of ``to_char``."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column, "+7 hours")
    return cast(func.timezone("Asia/Ho_Chi_Minh", column), Date)


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _seconds(session: Session, start: Any, end: Any) -> ColumnElement[float]:
    """``end - start`` in seconds, in SQL."""
    if session.get_bind().dialect.name == "sqlite":
        return cast((func.julianday(end) - func.julianday(start)) * 86400.0, Float)
    return cast(func.extract("epoch", end - start), Float)


def _rows(session: Session, query: Executable) -> Sequence[Any]:
    """A query's rows straight from the session's connection: plain tuples, not through the
    ORM's loading (a third of the medians' time for 100,000 requests)."""
    return session.connection().execute(query).all()


def _in_window(window: Window) -> ColumnElement[bool]:
    return and_(HelpRequest.created_at >= window.start, HelpRequest.created_at <= window.end)


def _need_counts(session: Session, window: Window) -> dict[Key, dict[str, int]]:
    """How many requests hold each need, per day, commune and urgency (a need held by none is
    absent)."""
    day = _local_day(session, HelpRequest.created_at).label("day")
    query = (
        select(day, HelpRequest.commune_code, HelpRequest.urgency, RequestNeed.need, func.count())
        .join(RequestNeed, RequestNeed.request_id == HelpRequest.id)
        .where(_in_window(window))
        .group_by(day, HelpRequest.commune_code, HelpRequest.urgency, RequestNeed.need)
    )
    held: dict[Key, dict[str, int]] = defaultdict(dict)
    for d, code, urgency, need, n in _rows(session, query):
        held[(_day(d), code, urgency)][need] = n
    return held


def by_need(session: Session, window: Window) -> Series:
    """Requests filed per day and need."""
    day = _local_day(session, HelpRequest.created_at).label("day")
    query = (
        select(day, RequestNeed.need, func.count())
        .join(RequestNeed, RequestNeed.request_id == HelpRequest.id)
        .where(_in_window(window))
        .group_by(day, RequestNeed.need)
    )
    counts = {(_day(d), need): n for d, need, n in _rows(session, query)}
    return Series(window.days, list(NEEDS), counts)


def _commune_series(window: Window, raw: dict[tuple[date, int], int], top: int) -> Series:
    """The ``top`` busiest communes of the window by name, the rest together under OTHERS."""
    totals: dict[int, int] = defaultdict(int)
    for (_, code), n in raw.items():
        totals[code] += n
    busiest = sorted(totals, key=lambda code: (-totals[code], code))[:top]
    counts: dict[tuple[date, int], int] = defaultdict(int)
    for (d, code), n in raw.items():
        counts[(d, code if code in busiest else OTHERS)] += n
    keys = busiest + ([OTHERS] if len(totals) > top else [])
    return Series(window.days, keys, dict(counts))


def by_commune(session: Session, window: Window, top: int = 6) -> Series:
    """Requests filed per day and commune: the ``top`` busiest communes of the window by name,
    the rest together under ``OTHERS``."""
    day = _local_day(session, HelpRequest.created_at).label("day")
    query = (
        select(day, HelpRequest.commune_code, func.count())
        .where(_in_window(window))
        .group_by(day, HelpRequest.commune_code)
    )
    raw = {(_day(d), code): n for d, code, n in _rows(session, query)}
    return _commune_series(window, raw, top)


def medians(session: Session, window: Window) -> dict[str | None, Medians]:
    """Median minutes from filing to the first answer and to the closing, per urgency and for
    all (key None). The durations are computed in SQL; only numbers come back, and only for
    the requests with a first answer or a closing."""
    first = _seconds(session, HelpRequest.created_at, HelpRequest.first_response_at)
    close = _seconds(session, HelpRequest.created_at, HelpRequest.closed_at)
    query = select(HelpRequest.urgency, first, close).where(
        _in_window(window),
        HelpRequest.first_response_at.is_not(None) | HelpRequest.closed_at.is_not(None),
    )
    firsts: dict[str | None, list[float]] = {key: [] for key in (*URGENCIES, None)}
    closes: dict[str | None, list[float]] = {key: [] for key in (*URGENCIES, None)}
    for urgency, to_first, to_close in _rows(session, query):
        if to_first is not None:
            firsts[urgency].append(to_first / 60)
        if to_close is not None:
            closes[urgency].append(to_close / 60)
    firsts[None] = [m for u in URGENCIES for m in firsts[u]]
    closes[None] = [m for u in URGENCIES for m in closes[u]]

    def median(values: list[float]) -> float | None:
        return round(statistics.median(values), 1) if values else None

    return {
        key: Medians(median(firsts[key]), len(firsts[key]), median(closes[key]), len(closes[key]))
        for key in (*URGENCIES, None)
    }


def _late(session: Session, now: datetime, targets: Targets) -> ColumnElement[bool]:
    """Whether a request passed a target, as ``bot.helpdesk.sla.sla`` decides it: answered
    late, or closed late, or still open past a target at ``now``."""
    start = func.coalesce(HelpRequest.clock_started_at, HelpRequest.created_at)
    stopped = func.coalesce(HelpRequest.closed_at, literal(now, HelpRequest.closed_at.type))
    answered = func.coalesce(HelpRequest.first_response_at, stopped)

    def target(by_urgency: dict[str, timedelta]) -> ColumnElement[float]:
        return case(
            *((HelpRequest.urgency == u, by_urgency[u].total_seconds()) for u in URGENCIES),
            else_=0.0,
        )

    return (_seconds(session, start, answered) > target(targets.first_response)) | (
        _seconds(session, start, stopped) > target(targets.resolution)
    )


@dataclass(frozen=True)
class Cell:
    """The requests filed on one day in one commune at one urgency, and what became of them."""

    requests: int
    answered: int  # with a first answer
    closed: int
    met: int  # closed, both targets kept
    late: int  # a target passed

    @property
    def pending(self) -> int:
        return self.requests - self.met - self.late


def cells(
    session: Session, window: Window, now: datetime, targets: Targets = DEFAULT
) -> dict[Key, Cell]:
    """The window's requests counted by day, commune and urgency, in one pass over the
    reports' index: the SLA outcome is worked out once per request, in SQL."""
    day = _local_day(session, HelpRequest.created_at).label("day")
    late = case((_late(session, now, targets), 1), else_=0).label("late")
    query = (
        select(
            day,
            HelpRequest.commune_code,
            HelpRequest.urgency,
            late,
            func.count(),
            func.count(HelpRequest.first_response_at),
            func.count(HelpRequest.closed_at),
        )
        .where(_in_window(window))
        .group_by(day, HelpRequest.commune_code, HelpRequest.urgency, late)
    )
    found: dict[Key, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for d, code, urgency, is_late, n, answered, closed in _rows(session, query):
        counts = found[(_day(d), code, urgency)]
        counts[0] += n
        counts[1] += answered
        counts[2] += closed
        if is_late:
            counts[4] += n
        else:  # not late: closed is met, open is pending
            counts[3] += closed
    return {key: Cell(*counts) for key, counts in found.items()}


def _shares(found: dict[Key, Cell]) -> dict[str | None, SlaShare]:
    totals: dict[str | None, list[int]] = {key: [0, 0, 0] for key in (*URGENCIES, None)}
    for (_, _, urgency), cell in found.items():
        for key in (urgency, None):
            totals[key][0] += cell.met
            totals[key][1] += cell.late
            totals[key][2] += cell.pending
    return {key: SlaShare(*counts) for key, counts in totals.items()}


def sla_shares(
    session: Session, window: Window, now: datetime, targets: Targets = DEFAULT
) -> dict[str | None, SlaShare]:
    """Met, late and pending requests per urgency and for all (key None)."""
    return _shares(cells(session, window, now, targets))


@dataclass(frozen=True)
class Report:
    """Everything the reports page shows, from three passes over the window's requests."""

    needs: Series
    communes: Series
    medians: dict[str | None, Medians]
    shares: dict[str | None, SlaShare]


def report(
    session: Session, window: Window, now: datetime, targets: Targets = DEFAULT, top: int = 6
) -> Report:
    """``by_need``, ``by_commune``, ``medians`` and ``sla_shares`` at once: the per-commune
    series and the shares come from the same counts."""
    found = cells(session, window, now, targets)
    per_commune: dict[tuple[date, int], int] = defaultdict(int)
    for (d, code, _), cell in found.items():
        per_commune[(d, code)] += cell.requests
    return Report(
        needs=by_need(session, window),
        communes=_commune_series(window, dict(per_commune), top),
        medians=medians(session, window),
        shares=_shares(found),
    )


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
    held = _need_counts(session, window)
    rows = [
        CsvRow(
            day=d,
            commune_code=code,
            urgency=urgency,
            requests=cell.requests,
            needs={need: held.get((d, code, urgency), {}).get(need, 0) for need in NEEDS},
            answered=cell.answered,
            closed=cell.closed,
            met=cell.met,
            late=cell.late,
        )
        for (d, code, urgency), cell in cells(session, window, now, targets).items()
    ]
    rank = {u: i for i, u in enumerate(URGENCIES)}
    return sorted(rows, key=lambda r: (r.day, r.commune_code, rank[r.urgency]))


def version(session: Session) -> tuple[int, ...]:
    """What changes when a request is filed, answered, closed, reopened, changed in any way the
    desk changes it (each bumps ``HelpRequest.version``) or deleted; read from the reports'
    index alone. A report computed at one version holds at the same one, but for time passing."""
    query = select(
        func.count(),
        func.max(HelpRequest.id),
        func.count(HelpRequest.first_response_at),
        func.count(HelpRequest.closed_at),
        func.sum(HelpRequest.version),
    )
    (row,) = _rows(session, query)
    return tuple(int(v or 0) for v in row)
