"""The alert-levels page (/desk/levels): each area's level in force and its history, and the
form a communications officer sets a new level with — which also makes the draft announcement
(``bot.alerts.levels.set_level``) and opens it.

The area is typed by name (new or old, with or without diacritics); a name that could mean
several units comes back with the choices. A refusal (a level outside the scheme, an effective
time in the past…) is shown next to its field, with everything typed kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts import broadcasts, levels, schemes
from bot.alerts.subscriptions import AreaCode
from bot.clock import VIETNAM, start_of
from bot.helpdesk import staff as accounts
from bot.helpdesk.staff import SET_LEVEL, VIEW_BROADCASTS, Staff
from bot.places import place_key
from bot.settings import Settings
from bot.storage.content import AreaLevel
from bot.storage.staff import AuditEntry, StaffUser
from bot.web.desk import area_names
from bot.web.desk.auth import FormFields, desk_of, require

logger = logging.getLogger(__name__)

Reader = Annotated[Staff, Depends(require(VIEW_BROADCASTS))]
Officer = Annotated[Staff, Depends(require(SET_LEVEL))]
FIELDS = ("area", "unit", "level", "decision", "effective_at", "note")
MAX_FIELD = 500  # characters kept of a typed field (the form's are short)


def add_routes(router: APIRouter, *, cfg: Settings) -> None:
    home = area_names.read(cfg.province, province=cfg.province).unit

    def page(request: Request, staff: Staff, status: int = 200, **values: Any) -> Response:
        desk = desk_of(request)
        now = desk.now()
        with desk.sessions() as session:
            shown = _overview(session, home.code if home else None, now)
            scheme = schemes.get(session=session, key=cfg.alert_scheme)
            steps = schemes.levels(session=session, scheme=cfg.alert_scheme)
        response: Response = desk.page(
            request,
            "desk/levels.html",
            status,
            areas=shown,
            scheme_name=scheme.name if scheme else cfg.alert_scheme,
            steps=list(steps.values()),
            area_name=area_names.name_of,
            unit_key=place_key,
            may_set=accounts.may(staff, SET_LEVEL),
            default_time=now.astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M"),
            **values,
        )
        return response

    @router.get("/levels", include_in_schema=False)
    def overview(request: Request, staff: Reader) -> Response:
        return page(request, staff)

    @router.post("/levels", include_in_schema=False)
    def set_level(request: Request, staff: Officer, form: FormFields) -> Response:
        desk = desk_of(request)
        typed = {k: str(form.get(k, ""))[:MAX_FIELD].strip() for k in FIELDS}
        unit = area_names.unit_of(typed["unit"]) if typed["unit"] else None
        if unit is None:
            named = area_names.read(typed["area"], province=cfg.province)
            if named.unit is None:
                problem = "area_choose" if named.choices else "area_unknown"
                return page(request, staff, 422, typed=typed, named=named, problem=problem)
            unit = named.unit
        effective_at = _local_time(typed["effective_at"])
        if effective_at is None:
            return page(request, staff, 422, typed=typed, problem="effective_at")
        if not typed["level"].isdigit() or len(typed["level"]) > 3:
            return page(request, staff, 422, typed=typed, problem="level")
        now = desk.now()
        with desk.sessions() as session:
            try:
                _, draft = levels.set_level(
                    session=session,
                    officer=staff,
                    area=area_names.area_code(unit),
                    level=int(typed["level"]),
                    decision=typed["decision"],
                    effective_at=effective_at,
                    note=typed["note"] or None,
                    now=now,
                    cfg=cfg,
                )
                session.commit()
            except broadcasts.BroadcastError as refused:
                session.rollback()
                logger.info("desk level for %s refused (%s)", unit.code, refused.field)
                return page(
                    request, staff, 422, typed=typed, unit=unit,
                    unit_label=area_names.label(unit), error=refused,
                )  # fmt: skip
            draft_id = draft.id
        return RedirectResponse(f"/desk/broadcasts/{draft_id}?done=level", status_code=303)


@dataclass(frozen=True)
class Step:
    """One row of an area's level history, as the page shows it."""

    id: int
    level: int
    name: str
    decision: str
    valid_from: datetime
    valid_until: datetime | None
    set_by: str | None  # who set it in the desk or with ``loa``; None: a content file


@dataclass(frozen=True)
class AreaLevels:
    """An area with levels of its own: the one in force now (if any) and its history."""

    area: AreaCode
    current: Step | None
    upcoming: Step | None  # decided, not yet in force
    history: list[Step]


def _overview(session: Session, province_code: int | None, now: datetime) -> list[AreaLevels]:
    """The province and each of its units that has levels of its own, the province first;
    who set each level comes from the audit log (``set_level`` writes it)."""
    if province_code is None:
        return []
    found = session.scalars(
        select(AreaLevel.commune_code).where(AreaLevel.province_code == province_code).distinct()
    )
    codes = sorted(
        (AreaCode(province_code, c) for c in found),
        key=lambda a: (a.commune_code is not None, area_names.name_of(a)),
    )
    shown: list[AreaLevels] = []
    for area in codes:
        rows = levels.history(session=session, area=area)
        setters = _setters(session, [r.id for r in rows])
        steps = [
            Step(
                r.id,
                r.level,
                schemes.describe(session=session, row=r)[0],
                r.decision,
                r.valid_from,
                r.valid_until,
                setters.get(r.id),
            )
            for r in rows
        ]
        current = next(
            (
                s
                for s in steps
                if s.valid_from <= now and (s.valid_until is None or s.valid_until > now)
            ),
            None,
        )
        later = [s for s in steps if s.valid_from > now]
        shown.append(AreaLevels(area, current, later[-1] if later else None, steps))
    return shown


def _setters(session: Session, level_ids: list[int]) -> dict[int, str]:
    """Who set each of these levels: the staff member's name as the desk shows it."""
    if not level_ids:
        return {}
    query = (
        select(AuditEntry.target_id, AuditEntry.actor, StaffUser.display_name)
        .outerjoin(StaffUser, StaffUser.id == AuditEntry.staff_id)
        .where(
            AuditEntry.action == "level_set",
            AuditEntry.target_kind == "area_level",
            AuditEntry.target_id.in_([str(i) for i in level_ids]),
        )
    )
    return {int(target): name or actor for target, actor, name in session.execute(query)}


def _local_time(text: str) -> datetime | None:
    """An ``<input type=datetime-local>`` value (Viet Nam's time) as UTC; None if garbled."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return start_of(value.replace(tzinfo=None))
