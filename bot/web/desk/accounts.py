"""Sign in, sign out, the desk's home and "change my password": the pages every role has."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from bot import places
from bot.helpdesk import staff as accounts
from bot.helpdesk import watch
from bot.helpdesk.sla import Targets
from bot.helpdesk.staff import VIEW_BROADCASTS
from bot.settings import Settings
from bot.web.desk.auth import (
    COOKIE,
    LOGIN_COOKIE,
    LOGIN_COOKIE_SECONDS,
    LOGIN_PATH,
    PATH,
    FormFields,
    SignedStaff,
    desk_of,
    set_cookie,
    signed_in,
)
from bot.web.desk.broadcasts import drafts_waiting
from bot.web.throttle import Throttle
from bot.web.webchat import client_address

logger = logging.getLogger(__name__)

MAX_USERNAME_FIELD = 100  # what a sign-in form may carry in its username field


def commune_names(codes: frozenset[int]) -> list[str]:
    names = []
    for code in sorted(codes):
        try:
            names.append(places.get(code).name)
        except KeyError:  # a commune code that no longer exists: show the code
            names.append(str(code))
    return names


def add_routes(
    router: APIRouter, *, cfg: Settings, clock: Callable[[], float] = time.monotonic
) -> None:
    logins = Throttle(
        burst=max(1, cfg.desk_logins_per_minute),
        per_minute=max(1, cfg.desk_logins_per_minute),
        clock=clock,
    )
    counting = threading.Lock()  # the sign-in route runs in FastAPI's thread pool

    def login_page(request: Request, status: int = 200, **values: Any) -> Response:
        """The sign-in form, with a fresh form token in its own cookie."""
        token = secrets.token_urlsafe(32)
        response: Response = desk_of(request).page(
            request, "desk/login.html", status, login_csrf=token, **values
        )
        set_cookie(
            response, request, LOGIN_COOKIE, token, path=LOGIN_PATH, max_age=LOGIN_COOKIE_SECONDS
        )
        return response

    @router.get("/login", include_in_schema=False)
    def login_form(request: Request) -> Response:
        if signed_in(request) is not None:
            return RedirectResponse(PATH, status_code=303)
        return login_page(request)

    @router.post("/login", include_in_schema=False)
    def login(request: Request, form: FormFields) -> Response:
        desk = desk_of(request)
        address = client_address(request, cfg.trusted_proxy_header)
        username = str(form.get("username", ""))[:MAX_USERNAME_FIELD]
        password = str(form.get("password", ""))
        with counting:
            allowed = logins.allow(address)
        if not allowed:
            logger.warning("desk sign-in refused for %s: too many attempts", address)
            return login_page(request, 429, error="flood", username=username)
        now = desk.now()
        with desk.sessions.begin() as session:
            result = accounts.authenticate(
                session=session, policy=desk.policy, username=username, password=password, now=now
            )
            user = result.user if result.outcome == accounts.OK else None
            if user is None:
                known = accounts.find_user(session=session, username=username)
                accounts.audit(
                    session=session,
                    staff=known,
                    actor=accounts.normal_username(username),
                    action=f"login_{result.outcome}",
                    target_kind="session",
                    detail={"address": address},
                    now=now,
                )
                token = None
            else:
                token, _ = accounts.open_session(
                    session=session,
                    policy=desk.policy,
                    user=user,
                    now=now,
                    user_agent=request.headers.get("user-agent", ""),
                )
                accounts.audit(
                    session=session,
                    staff=user,
                    action="login",
                    target_kind="session",
                    detail={"address": address},
                    now=now,
                )
        if token is None:
            logger.info("desk sign-in refused: %s", result.outcome)
            status = 429 if result.outcome == accounts.LOCKED else 401
            return login_page(
                request,
                status,
                error=result.outcome,
                username=username,
                locked_until=result.locked_until,
            )
        response = RedirectResponse(PATH, status_code=303)
        set_cookie(response, request, COOKIE, token, path=PATH)
        response.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH)
        return response

    @router.post("/logout", include_in_schema=False)
    def logout(request: Request, staff: SignedStaff) -> Response:
        desk = desk_of(request)
        signed = signed_in(request)
        assert signed is not None  # current_staff saw to it
        with desk.sessions.begin() as session:
            row = session.get(accounts.StaffSession, signed.token_hash)
            if row is not None:
                accounts.revoke(session=session, row=row, now=desk.now())
            accounts.audit(
                session=session, staff=staff, action="logout", target_kind="session", now=desk.now()
            )
        response = RedirectResponse(LOGIN_PATH, status_code=303)
        response.delete_cookie(COOKIE, path=PATH)
        return response

    targets = Targets.from_settings(cfg)

    @router.get("", include_in_schema=False)
    def home(request: Request, staff: SignedStaff) -> Response:
        desk = desk_of(request)
        overdue: list[watch.Late] = []
        overdue_total = 0
        with desk.sessions() as session:
            open_count = accounts.open_requests(session=session, staff=staff)
            if accounts.may(staff, accounts.ASSIGN):  # escalations go to the supervisors
                overdue, overdue_total = watch.overdue_list(session, desk.now(), targets)
            drafts = drafts_waiting(session) if accounts.may(staff, VIEW_BROADCASTS) else None
        return desk.page(
            request,
            "desk/home.html",
            now=desk.now(),
            overdue=overdue,
            overdue_total=overdue_total,
            open_count=open_count,
            province_wide=accounts.may(staff, accounts.ASSIGN),
            communes=commune_names(staff.communes),
            may_manage=accounts.may(staff, accounts.MANAGE_USERS),
            may_audit=accounts.may(staff, accounts.VIEW_AUDIT),
            drafts_waiting=drafts,
        )

    @router.get("/password", include_in_schema=False)
    def password_form(request: Request, staff: SignedStaff) -> Response:
        return desk_of(request).page(request, "desk/password.html")

    @router.post("/password", include_in_schema=False)
    def change_password(request: Request, staff: SignedStaff, form: FormFields) -> Response:
        desk = desk_of(request)
        current, new = str(form.get("current", "")), str(form.get("new", ""))
        if new != str(form.get("again", "")):
            return desk.page(request, "desk/password.html", 422, error="mismatch")
        signed = signed_in(request)
        assert signed is not None
        now = desk.now()
        with desk.sessions.begin() as session:
            user = session.get(accounts.StaffUser, staff.id)
            assert user is not None  # its session was valid a moment ago
            try:
                changed = accounts.change_password(
                    session=session,
                    policy=desk.policy,
                    user=user,
                    current=current,
                    new=new,
                    keep_token_hash=signed.token_hash,
                    now=now,
                )
            except accounts.InvalidAccount:
                return desk.page(request, "desk/password.html", 422, error="weak")
            if not changed:
                return desk.page(request, "desk/password.html", 422, error="wrong")
            accounts.audit(
                session=session,
                staff=staff,
                action="password_change",
                target_kind="staff_user",
                target_id=staff.id,
                now=now,
            )
        return desk.page(request, "desk/password.html", done=True)
