"""Plan vs actual (/desk/broadcasts/plan): for each area and one week, what its level requires
(messages per person) and how many subscribers got it — a bar chart drawn on the server (the
share who got what they should) and the same numbers in a table. Counts only.

Weeks start on Monday 00:00, Viet Nam's time; the picker offers this week and the ones before.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bot.alerts import cadence
from bot.clock import VIETNAM, start_of
from bot.helpdesk.staff import VIEW_BROADCASTS, Staff
from bot.web.desk import charts
from bot.web.desk.auth import desk_of, require

logger = logging.getLogger(__name__)

Reader = Annotated[Staff, Depends(require(VIEW_BROADCASTS))]
WEEKS = 12  # how many weeks back the picker offers


def monday_of(moment: datetime) -> date:
    """The Monday (Viet Nam's calendar) of the week ``moment`` falls in."""
    local = moment.astimezone(VIETNAM).date()
    return local - timedelta(days=local.weekday())


def add_routes(router: APIRouter) -> None:
    @router.get("/broadcasts/plan", include_in_schema=False)
    def plan(request: Request, staff: Reader, week: str = "") -> Response:
        desk = desk_of(request)
        now = desk.now()
        this_week = monday_of(now)
        weeks = [this_week - timedelta(weeks=n) for n in range(WEEKS)]
        try:
            chosen = date.fromisoformat(week) if week else this_week
        except ValueError:
            chosen = None
        if chosen not in weeks:
            logger.info("desk plan: a week the picker does not offer: %r", week[:20])
            return desk.page(request, "desk/plan.html", 400, bad_week=True, weeks=weeks)
        with desk.sessions() as session:
            rows = cadence.plan_vs_actual(session=session, week_start=start_of(chosen), now=now)
        chart = charts.horizontal(
            [(row, row.percent) for row in rows],
            top=100.0,
        )
        return desk.page(
            request,
            "desk/plan.html",
            rows=rows,
            chart=chart,
            week=chosen,
            weeks=weeks,
            this_week=this_week,
        )
