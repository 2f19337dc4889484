"""The hotline desk (/desk): staff sign in and work; served by the app, in Vietnamese.

``install`` mounts the desk's pages on the app and answers its refusals with pages: sign in
first (303 to the sign-in form for a browser, 401 otherwise), not allowed (403), form expired
(403, nothing changed). Every route of the desk's router checks CSRF on POST.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import moment
from bot.helpdesk.staff import Policy
from bot.settings import Settings
from bot.web.desk import (
    accounts,
    admin,
    broadcasts,
    false_info,
    levels,
    plan,
    questions,
    requests,
    stats,
)
from bot.web.desk.auth import (
    LOGIN_PATH,
    BadRequest,
    CsrfFailed,
    Desk,
    Forbidden,
    LoginRequired,
    NotFound,
    Refusal,
    TooLarge,
    csrf_protect,
    desk_of,
)

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
MESSAGES = {
    Forbidden: "forbidden",
    CsrfFailed: "csrf",
    TooLarge: "too_large",
    NotFound: "not_found",
    BadRequest: "bad_request",
}


def install(
    app: FastAPI,
    *,
    cfg: Settings,
    sessions: sessionmaker[Session],
    now: Callable[[], datetime],
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Mount the desk on ``app``."""
    templates = Jinja2Templates(directory=TEMPLATES)
    templates.env.filters["vietnam_time"] = moment
    templates.env.filters["ago"] = requests.ago
    templates.env.filters["due_in"] = requests.due_in
    app.state.desk = Desk(
        sessions=sessions, policy=Policy.from_settings(cfg), templates=templates, now=now
    )
    router = APIRouter(prefix="/desk", dependencies=[Depends(csrf_protect)])
    accounts.add_routes(router, cfg=cfg, clock=clock)
    admin.add_routes(router, province=cfg.province)
    requests.add_routes(router, cfg=cfg)
    false_info.add_routes(router)
    questions.add_routes(router)
    stats.add_routes(router, cfg=cfg)
    levels.add_routes(router, cfg=cfg)
    plan.add_routes(router)  # before broadcasts: /broadcasts/plan is not a broadcast's number
    broadcasts.add_routes(router, cfg=cfg)
    app.include_router(router)
    app.add_exception_handler(Refusal, _refused)  # type: ignore[arg-type]


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


async def _refused(request: Request, exc: Refusal) -> Response:
    logger.info(
        "desk %s %s refused: %s %s", request.method, request.url.path, type(exc).__name__, exc
    )
    if isinstance(exc, LoginRequired):
        if wants_html(request):
            return RedirectResponse(LOGIN_PATH, status_code=303)
        return PlainTextResponse("Vui lòng đăng nhập.", status_code=401)
    kind = next((key for cls, key in MESSAGES.items() if isinstance(exc, cls)), "forbidden")
    return desk_of(request).page(request, "desk/refused.html", exc.status, kind=kind)
