"""The supervisors' reports page (/desk/stats) and its CSV export: charts drawn on the server
as inline SVG, the same numbers in tables below them; counts only, nothing personal.

The numbers read every request of the window (100,000 in a crisis month take a few hundred
milliseconds on SQLite); a supervisor reloading, or several looking at once, reuse the last
ones for ``FRESH_SECONDS`` while the requests' version (``stats.version``) is the same.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bot import places
from bot.clock import VIETNAM
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
FRESH_SECONDS = 30.0  # how long computed numbers are reused (the page says when they were)
KEPT = 8  # computed reports kept at most (a few windows, a version or two)


class Recent:
    """Computed reports by what they were computed for, each reused for ``fresh`` seconds of
    the desk's clock; ``get`` gives the value and when it was computed."""

    def __init__(self, fresh: float = FRESH_SECONDS) -> None:
        self.fresh = timedelta(seconds=fresh)
        self._kept: dict[Hashable, tuple[datetime, Any]] = {}
        self._lock = threading.Lock()  # the routes run in FastAPI's thread pool

    def _is_fresh(self, at: datetime, now: datetime) -> bool:
        return at <= now < at + self.fresh

    def get(self, key: Hashable, now: datetime, compute: Callable[[], Any]) -> tuple[datetime, Any]:
        with self._lock:
            found = self._kept.get(key)
        if found is not None and self._is_fresh(found[0], now):
            return found
        value = compute()  # outside the lock: two first views may both compute, never wait
        with self._lock:
            self._kept = {k: v for k, v in self._kept.items() if self._is_fresh(v[0], now)}
            if len(self._kept) >= KEPT:
                self._kept.pop(next(iter(self._kept)))
            self._kept[key] = (now, value)
        return now, value


def commune_name(code: int) -> str:
    try:
        return places.get(code).name
    except KeyError:  # a code that no longer exists: show the code
        return str(code)


def add_routes(router: APIRouter, *, cfg: Settings) -> None:
    targets = Targets.from_settings(cfg)
    recent = Recent()

    # Plain functions, not coroutines: FastAPI runs them in its thread pool, so a first
    # computation (every request of the window) never holds up the event loop, which serves
    # the citizens' webhooks and the other pages meanwhile.
    @router.get("/stats", include_in_schema=False)
    def report(request: Request, staff: Supervisor, days: str = "14") -> Response:
        desk = desk_of(request)
        chosen = int(days) if days.isdigit() else 0
        if chosen not in stats.WINDOWS:
            return desk.page(request, "desk/stats.html", 400, bad_days=True, windows=stats.WINDOWS)
        now = desk.now()
        span = stats.Window.last_days(chosen, now)
        with desk.sessions() as session:
            key = ("page", chosen, span.first, stats.version(session))
            at, found = recent.get(key, now, lambda: stats.report(session, span, now, targets))
        needs, communes, medians, shares = found.needs, found.communes, found.medians, found.shares
        names = {code: commune_name(code) for code in communes.keys if code != stats.OTHERS}
        return desk.page(
            request,
            "desk/stats.html",
            days=chosen,
            windows=stats.WINDOWS,
            span=span,
            computed_at=_local(at),
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
    def export(request: Request, staff: Supervisor, days: str = "30") -> Response:
        desk = desk_of(request)
        chosen = int(days) if days.isdigit() else 0
        if chosen not in stats.WINDOWS:
            return desk.page(request, "desk/stats.html", 400, bad_days=True, windows=stats.WINDOWS)
        now = desk.now()
        span = stats.Window.last_days(chosen, now)
        with desk.sessions() as session:
            key = ("csv", chosen, span.first, stats.version(session))
            _, rows = recent.get(key, now, lambda: stats.export_rows(session, span, now, targets))
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


def _local(at: datetime) -> datetime:
    return at.astimezone(VIETNAM)


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)
