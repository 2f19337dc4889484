"""Auto-assignment: open requests nobody holds go to the commune's operators on shift, the
least loaded first, never beyond their ``max_open``.

Help desks get this wrong two ways: round-robin that ignores how much each person already
holds, and queued items nobody ever picks up. Here every pass looks at all unheld open
requests (most urgent, then oldest, first) and at each operator's open load, and a request
nobody can take is reported, not forgotten. Each assignment is its own conditional update and
commit: two processes running passes at once never assign one request twice, and the
operator's row is locked while their load is counted, so neither pushes them over the limit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.storage.helpdesk import OPEN_STATUSES, HelpRequest
from bot.storage.staff import OPERATOR, AuditEntry, StaffArea, StaffUser

logger = logging.getLogger(__name__)

BATCH = 500  # requests looked at per pass; the rest wait for the next pass
SYSTEM = "system"  # the audit log's actor for assignments nobody made by hand


@dataclass
class Assigned:
    """What a pass did: (code, username) given out, and the codes nobody could take."""

    assigned: list[tuple[str, str]] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


@dataclass
class _Operator:
    id: int
    username: str
    max_open: int
    load: int
    communes: set[int]


def auto_assign(session: Session, now: datetime) -> Assigned:
    """One pass over the open requests nobody holds; commits each assignment."""
    done = Assigned()
    operators = _on_shift(session)
    waiting = session.execute(
        select(HelpRequest.id, HelpRequest.code, HelpRequest.commune_code)
        .where(HelpRequest.status.in_(OPEN_STATUSES), HelpRequest.assignee_id.is_(None))
        .order_by(HelpRequest.urgency, HelpRequest.created_at, HelpRequest.id)
        .limit(BATCH)
    ).all()
    session.rollback()  # end the read: each assignment is its own short transaction
    for request_id, code, commune in waiting:
        for operator in _candidates(operators, commune):
            taken = _give(session, request_id, code, operator, now)
            if taken is None:  # the request went meanwhile (another pass, a claim)
                break
            if taken:
                done.assigned.append((code, operator.username))
                break
        else:
            done.left.append(code)
    if done.left:
        logger.info("auto-assignment: %d request(s) nobody on shift can take", len(done.left))
    return done


def _on_shift(session: Session) -> list[_Operator]:
    """Active operators on shift, with the communes they work and the open requests they hold."""
    staff = session.execute(
        select(StaffUser.id, StaffUser.username, StaffUser.max_open).where(
            StaffUser.role == OPERATOR, StaffUser.active, StaffUser.on_shift
        )
    ).all()
    ids = [row.id for row in staff]
    areas: dict[int, set[int]] = {}
    for staff_id, commune in session.execute(
        select(StaffArea.staff_id, StaffArea.commune_code).where(StaffArea.staff_id.in_(ids))
    ):
        areas.setdefault(staff_id, set()).add(commune)
    loads = dict(
        session.execute(
            select(HelpRequest.assignee_id, func.count())
            .where(HelpRequest.assignee_id.in_(ids), HelpRequest.status.in_(OPEN_STATUSES))
            .group_by(HelpRequest.assignee_id)
        ).all()
    )
    return [
        _Operator(
            row.id, row.username, row.max_open, loads.get(row.id, 0), areas.get(row.id, set())
        )
        for row in staff
    ]


def _candidates(operators: list[_Operator], commune: int) -> list[_Operator]:
    """Who could take a request of this commune, the least loaded first (then by id, so a
    tie always goes the same way)."""
    able = [o for o in operators if commune in o.communes and o.load < o.max_open]
    return sorted(able, key=lambda o: (o.load, o.id))


def _give(
    session: Session, request_id: int, code: str, operator: _Operator, now: datetime
) -> bool | None:
    """Assign if the request is still unheld and the operator still under the limit; True if
    assigned, False if the operator is full, None if the request is taken or closed."""
    # Lock the operator's row first (PostgreSQL; SQLite's writer lock does it): a parallel
    # pass counting their load waits here, then counts this assignment too.
    session.execute(
        update(StaffUser).where(StaffUser.id == operator.id).values(max_open=StaffUser.max_open)
    )
    held = (
        select(func.count())
        .select_from(HelpRequest)
        .where(HelpRequest.assignee_id == operator.id, HelpRequest.status.in_(OPEN_STATUSES))
        .scalar_subquery()
    )
    result = session.execute(
        update(HelpRequest)
        .where(
            HelpRequest.id == request_id,
            HelpRequest.assignee_id.is_(None),
            HelpRequest.status.in_(OPEN_STATUSES),
            held < operator.max_open,
        )
        .values(assignee_id=operator.id, version=HelpRequest.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        session.add(
            AuditEntry(
                at=now,
                actor=SYSTEM,
                action="auto_assign",
                target_kind="help_request",
                target_id=code,
                detail={"to": operator.username},
            )
        )
        session.commit()
        operator.load += 1
        return True
    session.rollback()
    still_free = session.scalar(
        select(func.count())
        .select_from(HelpRequest)
        .where(
            HelpRequest.id == request_id,
            HelpRequest.assignee_id.is_(None),
            HelpRequest.status.in_(OPEN_STATUSES),
        )
    )
    session.rollback()
    if not still_free:
        return None
    operator.load = operator.max_open  # full, as another pass filled them: skip them now
    return False
