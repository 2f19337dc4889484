"""The desk's request pages: the queue (and the poll that tells it of new requests), and one
request with its actions — claim, release, assign, note, reply, status — as POST forms.

A change that worked redirects back to the request (POST-redirect-GET) with a one-line flash
named in the query string (``?done=note``: a key, never text). One that did not is shown at
once on the request's page, with what was typed still in its form: a stale status form (a
conflict), a claim someone else won, a channel that cannot take a reply now.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import places, wording
from bot.helpdesk import desk as work
from bot.helpdesk import requests as filing
from bot.helpdesk import urgency
from bot.helpdesk.sla import Targets
from bot.helpdesk.staff import ASSIGN, VIEW_REQUEST, WORK_REQUEST, Staff, may
from bot.settings import Settings
from bot.storage.helpdesk import (
    CLOSING_STATUSES,
    LINKED,
    NEEDS,
    OPEN_STATUSES,
    STATUSES,
    URGENCIES,
    HelpRequest,
)
from bot.storage.staff import StaffUser
from bot.web.desk.admin import province_communes
from bot.web.desk.auth import (
    BadRequest,
    Forbidden,
    FormFields,
    NotFound,
    desk_of,
    require,
    wake_outbox,
)

logger = logging.getLogger(__name__)

Worker = Annotated[Staff, Depends(require(VIEW_REQUEST))]

POLL_SECONDS = 15  # how often the queue page asks for new requests
CODE = re.compile(r"HT-\d{2}-\d{6}")
AGES = (0.25, 1.0, 4.0, 24.0)  # the age filter's choices, in hours
ASSIGNEES = ("", work.ME, work.NOBODY, work.SOMEONE)
ALL = "all"  # the status filter: every status (the default shows the open ones)
OPEN = "open"
FLASHES = ("claim", "release", "assign", "note", "reply", "status", "status_untold")


@dataclass(frozen=True)
class Chosen:
    """The filter bar's values as given (to fill the form again) and as the queue reads them."""

    values: dict[str, str]
    filters: work.QueueFilter
    page: int

    def link(self, **changes: object) -> str:
        """This queue's address with some values changed (the pager, the status counts)."""
        merged = {**self.values, "page": str(self.page), **{k: str(v) for k, v in changes.items()}}
        kept = {k: v for k, v in merged.items() if v and not (k == "page" and v == "1")}
        return "/desk/requests" + (f"?{urlencode(kept)}" if kept else "")


def chosen(params: Mapping[str, str], staff: Staff) -> Chosen:
    """The filters of a query string; BadRequest for a value the bar cannot make."""
    values = {
        key: params.get(key, "").strip()
        for key in ("status", "commune", "need", "urgency", "age", "assignee")
    }
    status = values["status"] or OPEN
    if status == OPEN:
        statuses: tuple[str, ...] = OPEN_STATUSES
    elif status == ALL:
        statuses = STATUSES
    elif status in STATUSES:
        statuses = (status,)
    else:
        raise BadRequest(f"status {status!r}")
    try:
        commune = int(values["commune"]) if values["commune"] else None
        age = float(values["age"]) if values["age"] else None
        page = int(params.get("page", "1") or "1")
    except ValueError:
        raise BadRequest("a number that is not one") from None
    if values["need"] and values["need"] not in NEEDS:
        raise BadRequest(f"need {values['need']!r}")
    if values["urgency"] and values["urgency"] not in URGENCIES:
        raise BadRequest(f"urgency {values['urgency']!r}")
    if age is not None and age not in AGES:
        raise BadRequest(f"age {age!r}")
    if values["assignee"] not in ASSIGNEES:
        raise BadRequest(f"assignee {values['assignee']!r}")
    if commune is not None and not may(staff, VIEW_REQUEST, commune):
        raise Forbidden()
    filters = work.QueueFilter(
        statuses=statuses,
        commune=commune,
        need=values["need"] or None,
        urgency=values["urgency"] or None,
        older_than_hours=age,
        assignee=values["assignee"] or None,
    )
    return Chosen({**values, "status": status}, filters, max(1, min(page, 10**6)))


def commune_name(code: int) -> str:
    try:
        return places.get(code).name
    except KeyError:  # a unit renamed since: its code still finds it
        return str(code)


def acting(session: Session, staff: Staff) -> StaffUser:
    """The signed-in staff member's row, read in this session: ``bot.helpdesk.desk`` checks
    it (an account deactivated since the page was opened is refused there too)."""
    user = session.get(StaffUser, staff.id)
    if user is None:
        raise Forbidden()
    return user


def add_routes(router: APIRouter, *, cfg: Settings) -> None:
    targets = Targets.from_settings(cfg)
    rules = urgency.rules()
    needs = wording.table("help_needs")

    def choices(staff: Staff) -> list[tuple[int, str]]:
        """The communes the filter bar offers: the staff member's own, or the province's."""
        if may(staff, ASSIGN):
            return [(p.code, p.name) for p in province_communes(cfg.province)]
        return sorted(((c, commune_name(c)) for c in staff.communes), key=lambda c: c[1])

    @router.get("/requests", include_in_schema=False)
    def queue(request: Request, staff: Worker) -> Response:
        desk = desk_of(request)
        picked = chosen(request.query_params, staff)
        now = desk.now()
        with desk.sessions() as session:
            found = _run(
                lambda: work.queue(
                    session, acting(session, staff), picked.filters, picked.page, now, targets
                )
            )
        poll = picked.link(since=now.isoformat(), page="")
        response: Response = desk.page(
            request,
            "desk/queue.html",
            queue=found,
            picked=picked,
            now=now,
            communes=choices(staff),
            commune_name=commune_name,
            needs=needs,
            ages=AGES,
            poll_url=poll.replace("/desk/requests", "/desk/requests/new", 1),
            poll_seconds=POLL_SECONDS,
        )
        return response

    @router.get("/requests/new", include_in_schema=False)
    def newer(request: Request, staff: Worker) -> Response:
        """How many requests the queue with these filters got since ``since`` (the queue
        page's script asks every ``POLL_SECONDS``)."""
        desk = desk_of(request)
        picked = chosen(request.query_params, staff)
        try:
            since = datetime.fromisoformat(request.query_params.get("since", ""))
        except ValueError:
            raise BadRequest("since") from None
        if since.tzinfo is None:
            raise BadRequest("since without a zone")
        with desk.sessions() as session:
            count = _run(lambda: work.newer(session, acting(session, staff), picked.filters, since))
        return JSONResponse({"new": count}, headers={"Cache-Control": "no-store"})

    def request_page(
        request: Request,
        staff: Staff,
        code: str,
        status: int = 200,
        **values: Any,
    ) -> Response:
        """The request's page (its view is audited: personal data is shown)."""
        desk = desk_of(request)
        now = desk.now()
        with desk.sessions() as session:
            user = acting(session, staff)
            shown = _run(lambda: work.detail(session, user, code, now, targets))
            row = shown.request
            linked_to = session.get(HelpRequest, row.linked_to_id) if row.linked_to_id else None
            repeats = [e.text for e in shown.events if e.kind == LINKED and e.text]
            staff_choices = work.assignable(session, row.commune_code) if may(staff, ASSIGN) else []
            actors = {e.actor for e in shown.events if e.actor}
            by_login = select(StaffUser.username, StaffUser.display_name).where(
                StaffUser.username.in_(actors)
            )
            names = {login: name for login, name in session.execute(by_login)}
            response: Response = desk.page(
                request,
                "desk/request.html",
                status,
                d=shown,
                row=row,
                now=now,
                place=_place(row.commune_code),
                needs=needs,
                reasons=[rules.label(r) for r in row.urgency_reasons],
                linked_to=linked_to.code if linked_to else None,
                repeats=repeats,
                names=names,
                transitions=filing.TRANSITIONS.get(row.status, ()),
                closing=CLOSING_STATUSES,
                staff_choices=staff_choices,
                may_work=may(staff, WORK_REQUEST, row.commune_code),
                may_assign=may(staff, ASSIGN, row.commune_code),
                flash=values.pop("flash", None),
                **values,
            )
            return response

    @router.get("/requests/{code}", include_in_schema=False)
    def one(request: Request, code: str, staff: Worker) -> Response:
        done = request.query_params.get("done", "")
        return request_page(request, staff, _code(code), flash=done if done in FLASHES else None)

    def back(code: str, done: str) -> Response:
        return RedirectResponse(f"/desk/requests/{code}?done={done}", status_code=303)

    def act(
        request: Request, staff: Staff, code: str, change: Change, done: str, wake: bool = False
    ) -> Response:
        """Make ``change`` as the signed-in staff member: back to the request with the flash
        ``done``, or its page at once with the failure's message (after the session is
        closed: the page writes its own audit entry)."""
        desk = desk_of(request)
        with desk.sessions() as session:
            refused: Failed | None = None
            try:
                outcome = _run(lambda: change(session, acting(session, staff), desk.now()))
            except Failed as failed:
                session.rollback()
                refused = failed
        if refused is not None:
            logger.info("desk %s of %s by %s: %s", done, code, staff.username, refused.error)
            return request_page(
                request, staff, code, refused.status, error=refused.error, **refused.values
            )
        if wake:
            wake_outbox(request)  # the person is told: the outbox sends it now
        return back(code, outcome if isinstance(outcome, str) else done)

    @router.post("/requests/{code}/claim", include_in_schema=False)
    def claim(request: Request, code: str, staff: Worker) -> Response:
        code = _code(code)

        def change(session: Session, user: StaffUser, now: datetime) -> object:
            try:
                return work.claim(session, user, code, now)
            except work.AlreadyClaimed as taken:
                raise Failed(409, "claimed", holder=taken.by) from None
            except filing.Conflict:
                raise Failed(409, "closed") from None

        return act(request, staff, code, change, "claim", wake=True)

    @router.post("/requests/{code}/release", include_in_schema=False)
    def release(request: Request, code: str, staff: Worker) -> Response:
        code = _code(code)
        return act(request, staff, code, lambda s, u, now: work.release(s, u, code, now), "release")

    @router.post("/requests/{code}/assign", include_in_schema=False)
    def assign(request: Request, code: str, staff: Worker, form: FormFields) -> Response:
        code = _code(code)
        chosen_id = str(form.get("staff_id", ""))

        def change(session: Session, user: StaffUser, now: datetime) -> object:
            try:
                if not chosen_id.isdigit():
                    raise filing.InvalidRequest("staff_id", "not a number")
                return work.assign(session, user, code, int(chosen_id), now)
            except filing.InvalidRequest:
                raise Failed(422, "assign") from None
            except filing.Conflict:
                raise Failed(409, "closed") from None

        return act(request, staff, code, change, "assign")

    @router.post("/requests/{code}/note", include_in_schema=False)
    def note(request: Request, code: str, staff: Worker, form: FormFields) -> Response:
        code = _code(code)
        text = str(form.get("text", ""))

        def change(session: Session, user: StaffUser, now: datetime) -> object:
            try:
                return work.add_note(session, user, code, text, now)
            except filing.InvalidRequest:
                raise Failed(422, "note", note_text=text) from None

        return act(request, staff, code, change, "note")

    @router.post("/requests/{code}/reply", include_in_schema=False)
    def reply(request: Request, code: str, staff: Worker, form: FormFields) -> Response:
        code = _code(code)
        text = str(form.get("text", ""))

        def change(session: Session, user: StaffUser, now: datetime) -> object:
            try:
                return work.reply(session, user, code, text, now)
            except filing.InvalidRequest:
                raise Failed(422, "reply", reply_text=text) from None
            except work.CannotReach:
                raise Failed(409, "unreachable", reply_text=text) from None

        return act(request, staff, code, change, "reply", wake=True)

    @router.post("/requests/{code}/status", include_in_schema=False)
    def set_status(request: Request, code: str, staff: Worker, form: FormFields) -> Response:
        code = _code(code)
        to, reason = str(form.get("to", "")), str(form.get("reason", ""))
        version = str(form.get("version", ""))
        kept = {"status_to": to, "status_reason": reason}

        def change(session: Session, user: StaffUser, now: datetime) -> object:
            try:
                if not version.isdigit() or len(version) > 9:
                    raise filing.InvalidRequest("version", "missing")
                changed = work.set_status(session, user, code, to, int(version), reason, now)
            except filing.Conflict:
                raise Failed(409, "conflict", **kept) from None
            except filing.InvalidRequest as bad:
                problem = "reason" if bad.field in ("reason", "text") else "status"
                raise Failed(422, problem, **kept) from None
            return "status" if changed.told else "status_untold"

        return act(request, staff, code, change, "status", wake=True)


Change = Callable[[Session, StaffUser, datetime], object]


class Failed(Exception):
    """A change refused for a reason its page explains (``error``), with what to show again."""

    def __init__(self, status: int, error: str, **values: str) -> None:
        super().__init__(error)
        self.status, self.error, self.values = status, error, values


def ago(value: datetime, now: datetime) -> str:
    """How long ago, as staff say it: "vừa xong", "12 phút trước", "3 giờ trước"."""
    minutes = int((now - value).total_seconds() // 60)
    return _span(minutes, "trước") if minutes >= 1 else "vừa xong"


def due_in(value: datetime, now: datetime) -> str:
    """The time left to a due time ("còn 40 phút") or past it ("quá hạn 5 phút")."""
    minutes = int((value - now).total_seconds() // 60)
    return f"còn {_span(minutes)}" if minutes >= 0 else f"quá hạn {_span(-minutes)}"


def _span(minutes: int, after: str = "") -> str:
    if minutes < 60:
        words = f"{minutes} phút"
    elif minutes < 48 * 60:
        words = f"{minutes // 60} giờ" + (
            f" {minutes % 60} phút" if minutes < 600 and minutes % 60 else ""
        )
    else:
        words = f"{minutes // (24 * 60)} ngày"
    return f"{words} {after}".strip()


def _run[T](call: Callable[[], T]) -> T:
    """Call into ``bot.helpdesk.desk``, turning its refusals into the desk's pages."""
    try:
        return call()
    except work.NotAllowed as refused:
        logger.info("desk refused: %s", refused)
        raise Forbidden() from None
    except LookupError:
        raise NotFound() from None


def _code(code: str) -> str:
    """A request code from the address (any case); NotFound for one that cannot exist."""
    code = code.strip().upper()
    if not CODE.fullmatch(code):
        raise NotFound()
    return code


def _place(commune_code: int) -> str:
    """The commune and its province, as the request's page heads its place."""
    try:
        place = places.get(commune_code)
    except KeyError:
        return str(commune_code)
    return f"{place.name}, {place.province_name}"
