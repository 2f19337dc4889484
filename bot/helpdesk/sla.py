"""The desk's service levels: when a request is owed a first answer and a closing, by urgency.

Both clocks count from filing (or from the last reopening) and stop when the request is
closed: a request closed late stays "missed", one closed in time "met". ``overdue`` lists the
open requests past a target, for the supervisors' escalation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bot.settings import Settings
from bot.storage.helpdesk import OPEN_STATUSES, URGENCIES, HelpRequest

# SLA states, as the queue shows them.
ON_TIME = "on_time"  # open, no target passed
OVERDUE = "overdue"  # open, a target passed
MET = "met"  # closed, both targets kept
MISSED = "missed"  # closed, a target was passed on the way

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"


@dataclass(frozen=True)
class Targets:
    """How long each urgency may wait for a first answer and for a closing."""

    first_response: dict[str, timedelta]
    resolution: dict[str, timedelta]

    @classmethod
    def from_settings(cls, settings: Settings) -> Targets:
        s = settings
        minutes = (
            s.sla_first_response_minutes_emergency,
            s.sla_first_response_minutes_high,
            s.sla_first_response_minutes_normal,
        )
        hours = (
            s.sla_resolution_hours_emergency,
            s.sla_resolution_hours_high,
            s.sla_resolution_hours_normal,
        )
        return cls(
            first_response={
                u: timedelta(minutes=m) for u, m in zip(URGENCIES, minutes, strict=True)
            },
            resolution={u: timedelta(hours=h) for u, h in zip(URGENCIES, hours, strict=True)},
        )


DEFAULT = Targets.from_settings(Settings())


class Clocked(Protocol):
    """What the clocks read: a request, or a queue row that carries these fields."""

    @property
    def urgency(self) -> str: ...
    @property
    def clock_start(self) -> datetime: ...
    @property
    def first_response_at(self) -> datetime | None: ...
    @property
    def closed_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class Sla:
    """One request's clocks at ``now``."""

    first_response_due: datetime
    resolution_due: datetime
    first_response_overdue: bool  # no answer by the due time (or still none, past it)
    resolution_overdue: bool  # not closed by the due time
    state: str  # ON_TIME | OVERDUE | MET | MISSED


def sla(request: Clocked, now: datetime, targets: Targets = DEFAULT) -> Sla:
    """The request's due times and whether each was passed; a closed request's clocks stopped
    at ``closed_at``, so time passing changes nothing for it."""
    start, level = request.clock_start, request.urgency
    first_due = start + targets.first_response[level]
    closing_due = start + targets.resolution[level]
    stopped = request.closed_at or now
    answered = request.first_response_at or stopped
    first_late = answered > first_due
    closing_late = stopped > closing_due
    late = first_late or closing_late
    running = request.closed_at is None
    state = (OVERDUE if late else ON_TIME) if running else (MISSED if late else MET)
    return Sla(first_due, closing_due, first_late, closing_late, state)


@dataclass(frozen=True)
class Overdue:
    """An open request past a target, for escalation."""

    code: str
    commune_code: int
    urgency: str
    clock: str  # FIRST_RESPONSE (no answer yet) or RESOLUTION
    due: datetime
    assignee_id: int | None
    request_id: int
    clock_start: datetime  # where the late clock counts from: an escalation is once per clock


def overdue(
    session: Session, now: datetime, targets: Targets = DEFAULT, limit: int = 500
) -> list[Overdue]:
    """Open requests past a target, most urgent then longest overdue first.

    The query asks, per urgency, for open requests filed before that urgency's shortest
    deadline (the open-queue index serves it), then checks the exact clock in Python: a
    reopened request's clocks start later than its filing.
    """
    found: list[Overdue] = []
    for level in URGENCIES:
        first_cutoff = now - targets.first_response[level]
        closing_cutoff = now - targets.resolution[level]
        query = (
            select(HelpRequest)
            .where(
                HelpRequest.status.in_(OPEN_STATUSES),
                HelpRequest.urgency == level,
                or_(
                    and_(
                        HelpRequest.first_response_at.is_(None),
                        HelpRequest.created_at < first_cutoff,
                    ),
                    HelpRequest.created_at < closing_cutoff,
                ),
                func.coalesce(HelpRequest.clock_started_at, HelpRequest.created_at)
                < max(first_cutoff, closing_cutoff),
            )
            .order_by(HelpRequest.created_at, HelpRequest.id)
            .limit(limit)
        )
        for row in session.scalars(query):
            clocks = sla(row, now, targets)
            if clocks.first_response_overdue and row.first_response_at is None:
                found.append(_overdue(row, FIRST_RESPONSE, clocks.first_response_due))
            elif clocks.resolution_overdue:
                found.append(_overdue(row, RESOLUTION, clocks.resolution_due))
    return found


def _overdue(row: HelpRequest, clock: str, due: datetime) -> Overdue:
    return Overdue(
        row.code,
        row.commune_code,
        row.urgency,
        clock,
        due,
        row.assignee_id,
        row.id,
        row.clock_start,
    )
