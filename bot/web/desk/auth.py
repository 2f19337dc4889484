"""Who is asking: the desk's session cookie, the dependencies every page uses, CSRF on every
POST, and the refusals (sign in first, not allowed, form expired) as pages.

The cookie holds a random token; the database holds its SHA-256 (``bot.helpdesk.staff``).
It is HttpOnly, SameSite=Strict, limited to /desk, and Secure whenever the request came over
HTTPS or the host asked for is not this machine (127.0.0.1, ::1, localhost): only the local
development desk, reached over plain HTTP, gets a cookie without it — a browser would not
send a Secure cookie back over http://127.0.0.1. Every POST carries a ``csrf`` field: the
session's token once signed in, and before sign-in a token the login page set in its own
cookie (double submit), so no page of another site can post anything here.

The desk's routes and these dependencies are plain functions, which FastAPI runs in its thread
pool: their database work (and password hashing) never holds up the event loop that serves the
citizens' webhooks. What must run on the loop is awaited there: the form (``FormFields``, read
once by ``csrf_protect``) and the outbox's wake-up (``wake_outbox``).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import anyio.from_thread
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from bot.helpdesk import staff as accounts
from bot.helpdesk.staff import Policy, Staff

logger = logging.getLogger(__name__)

COOKIE = "loa_desk"
PATH = "/desk"
LOGIN_PATH = "/desk/login"
LOGIN_COOKIE = "loa_desk_login"  # the sign-in form's CSRF token, before there is a session
LOGIN_COOKIE_SECONDS = 3600
MAX_FORM_BYTES = 64 * 1024  # the desk's forms are a few fields; a note is a few KB
LOOPBACK = ("127.0.0.1", "::1", "[::1]", "localhost")


class Refusal(Exception):
    """A request the desk answers with a page of its own (see ``handler`` in the package)."""

    status = 400


class LoginRequired(Refusal):
    """No session, or it is forged, expired or revoked: pages go to the sign-in form."""

    status = 401


class Forbidden(Refusal):
    """Signed in, but the role or the commune does not allow it."""

    status = 403


class CsrfFailed(Refusal):
    """A POST without the form's token, or with another one: nothing was changed."""

    status = 403


class BadRequest(Refusal):
    """An address no page of the desk makes (a hand-edited filter): nothing was changed."""

    status = 400


class TooLarge(Refusal):
    """A form larger than any of the desk's."""

    status = 413


class NotFound(Refusal):
    """A page about something that does not exist (any more)."""

    status = 404


@dataclass(frozen=True)
class Signed:
    """The staff member of a request, their session's CSRF token and the token's hash."""

    staff: Staff
    csrf: str
    token_hash: str


@dataclass
class Desk:
    """What every desk page needs; one per app."""

    sessions: sessionmaker[Session]
    policy: Policy
    templates: Jinja2Templates
    now: Callable[[], datetime]

    def page(self, request: Request, name: str, status: int = 200, **values: Any) -> Any:
        signed = getattr(request.state, "signed", None)
        context = {"signed": signed, "staff": signed.staff if signed else None, **values}
        response = self.templates.TemplateResponse(request, name, context, status_code=status)
        response.headers["Cache-Control"] = "no-store"  # personal data stays out of caches
        return response


def desk_of(request: Request) -> Desk:
    found: Desk = request.app.state.desk
    return found


def secure(request: Request) -> bool:
    """Whether cookies must be Secure: over HTTPS, or on any host that is not this machine."""
    return request.url.scheme == "https" or (request.url.hostname or "") not in LOOPBACK


def set_cookie(
    response: Any, request: Request, name: str, value: str, *, path: str, **kw: Any
) -> None:
    response.set_cookie(
        name, value, path=path, httponly=True, samesite="strict", secure=secure(request), **kw
    )


def signed_in(request: Request) -> Signed | None:
    """The request's session, looked up once per request (None when there is none valid);
    it reads the database: call it off the event loop."""
    if hasattr(request.state, "signed"):
        found: Signed | None = request.state.signed
        return found
    desk = desk_of(request)
    token = request.cookies.get(COOKIE, "")
    signed = None
    if token:
        with desk.sessions.begin() as session:
            opened = accounts.session_for(
                session=session, policy=desk.policy, token=token, now=desk.now()
            )
            if opened is not None:
                staff, row = opened
                signed = Signed(staff, row.csrf_token, row.token_hash)
    request.state.signed = signed
    return signed


def current_staff(request: Request) -> Staff:
    """The dependency of every signed-in page: the staff member, or LoginRequired."""
    signed = signed_in(request)
    if signed is None:
        raise LoginRequired()
    return signed.staff


SignedStaff = Annotated[Staff, Depends(current_staff)]


def require(action: str) -> Callable[..., Any]:
    """A dependency: the staff member if ``may(staff, action)`` anywhere, else Forbidden."""

    def check(request: Request) -> Staff:
        staff = current_staff(request)
        if not accounts.may(staff, action):
            raise Forbidden()
        return staff

    return check


async def csrf_protect(request: Request) -> None:
    """The router's dependency: every POST must carry the right ``csrf`` field."""
    if request.method != "POST":
        return
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > MAX_FORM_BYTES:
        raise TooLarge()
    form = await request.form()
    given = str(form.get("csrf", ""))
    if request.url.path == LOGIN_PATH:
        expected = request.cookies.get(LOGIN_COOKIE, "")
    else:
        signed = await run_in_threadpool(signed_in, request)
        if signed is None:
            raise LoginRequired()
        expected = signed.csrf
    if not expected or not given or not hmac.compare_digest(given, expected):
        raise CsrfFailed()


async def form_fields(request: Request) -> FormData:
    """The POST's form, for a route that runs in the thread pool (``csrf_protect`` has read
    it already: this gives the same one)."""
    return await request.form()


FormFields = Annotated[FormData, Depends(form_fields)]


def wake_outbox(request: Request) -> None:
    """Something was queued for the outbox: wake it now. For a route in the thread pool: the
    outbox's event belongs to the event loop, so it is set there."""
    anyio.from_thread.run_sync(request.app.state.outbox.wake)
