"""The supervisors' reports page (/desk/stats) and its CSV export: charts drawn on the server
as inline SVG, the same numbers in tables below them; counts only, nothing personal."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bot import places
from bot.helpdesk import stats
from bot.helpdesk.sla import Targets
from bot.helpdesk.staff import VIEW_REPORTS, Staff
from bot.settings import Settings
from bot.storage.helpdesk import NEEDS, URGENCIES
from bot.web.desk import charts
from bot.web.desk.auth import desk_of, require

Supervisor = Annotated[Staff, Depends(require(VIEW_REPORTS))]
WORDS = "desk/report_words.html"
BOM = "\ufeff"  # Excel reads a CSV as UTF-8 only when it starts with one


def commune_name(code: int) -> str:
    try:
        return places.get(code).name
    except KeyError:  # a code that no longer exists: show the code
        return str(code)


def add_routes(router: APIRouter, *, cfg: Settings) -> None:
    targets = Targets.from_settings(cfg)

    @router.get("/stats", include_in_schema=False)
    async def report(request: Request, staff: Supervisor, days: str = "14") -> Response:
        desk = desk_of(request)
        chosen = int(days) if days.isdigit() else 0
        if chosen not in stats.WINDOWS:
            return desk.page(request, "desk/stats.html", 400, bad_days=True, windows=stats.WINDOWS)
        now = desk.now()
        span = stats.Window.last_days(chosen, now)
        with desk.sessions() as session:
            needs = stats.by_need(session, span)
            communes = stats.by_commune(session, span)
            medians = stats.medians(session, span)
            shares = stats.sla_shares(session, span, now, targets)
        names = {code: commune_name(code) for code in communes.keys if code != stats.OTHERS}
        return desk.page(
            request,
            "desk/stats.html",
            days=chosen,
            windows=stats.WINDOWS,
            span=span,
            needs=needs,
            needs_chart=charts.stacked(needs),
            communes=communes,
            communes_chart=charts.stacked(communes),
            commune_names=names,
            others=stats.OTHERS,
            medians=medians,
            medians_chart=charts.horizontal(
                [(u, medians[u].first_response) for u in URGENCIES]
                + [(u, medians[u].close) for u in URGENCIES]
            ),
            shares=shares,
            shares_chart=charts.horizontal(
                [(u, _percent(shares[u].share)) for u in (*URGENCIES, None)], top=100.0
            ),
            urgencies=URGENCIES,
            targets=targets,
        )

    @router.get("/stats.csv", include_in_schema=False)
    async def export(request: Request, staff: Supervisor, days: str = "30") -> Response:
        desk = desk_of(request)
        chosen = int(days) if days.isdigit() else 0
        if chosen not in stats.WINDOWS:
            return desk.page(request, "desk/stats.html", 400, bad_days=True, windows=stats.WINDOWS)
        now = desk.now()
        span = stats.Window.last_days(chosen, now)
        with desk.sessions() as session:
            rows = stats.export_rows(session, span, now, targets)
        words = desk.templates.env.get_template(WORDS).module
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(words.csv_header)  # type: ignore[attr-defined]
        for row in rows:
            writer.writerow(
                [
                    row.day.isoformat(),
                    row.commune_code,
                    commune_name(row.commune_code),
                    words.urgency_names[row.urgency],  # type: ignore[attr-defined]
                    row.requests,
                    *(row.needs[need] for need in NEEDS),
                    row.answered,
                    row.closed,
                    row.met,
                    row.late,
                ]
            )
        name = f"loa-thong-ke-{span.first.isoformat()}-{span.last.isoformat()}.csv"
        return Response(
            BOM + out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)
