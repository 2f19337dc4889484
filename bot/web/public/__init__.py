"""The province's public pages: ``/`` (the situation), ``/tim`` (find a place), ``/xa/<code>``
(a commune), ``/thong-bao`` (the announcements, one page each) and their Atom feeds.

Server-rendered Vietnamese HTML with no script, cached briefly (``cache.PageCache``, checked
against the content's version on every request, so a level change shows at once) and sent with
an ETag and a few seconds of ``max-age``. Anything a visitor can type or put in a URL gets a
Vietnamese page with a 400 or 404 and one log line, never a 5xx; Jinja escapes everything.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader
from sqlalchemy.orm import Session, sessionmaker

from bot import wording
from bot.alerts import archive
from bot.alerts.subscriptions import AreaCode
from bot.clock import day, moment
from bot.content import portal
from bot.places import Place
from bot.settings import Settings
from bot.web.public import feeds
from bot.web.public.cache import PageCache

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
MAX_AGE = 5  # seconds a browser or proxy may reuse a page without asking
MAX_QUERY = 100  # characters of a searched name: the longest commune name is ~30
PER_PAGE = 20  # announcements per archive page
PER_FEED = 50  # entries per feed page
NEWEST_ON_HOME = 5
NEWEST_ON_COMMUNE = 10
MAX_PAGE = 100_000
VERSION_SECONDS = 1.0  # how stale the content's version may be: a change shows within it
PAGE = re.compile(r"[0-9]{1,6}")
CODE = re.compile(r"[0-9]{1,7}")
# Telegram usernames: 5–32 of A-Z a-z 0-9 _ (core.telegram.org/bots/features#botfather);
# a Zalo OA id is a number (zalo.me/<id> opens the OA).
TELEGRAM_NAME = re.compile(r"[A-Za-z0-9_]{5,32}")
ZALO_OA_ID = re.compile(r"[0-9]{5,25}")


class Problem(Exception):
    """A request the pages cannot answer: its status and the error page's ``kind``."""

    def __init__(self, status: int, kind: str, **values: Any) -> None:
        super().__init__(kind)
        self.status, self.kind, self.values = status, kind, values


def channel_links(cfg: Settings) -> dict[str, str | None]:
    """The Telegram and Zalo links to offer; None for a channel that is not set up (or set
    wrongly, which is logged), so the page says so instead of linking nowhere."""
    links: dict[str, str | None] = {"telegram": None, "zalo": None}
    if cfg.telegram_bot_username:
        name = cfg.telegram_bot_username.removeprefix("@")
        if TELEGRAM_NAME.fullmatch(name):
            links["telegram"] = f"https://t.me/{name}"
        else:
            logger.warning("TELEGRAM_BOT_USERNAME is not a bot username; no Telegram link")
    if cfg.zalo_oa_id:
        if ZALO_OA_ID.fullmatch(cfg.zalo_oa_id):
            links["zalo"] = f"https://zalo.me/{cfg.zalo_oa_id}"
        else:
            logger.warning("ZALO_OA_ID is not an OA id (digits); no Zalo link")
    return links


def page_number(request: Request) -> int:
    """``?page=`` as a number from 1; a 400 for anything else (negative, words, huge)."""
    raw = request.query_params.get("page")
    if raw is None:
        return 1
    if not PAGE.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE:
        raise Problem(400, "bad_page")
    return int(raw)


def pages_of(total: int, per_page: int, page: int) -> int:
    """The number of pages; a 404 for a page past the last (page 1 always exists)."""
    last = max(1, -(-total // per_page))
    if page > last:
        raise Problem(404, "no_page", last=last)
    return last


class Pages:
    """Renders the public pages for one app: settings, database, clock and cache."""

    def __init__(
        self, cfg: Settings, sessions: sessionmaker[Session], now: Callable[[], datetime]
    ) -> None:
        self.cfg, self.sessions, self.now = cfg, sessions, now
        self.cache = PageCache()
        self.clock = time.monotonic
        self.version_lock = threading.Lock()
        self.last_version, self.version_at = "", 0.0
        self.known: tuple[str, archive.Heads] | None = None  # the archive's heads, by version
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True,
            lstrip_blocks=True,
        )  # fmt: skip
        self.env.filters["moment"] = moment
        self.env.filters["day"] = day
        self.env.filters["area"] = portal.code_label
        self.env.filters["commune_name"] = lambda code: portal.code_label(AreaCode(0, code))
        self.kinds = wording.table("announcement_kinds")
        self.links = channel_links(cfg)
        home = portal.home(cfg.province)
        if home is None:  # a setting that names no province: the app would not be useful
            raise ValueError(f"LOA_PROVINCE={cfg.province!r} names no province")
        self.province: Place = home

    # --- rendering and caching --------------------------------------------------------------

    def html(self, template: str, **values: Any) -> bytes:
        context = {
            "province": self.province,
            "links": self.links,
            "kinds": self.kinds,
            "zone_kinds": wording.table("zone_kinds"),
            "rendered_at": self.now(),
            **values,
        }
        return self.env.get_template(f"public/{template}").render(**context).encode()

    def serve(
        self,
        request: Request,
        key: str,
        make: Callable[[Session], bytes],
        media_type: str = "text/html; charset=utf-8",
    ) -> Response:
        """The page for ``key``, from the cache when the content has not changed since."""
        with self.sessions() as session:
            version = self.version(session)
            page = self.cache.get(key, version)
            if page is None:
                page = self.cache.put(key, version, make(session), media_type)
        headers = {"ETag": page.etag, "Cache-Control": f"public, max-age={MAX_AGE}"}
        if page.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(page.body, media_type=page.media_type, headers=headers)

    def version(self, session: Session) -> str:
        """The content's version, read at most every ``VERSION_SECONDS`` (a busy site asks the
        database once a second, not once a request)."""
        with self.version_lock:
            if self.clock() - self.version_at < VERSION_SECONDS and self.last_version:
                return self.last_version
        found = portal.version(session=session)
        with self.version_lock:
            self.last_version, self.version_at = found, self.clock()
        return found

    def news(self, session: Session, area: AreaCode, page: int, per_page: int) -> archive.Page:
        """``archive.listing``, its heads read once per content version (every page lists)."""
        version = self.version(session)
        known = self.known
        if known is None or known[0] != version:
            known = (version, archive.heads(session=session))
            self.known = known
        return archive.listing(
            session=session, area=area, page=page, per_page=per_page, known=known[1]
        )

    def problem(self, request: Request, exc: Problem) -> Response:
        logger.info("public %s %s: %s %s", request.method, request.url.path, exc.status, exc.kind)
        body = self.html("error.html", kind=exc.kind, status=exc.status, **exc.values)
        return Response(
            body, status_code=exc.status, media_type="text/html; charset=utf-8",
            headers={"Cache-Control": "no-store"},
        )  # fmt: skip

    # --- pages -------------------------------------------------------------------------------

    def home(self, session: Session) -> bytes:
        at = self.now()
        shown = portal.province(session=session, province=self.province, at=at)
        news = self.news(session, AreaCode(self.province.code), 1, NEWEST_ON_HOME)
        return self.html("home.html", page=shown, news=news)

    def commune(self, session: Session, place: Place) -> bytes:
        shown = portal.commune(session=session, place=place, at=self.now())
        news = self.news(session, AreaCode(place.province_code, place.code), 1, NEWEST_ON_COMMUNE)
        return self.html("commune.html", page=shown, news=news)

    def place(self, code: str) -> Place:
        found = portal.commune_of(int(code), self.province) if CODE.fullmatch(code) else None
        if found is None:
            raise Problem(404, "no_commune", code=code[:20])
        return found

    def archive_page(self, session: Session, page: int) -> bytes:
        found = self.news(session, AreaCode(self.province.code), page, PER_PAGE)
        last = pages_of(found.total, PER_PAGE, page)
        return self.html("archive.html", news=found, page=page, last=last)

    def announcement(self, session: Session, raw_id: str) -> bytes:
        found = None
        if CODE.fullmatch(raw_id):
            found = archive.get(
                session=session, announcement_id=int(raw_id), province_code=self.province.code
            )
        if found is None:
            raise Problem(404, "no_announcement")
        return self.html("announcement.html", item=found)

    def feed_response(
        self, request: Request, area: AreaCode, name: str, page_path: str
    ) -> Response:
        """The Atom feed of ``area``'s announcements; ``page_path`` is their HTML page. The
        feed's links name the host it was asked on, so the host is part of the cache key."""
        page = page_number(request)
        base = str(request.base_url).rstrip("/")
        path = request.url.path

        def make(session: Session) -> bytes:
            found = self.news(session, area, page, PER_FEED)
            last = pages_of(found.total, PER_FEED, page)

            def at(p: int) -> str:
                return f"{base}{path}" + (f"?page={p}" if p > 1 else "")

            about = feeds.Feed(
                self_url=at(page),
                page_url=f"{base}{page_path}",
                title=f"Thông báo phòng, chống dịch – {name}",
                subtitle=f"Thông báo chính thức gửi người dân {name} ({self.province.name})",
                author=f"Loa – {self.province.name}",
                next_url=at(page + 1) if page < last else None,
                previous_url=at(page - 1) if page > 1 else None,
            )
            return feeds.atom(
                about,
                found.items,
                entry_url=lambda item: f"{base}/thong-bao/{item.id}",
                kind_label=lambda kind: self.kinds.get(kind, kind),
                empty_updated=self.now(),
            )

        return self.serve(request, f"{base}{path}?page={page}", make, feeds.MEDIA_TYPE)


def install(
    app: FastAPI, *, cfg: Settings, sessions: sessionmaker[Session], now: Callable[[], datetime]
) -> Pages:
    """Mount the public pages on ``app``; the ``Pages`` (its cache, for tests and benches)."""
    pages = Pages(cfg, sessions, now)
    router = APIRouter(include_in_schema=False)
    province = pages.province

    @router.api_route("/", methods=["GET", "HEAD"])
    def home(request: Request) -> Response:
        return pages.serve(request, "/", pages.home)

    @router.api_route("/tim", methods=["GET", "HEAD"])
    def search(request: Request) -> Response:
        typed = " ".join(request.query_params.get("q", "").split())
        if not typed:
            raise Problem(400, "search_empty")
        if len(typed) > MAX_QUERY:
            raise Problem(400, "search_long", limit=MAX_QUERY)
        found = portal.find(typed, province=province, province_name=cfg.province)
        if found.direct is not None:
            return RedirectResponse(f"/xa/{found.direct.code}", status_code=303)
        if found.province and not found.communes:
            return RedirectResponse("/", status_code=303)
        if not found.communes:
            kind = "search_elsewhere" if found.elsewhere else "search_none"
            raise Problem(404, kind, typed=typed, elsewhere=found.elsewhere)
        body = pages.html("search.html", typed=typed, found=found)
        return Response(body, media_type="text/html; charset=utf-8")

    @router.api_route("/xa/{code}", methods=["GET", "HEAD"])
    def commune(request: Request, code: str) -> Response:
        place = pages.place(code)
        return pages.serve(request, f"/xa/{place.code}", lambda s: pages.commune(s, place))

    @router.api_route("/xa/{code}/atom.xml", methods=["GET", "HEAD"])
    def commune_feed(request: Request, code: str) -> Response:
        place = pages.place(code)
        area = AreaCode(place.province_code, place.code)
        return pages.feed_response(request, area, place.name, f"/xa/{place.code}")

    @router.api_route("/thong-bao", methods=["GET", "HEAD"])
    def announcements(request: Request) -> Response:
        page = page_number(request)
        return pages.serve(
            request, f"/thong-bao?page={page}", lambda s: pages.archive_page(s, page)
        )

    @router.api_route("/thong-bao/atom.xml", methods=["GET", "HEAD"])
    def province_feed(request: Request) -> Response:
        return pages.feed_response(request, AreaCode(province.code), province.name, "/thong-bao")

    @router.api_route("/thong-bao/{announcement_id}", methods=["GET", "HEAD"])
    def announcement(request: Request, announcement_id: str) -> Response:
        if not CODE.fullmatch(announcement_id):
            raise Problem(404, "no_announcement")
        return pages.serve(
            request,
            f"/thong-bao/{announcement_id}",
            lambda s: pages.announcement(s, announcement_id),
        )

    async def problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return pages.problem(request, exc)

    app.include_router(router)
    app.add_exception_handler(Problem, problem)
    app.state.public_pages = pages
    return pages
