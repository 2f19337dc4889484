"""``GET /widget.js``: the chat widget a portal pastes with one ``<script>`` tag.

The script is public (any page may load it) and is rendered once, with the origins of
``EMBED_ORIGINS`` in it: on a page that is not listed it shows nothing and says why in the
browser's console, rather than open a panel whose frame the browser refuses
(``frame-ancestors``, bot/web/security.py, is what actually enforces the list). The chat runs
in an iframe of our own /chat page, same-origin with its API, so no CORS header is needed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import Response

from bot.web.security import embed_origins

HERE = Path(__file__).resolve().parent
# An hour: a portal's visitors fetch it once a session, and a changed EMBED_ORIGINS (a restart)
# reaches them within the hour; the ETag makes the revalidation after that a 304.
CACHE_CONTROL = "public, max-age=3600"
# RFC 9239: text/javascript is the one JavaScript media type.
MEDIA_TYPE = "text/javascript; charset=utf-8"


def render(origins: list[str]) -> str:
    """The widget's source with ``origins`` (already checked by ``embed_origins``) in it."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=False)
    return env.get_template("widget.js").render(config={"origins": origins})


def router(*, embed_origins_setting: str) -> APIRouter:
    """GET /widget.js for the origins of ``embed_origins_setting`` (EMBED_ORIGINS)."""
    api = APIRouter()
    # The security headers already logged each malformed origin; once is enough.
    body = render(embed_origins(embed_origins_setting, warn=False)).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {
        "Cache-Control": CACHE_CONTROL,
        "ETag": etag,
        # A portal that isolates itself (COEP require-corp) may still load this script.
        "Cross-Origin-Resource-Policy": "cross-origin",
    }

    @api.get("/widget.js", include_in_schema=False)
    async def widget_js(request: Request) -> Response:
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=MEDIA_TYPE, headers=headers)

    return api
