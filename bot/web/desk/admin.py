"""The admin's pages: the accounts (add, deactivate, reset a password, end sessions) and the
audit log. A password an admin sets is random and shown once; its owner changes it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bot import places
from bot.helpdesk import staff as accounts
from bot.helpdesk.staff import MANAGE_USERS, VIEW_AUDIT, Staff
from bot.storage.staff import ROLES, StaffUser
from bot.web.desk.accounts import commune_names
from bot.web.desk.auth import FormFields, NotFound, desk_of, require

AUDIT_PER_PAGE = 50

Admin = Annotated[Staff, Depends(require(MANAGE_USERS))]
Auditor = Annotated[Staff, Depends(require(VIEW_AUDIT))]


@cache
def province_communes(province: str) -> tuple[places.Place, ...]:
    """The communes of the province this deployment serves (the add-user form's choices)."""
    for match in places.resolve(province).matches:
        if match.place.level == "province":
            return tuple(places.units_in(match.place.code))
    return ()


@dataclass(frozen=True)
class UserRow:
    user: StaffUser
    communes: list[str]
    locked: bool
    sessions: int


def temporary_password() -> str:
    return secrets.token_urlsafe(12)  # 16 characters, 96 bits


def add_routes(router: APIRouter, *, province: str) -> None:
    def users_page(
        request: Request, session: Session, status: int = 200, **values: object
    ) -> Response:
        desk = desk_of(request)
        now = desk.now()
        rows = [
            UserRow(
                user=user,
                communes=commune_names(user.communes),
                locked=user.locked_until is not None and user.locked_until > now,
                sessions=accounts.live_sessions(session=session, user_id=user.id, now=now),
            )
            for user in accounts.list_users(session=session)
        ]
        response: Response = desk.page(
            request,
            "desk/users.html",
            status,
            rows=rows,
            roles=ROLES,
            choices=province_communes(province),
            **values,
        )
        return response

    def target(session: Session, user_id: int) -> StaffUser:
        user = session.get(StaffUser, user_id)
        if user is None:
            raise NotFound()
        return user

    @router.get("/admin/users", include_in_schema=False)
    def users(request: Request, staff: Admin) -> Response:
        with desk_of(request).sessions() as session:
            return users_page(request, session)

    @router.post("/admin/users", include_in_schema=False)
    def add_user(request: Request, staff: Admin, form: FormFields) -> Response:
        desk = desk_of(request)
        password = temporary_password()
        codes = [int(str(c)) for c in form.getlist("communes") if str(c).isdigit()]
        with desk.sessions() as session:
            try:
                user = accounts.add_user(
                    session=session,
                    policy=desk.policy,
                    username=str(form.get("username", "")),
                    display_name=str(form.get("display_name", "")),
                    role=str(form.get("role", "")),
                    password=password,
                    communes=codes,
                    now=desk.now(),
                )
            except accounts.InvalidAccount as exc:
                session.rollback()
                return users_page(request, session, 422, error=exc.field, form=form)
            accounts.audit(
                session=session,
                staff=staff,
                action="user_add",
                target_kind="staff_user",
                target_id=user.id,
                detail={"username": user.username, "role": user.role, "communes": codes},
                now=desk.now(),
            )
            session.commit()
            return users_page(request, session, shown_password=password, shown_for=user.username)

    @router.post("/admin/users/{user_id}/active", include_in_schema=False)
    def set_active(request: Request, user_id: int, staff: Admin, form: FormFields) -> Response:
        desk = desk_of(request)
        active = form.get("active") == "1"
        with desk.sessions() as session:
            user = target(session, user_id)
            if user.id == staff.id and not active:
                return users_page(request, session, 409, error="self")
            accounts.set_active(session=session, user=user, active=active, now=desk.now())
            accounts.audit(
                session=session,
                staff=staff,
                action="user_activate" if active else "user_deactivate",
                target_kind="staff_user",
                target_id=user.id,
                detail={"username": user.username},
                now=desk.now(),
            )
            session.commit()
            return users_page(request, session, done="active" if active else "inactive")

    @router.post("/admin/users/{user_id}/password", include_in_schema=False)
    def reset_password(request: Request, user_id: int, staff: Admin) -> Response:
        desk = desk_of(request)
        password = temporary_password()
        with desk.sessions() as session:
            user = target(session, user_id)
            accounts.reset_password(
                session=session, policy=desk.policy, user=user, password=password, now=desk.now()
            )
            accounts.audit(
                session=session,
                staff=staff,
                action="password_reset",
                target_kind="staff_user",
                target_id=user.id,
                detail={"username": user.username},
                now=desk.now(),
            )
            session.commit()
            return users_page(request, session, shown_password=password, shown_for=user.username)

    @router.post("/admin/users/{user_id}/sessions", include_in_schema=False)
    def revoke_sessions(request: Request, user_id: int, staff: Admin) -> Response:
        desk = desk_of(request)
        with desk.sessions() as session:
            user = target(session, user_id)
            ended = accounts.revoke_all(session=session, user_id=user.id, now=desk.now())
            accounts.audit(
                session=session,
                staff=staff,
                action="sessions_revoke",
                target_kind="staff_user",
                target_id=user.id,
                detail={"username": user.username, "sessions": ended},
                now=desk.now(),
            )
            session.commit()
            return users_page(request, session, done="revoked")

    @router.get("/admin/audit", include_in_schema=False)
    def audit_log(request: Request, staff: Auditor, page: int = 1) -> Response:
        desk = desk_of(request)
        page = max(1, min(page, 10**6))
        with desk.sessions() as session:
            entries, total = accounts.audit_page(
                session=session, page=page, per_page=AUDIT_PER_PAGE
            )
        pages = max(1, -(-total // AUDIT_PER_PAGE))
        response: Response = desk.page(
            request, "desk/audit.html", entries=entries, page=page, pages=pages, total=total
        )
        return response
