"""The inspectors' pages: the claims citizens reported as false (/desk/reports), one claim with
the reports grouped under it, and the forms to take it, publish a verdict (with a preview of
the message the reporters will read) or dismiss it.

Inspectors act; supervisors read the same pages without the forms. Every change names the
version the inspector saw: a stale page gets a conflict message and keeps what was typed.
A published verdict is queued for every reporter in the same transaction, then the outbox is
woken.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.helpdesk import reports
from bot.helpdesk import staff as accounts
from bot.helpdesk.staff import HANDLE_FALSE_INFO, VIEW_FALSE_INFO, Staff
from bot.storage.conversations import ChannelAccount
from bot.storage.reports import (
    CHECKING,
    DISMISSED,
    NEW,
    OPEN_STATUSES,
    PUBLISHED,
    STATUSES,
    VERDICTS,
    FalseInfoReport,
)
from bot.web.desk.auth import FormFields, NotFound, desk_of, require, wake_outbox

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
OPEN = "open"
ALL = "all"
# The status filter: its value in the URL → the statuses it shows.
FILTERS: dict[str, tuple[str, ...]] = {
    OPEN: OPEN_STATUSES,
    NEW: (NEW,),
    CHECKING: (CHECKING,),
    PUBLISHED: (PUBLISHED,),
    DISMISSED: (DISMISSED,),
    ALL: STATUSES,
}
TARGET = "false_info_report"

Reader = Annotated[Staff, Depends(require(VIEW_FALSE_INFO))]
Inspector = Annotated[Staff, Depends(require(HANDLE_FALSE_INFO))]


def add_routes(router: APIRouter) -> None:
    @router.get("/reports", include_in_schema=False)
    def queue(request: Request, staff: Reader, status: str = OPEN, page: str = "1") -> Response:
        desk = desk_of(request)
        number = int(page) if page.isdigit() and 0 < len(page) < 7 else 0
        if status not in FILTERS or number < 1:
            logger.info("desk reports queue: bad filter status=%r page=%r", status[:20], page[:20])
            return desk.page(request, "desk/reports.html", 400, bad_filter=True, filters=FILTERS)
        with desk.sessions() as session:
            rows = reports.inspector_queue(
                session=session, statuses=FILTERS[status], page=number, size=PAGE_SIZE + 1
            )
        return desk.page(
            request,
            "desk/reports.html",
            rows=rows[:PAGE_SIZE],
            more=len(rows) > PAGE_SIZE,
            page=number,
            shown=status,
            filters=FILTERS,
            now=desk.now(),
        )

    @router.get("/reports/{code}", include_in_schema=False)
    def claim(request: Request, code: str, staff: Reader) -> Response:
        return _claim_page(request, staff, code)

    @router.post("/reports/{code}/take", include_in_schema=False)
    def take(request: Request, code: str, staff: Inspector, form: FormFields) -> Response:
        desk = desk_of(request)
        version = _version(form.get("version"))
        with desk.sessions() as session:
            _audit(session, staff, "false_info_take", code, desk.now())
            try:
                reports.take(
                    session=session, code=code, version=version, inspector_id=staff.id,
                    at=desk.now(),
                )  # fmt: skip
            except LookupError:
                raise NotFound() from None
            except reports.Conflict as conflict:
                session.rollback()
                return _conflict(request, staff, code, conflict)
        return _done(code, "taken")

    @router.post("/reports/{code}/publish", include_in_schema=False)
    def publish(request: Request, code: str, staff: Inspector, form: FormFields) -> Response:
        desk = desk_of(request)
        typed = {"verdict": str(form.get("verdict", "")), "text": str(form.get("text", ""))}
        version = _version(form.get("version"))
        now = desk.now()
        if form.get("action") == "preview":
            try:
                shown = reports.preview(code=code, verdict=typed["verdict"], text=typed["text"])
            except reports.InvalidReport as bad:
                return _claim_page(request, staff, code, 422, typed=typed, invalid=bad.field)
            return _claim_page(request, staff, code, typed=typed, preview=shown)
        with desk.sessions() as session:
            _audit(session, staff, "false_info_publish", code, now, verdict=typed["verdict"])
            try:
                told = reports.publish(
                    session=session,
                    code=code,
                    version=version,
                    inspector_id=staff.id,
                    verdict=typed["verdict"],
                    text=typed["text"],
                    tell=reports.channel_teller(now),
                    at=now,
                )
            except LookupError:
                raise NotFound() from None
            except reports.InvalidReport as bad:
                session.rollback()
                logger.info("desk verdict on %s refused: %s", code, bad)
                return _claim_page(request, staff, code, 422, typed=typed, invalid=bad.field)
            except reports.Conflict as conflict:
                session.rollback()
                return _conflict(request, staff, code, conflict, typed)
        wake_outbox(request)
        return _done(code, "published", told=told)

    @router.post("/reports/{code}/dismiss", include_in_schema=False)
    def dismiss(request: Request, code: str, staff: Inspector, form: FormFields) -> Response:
        desk = desk_of(request)
        version = _version(form.get("version"))
        with desk.sessions() as session:
            _audit(session, staff, "false_info_dismiss", code, desk.now())
            try:
                reports.dismiss(
                    session=session, code=code, version=version, inspector_id=staff.id,
                    at=desk.now(),
                )  # fmt: skip
            except LookupError:
                raise NotFound() from None
            except reports.Conflict as conflict:
                session.rollback()
                return _conflict(request, staff, code, conflict)
        return _done(code, "dismissed")


def _version(value: Any) -> int:
    """The version a form carries; 0 (never a real version) when it is missing or garbled,
    so the change is refused as stale instead of failing."""
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 10 else 0


def _done(code: str, what: str, **extra: int) -> Response:
    """Back to the claim's page (post/redirect/get: a reload posts nothing twice)."""
    query = "&".join([f"done={what}", *(f"{k}={v}" for k, v in extra.items())])
    return RedirectResponse(f"/desk/reports/{quote(code, safe='')}?{query}", status_code=303)


def _conflict(
    request: Request,
    staff: Staff,
    code: str,
    conflict: reports.Conflict,
    typed: dict[str, str] | None = None,
) -> Response:
    logger.info("desk report %s: conflict (%s)", code, conflict.problem)
    return _claim_page(request, staff, code, 409, typed=typed, conflict=True)


def _claim_page(request: Request, staff: Staff, code: str, status: int = 200, **values: Any) -> Any:
    desk = desk_of(request)
    with desk.sessions() as session:
        row = reports.by_code(session=session, code=code)
        if row is None:
            raise NotFound()
        head = session.get(FalseInfoReport, row.same_as_id) if row.same_as_id else None
        members = reports.group(session=session, head=row) if head is None else []
        channels = _channels(session, [row, *members])
        done = request.query_params.get("done") if status == 200 else None
        told = request.query_params.get("told", "")
        return desk.page(
            request,
            "desk/report.html",
            status,
            report=row,
            head=head,
            members=members,
            channels=channels,
            may_act=accounts.may(staff, HANDLE_FALSE_INFO) and head is None,
            is_open=row.status in OPEN_STATUSES,
            verdicts=VERDICTS,
            done=done,
            told=int(told) if told.isdigit() and len(told) < 7 else None,
            now=desk.now(),
            **values,
        )


def _channels(session: Session, rows: list[FalseInfoReport]) -> dict[int, str]:
    """The channel each report came from, by account id (nothing about who sent it)."""
    ids = {r.account_id for r in rows}
    query = select(ChannelAccount.id, ChannelAccount.channel).where(ChannelAccount.id.in_(ids))
    return {account_id: channel for account_id, channel in session.execute(query)}


def _audit(
    session: Session, staff: Staff, action: str, code: str, now: datetime, **detail: Any
) -> None:
    accounts.audit(
        session=session,
        staff=staff,
        action=action,
        target_kind=TARGET,
        target_id=code[:40],
        detail=detail,
        now=now,
    )
