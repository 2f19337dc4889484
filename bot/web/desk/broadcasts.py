"""The communications officers' broadcast pages: the list, a one-off announcement, one
broadcast — the draft editor with its recipient preview, four-eyes approval, then its live
progress — and the progress as JSON for the page's small script.

Officers act; supervisors read the same pages without the forms. Every change names the
version the officer saw: a stale form gets a conflict message with the current text, and keeps
what was typed. The rules (placeholders, four-eyes, who receives it) are ``bot.alerts``'s; a
refusal comes back as a ``BroadcastError`` whose Vietnamese sentence is shown by its field.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.alerts import broadcasts as work
from bot.alerts.subscriptions import AreaCode
from bot.helpdesk import staff as accounts
from bot.helpdesk.staff import APPROVE_BROADCAST, DRAFT_BROADCAST, VIEW_BROADCASTS, Staff
from bot.places import Place, place_key
from bot.settings import Settings
from bot.storage.alerts import APPROVED, BROADCAST_STATUSES, DRAFT, Broadcast
from bot.storage.staff import StaffUser
from bot.web.desk import area_names
from bot.web.desk.auth import BadRequest, FormFields, NotFound, desk_of, require

logger = logging.getLogger(__name__)

Reader = Annotated[Staff, Depends(require(VIEW_BROADCASTS))]
Officer = Annotated[Staff, Depends(require(DRAFT_BROADCAST))]
Approver = Annotated[Staff, Depends(require(APPROVE_BROADCAST))]

POLL_SECONDS = 2  # how often the progress script asks
FLASHES = ("created", "saved", "approved", "cancelled", "level")
MAX_AREAS = 50  # names in a one-off form's area box


def add_routes(router: APIRouter, *, cfg: Settings) -> None:
    @router.get("/broadcasts", include_in_schema=False)
    def listing(request: Request, staff: Reader, status: str = "", page: str = "1") -> Response:
        desk = desk_of(request)
        number = int(page) if page.isdigit() and 0 < len(page) < 7 else 0
        if (status and status not in BROADCAST_STATUSES) or number < 1:
            raise BadRequest(f"status {status[:20]!r} page {page[:20]!r}")
        with desk.sessions() as session:
            rows = work.listing(session=session, status=status or None, page=number)
            names = _names(session, [r.created_by for r in rows] + [r.approved_by for r in rows])
            progress = {
                r.id: work.progress(session=session, broadcast_id=r.id, now=desk.now())
                for r in rows
                if r.approved_at is not None
            }
        return desk.page(
            request,
            "desk/broadcasts.html",
            rows=rows,
            names=names,
            progress=progress,
            area_name=area_names.name_of,
            areas_of=_areas,
            shown=status,
            statuses=BROADCAST_STATUSES,
            page=number,
            may_draft=accounts.may(staff, DRAFT_BROADCAST),
        )

    @router.get("/broadcasts/new", include_in_schema=False)
    def new_form(request: Request, staff: Officer) -> Response:
        return _new_page(request, typed={})

    @router.post("/broadcasts/new", include_in_schema=False)
    def create(request: Request, staff: Officer, form: FormFields) -> Response:
        desk = desk_of(request)
        typed = {k: str(form.get(k, "")) for k in ("areas", "title", "template")}
        typed["urgent"] = "1" if form.get("urgent") else ""
        picked = [str(v) for v in form.getlist("unit")]
        chosen, unclear, unknown = _read_areas(typed["areas"], picked, cfg.province)
        if unclear or unknown or not chosen:
            return _new_page(
                request, 422, typed=typed, chosen=chosen, unclear=unclear, unknown=unknown
            )
        now = desk.now()
        with desk.sessions() as session:
            try:
                made = work.draft_one_off(
                    session=session,
                    officer=staff,
                    areas=[area_names.area_code(u) for u in chosen],
                    title=typed["title"],
                    template=typed["template"],
                    urgent=bool(typed["urgent"]),
                    now=now,
                )
                session.commit()
            except work.BroadcastError as refused:
                session.rollback()
                logger.info("desk one-off refused (%s) for %s", refused.field, staff.username)
                return _new_page(request, 422, typed=typed, chosen=chosen, error=refused)
            made_id = made.id
        return _back(made_id, "created")

    @router.get("/broadcasts/{number}", include_in_schema=False)
    def one(request: Request, number: str, staff: Reader) -> Response:
        done = request.query_params.get("done", "")
        flash = done if done in FLASHES else None
        return _broadcast_page(request, cfg, staff, _id(number), flash=flash)

    @router.get("/broadcasts/{number}/progress", include_in_schema=False)
    def progress(request: Request, number: str, staff: Reader) -> Response:
        """The numbers of the progress block, for the page's script (every POLL_SECONDS)."""
        desk = desk_of(request)
        broadcast_id = _id(number)
        with desk.sessions() as session:
            row = session.get(Broadcast, broadcast_id)
            if row is None:
                raise NotFound()
            shown = work.progress(session=session, broadcast_id=broadcast_id, now=desk.now())
            numbers = _numbers(shown, _expected(session, row, desk.now()))
            status = row.status
        words = desk.templates.env.get_template(WORDS).module
        body = {
            "status": status,
            "status_text": words.status(status, numbers["preparing"]),  # type: ignore[attr-defined]
            "finished": status not in (APPROVED, DRAFT),
            **numbers,
            "percent_text": words.percent(numbers["percent"]),  # type: ignore[attr-defined]
            "rate_text": words.rate(shown.rate_per_s),  # type: ignore[attr-defined]
            "left_text": words.left(shown.seconds_left),  # type: ignore[attr-defined]
            "failures": [{"reason": r, "count": n} for r, n in shown.failures],
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @router.post("/broadcasts/{number}/edit", include_in_schema=False)
    def edit(request: Request, number: str, staff: Officer, form: FormFields) -> Response:
        broadcast_id = _id(number)
        typed = {"title": str(form.get("title", "")), "template": str(form.get("template", ""))}

        def change(session: Session, now: datetime, version: int) -> object:
            return work.edit(
                session=session, officer=staff, broadcast_id=broadcast_id, version=version,
                title=typed["title"], template=typed["template"], now=now,
            )  # fmt: skip

        return _act(request, cfg, staff, broadcast_id, form, change, "saved", typed)

    @router.post("/broadcasts/{number}/approve", include_in_schema=False)
    def approve(request: Request, number: str, staff: Approver, form: FormFields) -> Response:
        broadcast_id = _id(number)

        def change(session: Session, now: datetime, version: int) -> object:
            return work.approve(
                session=session, officer=staff, broadcast_id=broadcast_id, version=version,
                now=now, cfg=cfg,
            )  # fmt: skip

        return _act(request, cfg, staff, broadcast_id, form, change, "approved")

    @router.post("/broadcasts/{number}/cancel", include_in_schema=False)
    def cancel(request: Request, number: str, staff: Officer, form: FormFields) -> Response:
        broadcast_id = _id(number)

        def change(session: Session, now: datetime, version: int) -> object:
            return work.cancel(
                session=session, officer=staff, broadcast_id=broadcast_id, version=version, now=now
            )

        return _act(request, cfg, staff, broadcast_id, form, change, "cancelled")


WORDS = "desk/broadcast_words.html"


def _act(
    request: Request,
    cfg: Settings,
    staff: Staff,
    broadcast_id: int,
    form: Mapping[str, Any],
    change: Any,
    done: str,
    typed: dict[str, str] | None = None,
) -> Response:
    """Make ``change`` with the form's version: back to the broadcast with the flash ``done``,
    or its page at once with the refusal next to its field and what was typed kept."""
    desk = desk_of(request)
    version = _version(form.get("version"))
    now = desk.now()
    with desk.sessions() as session:
        try:
            change(session, now, version)
            session.commit()
        except LookupError:
            raise NotFound() from None
        except work.BroadcastError as refused:
            session.rollback()
            logger.info(
                "desk %s of broadcast %d by %s refused (%s)",
                done, broadcast_id, staff.username, refused.field,
            )  # fmt: skip
            # A stale form, or one the broadcast has moved past (approved, cancelled): both are
            # someone else's change first.
            stale = isinstance(refused, work.Conflict) or refused.field == "status"
            return _broadcast_page(
                request, cfg, staff, broadcast_id, 409 if stale else 422, error=refused,
                typed=typed, conflict=stale,
            )  # fmt: skip
    return _back(broadcast_id, done)


def _broadcast_page(
    request: Request,
    cfg: Settings,
    staff: Staff,
    broadcast_id: int,
    status: int = 200,
    **values: Any,
) -> Response:
    """The broadcast: its draft editor and recipient preview, or its progress once approved."""
    desk = desk_of(request)
    now = desk.now()
    with desk.sessions() as session:
        row = session.get(Broadcast, broadcast_id)
        if row is None:
            raise NotFound()
        names = _names(session, [row.created_by, row.approved_by])
        try:
            shown: work.Preview | None = work.preview(session=session, broadcast_id=row.id, now=now)
            unrenderable = None
        except work.BroadcastError as refused:  # stored before a rule changed: say why
            shown, unrenderable = None, refused
        progress = (
            work.progress(session=session, broadcast_id=row.id, now=now)
            if row.approved_at is not None
            else None
        )
        own = row.created_by == staff.id
        response: Response = desk.page(
            request,
            "desk/broadcast.html",
            status,
            row=row,
            names=names,
            areas=[area_names.name_of(a) for a in _areas(row)],
            preview=shown,
            progress=progress,
            numbers=_numbers(progress, _expected(session, row, now)) if progress else None,
            commune_name=_commune_name,
            placeholders=work.PLACEHOLDERS,
            may_edit=accounts.may(staff, DRAFT_BROADCAST) and row.status == DRAFT,
            may_approve=accounts.may(staff, APPROVE_BROADCAST) and row.status == DRAFT,
            own=own,
            # ``approve`` decides; this says beforehand what it will (ALERT_SELF_APPROVE_URGENT)
            self_approval=own and row.urgent and cfg.alert_self_approve_urgent,
            unrenderable=unrenderable,
            poll_seconds=POLL_SECONDS,
            now=now,
            **values,
        )
        return response


def _new_page(request: Request, status: int = 200, **values: Any) -> Response:
    response: Response = desk_of(request).page(
        request,
        "desk/broadcast_new.html",
        status,
        placeholders=work.PLACEHOLDERS,
        unit_key=place_key,
        **values,
    )
    return response


def _read_areas(
    text: str, picked: list[str], province: str
) -> tuple[list[Place], list[area_names.Named], list[str]]:
    """The units a one-off is for: each line of ``text`` read as a name, plus the units the
    officer picked among the choices offered before; also the names that need a choice and
    those that name nothing."""
    chosen: dict[str, Place] = {}
    for key in picked[:MAX_AREAS]:
        unit = area_names.unit_of(key)
        if unit is not None:
            chosen[place_key(unit)] = unit
    unclear: list[area_names.Named] = []
    unknown: list[str] = []
    for line in [n for n in text.replace(";", "\n").splitlines() if n.strip()][:MAX_AREAS]:
        named = area_names.read(line, province=province)
        if named.unit is not None:
            chosen[place_key(named.unit)] = named.unit
        elif named.choices:
            if not any(c.key in chosen for c in named.choices):
                unclear.append(named)
        else:
            unknown.append(named.typed)
    return list(chosen.values()), unclear, unknown


def _areas(row: Broadcast) -> list[AreaCode]:
    return [AreaCode(a["province_code"], a.get("commune_code")) for a in row.areas]


def _commune_name(code: int | None) -> str:
    return "" if code is None else area_names.name_of(AreaCode(0, code))


def _names(session: Session, ids: list[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    query = select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(wanted))
    return {staff_id: name for staff_id, name in session.execute(query)}


def _expected(session: Session, row: Broadcast, now: datetime) -> int | None:
    """Until the worker has made the delivery rows of an approved broadcast, how many it will
    make (the audience now), so the page does not read "0 of 0" in between."""
    if row.status != APPROVED or row.audience_ready_at is not None:
        return None
    try:
        return work.preview(session=session, broadcast_id=row.id, now=now).counts.total
    except work.BroadcastError:
        return None


def _numbers(shown: work.Progress, expected: int | None = None) -> dict[str, Any]:
    """The counts the page and its script show; ``percent`` is the share with a final status.
    ``expected``: the rows are still being made — that many are waiting."""
    final = shown.sent + shown.failed + shown.uncertain + shown.unreachable + shown.skipped
    total = max(shown.total, expected or 0)
    return {
        "total": total,
        "sent": shown.sent,
        "failed": shown.failed + shown.uncertain,
        "pending": total - final,
        "unreachable": shown.unreachable,
        "skipped": shown.skipped,
        "percent": round(100 * final / total, 1) if total else 0.0,
        "preparing": expected is not None,
    }


def drafts_waiting(session: Session) -> int:
    """How many drafts wait for someone to approve or cancel them (the home page's count)."""
    query = select(func.count()).select_from(Broadcast).where(Broadcast.status == DRAFT)
    return int(session.scalar(query) or 0)


def _back(broadcast_id: int, done: str) -> Response:
    """To the broadcast's page (post/redirect/get: a reload posts nothing twice)."""
    return RedirectResponse(f"/desk/broadcasts/{broadcast_id}?done={done}", status_code=303)


def _id(number: str) -> int:
    """A broadcast's number from the address; NotFound for one that cannot be."""
    if not number.isdigit() or len(number) > 9:
        raise NotFound()
    return int(number)


def _version(value: Any) -> int:
    """The version a form carries; 0 (never a real version) when missing or garbled, so the
    change is refused as stale instead of failing."""
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 10 else 0
