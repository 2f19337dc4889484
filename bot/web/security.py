"""Security headers on every response of the app: pages, API, static files, errors.

The chat page loads only its own script and stylesheet (no inline script or style), so the
Content-Security-Policy can forbid everything else; a script injected into a reply could not
run or send data anywhere. Framing is allowed only for the origins in ``EMBED_ORIGINS``.
Docs: https://developer.mozilla.org/docs/Web/HTTP/Headers/Content-Security-Policy
"""

from __future__ import annotations

import logging
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

# ``data:`` images: the page's empty favicon (<link rel="icon" href="data:,">).
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
# ``same-origin``: nothing (not even our origin) leaks to other sites through Referer, while
# our own POSTs keep a real Origin header (``no-referrer`` would make it "null").
REFERRER_POLICY = "same-origin"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
# An origin as CSP writes it (scheme, host or *.host, optional port): anything else in the
# setting (a ";", a quote) would change the policy itself.
ORIGIN = re.compile(r"https?://(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def embed_origins(setting: str, *, warn: bool = True) -> list[str]:
    """The well-formed origins of EMBED_ORIGINS; the others are left out, with a log line
    unless ``warn`` is off (the setting is read by more than one part of the app)."""
    found = []
    for origin in setting.split():
        if ORIGIN.fullmatch(origin):
            found.append(origin)
        elif warn:
            logger.warning(
                "EMBED_ORIGINS: %r is not an origin (https://host[:port]); ignored", origin
            )
    return found


def security_headers(setting: str = "") -> dict[str, str]:
    """The headers every response carries; the origins of ``setting`` (EMBED_ORIGINS,
    space-separated) may frame us."""
    origins = embed_origins(setting)
    ancestors = " ".join(["'self'", *origins])
    headers = {
        "Content-Security-Policy": f"{POLICY}; frame-ancestors {ancestors}",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": REFERRER_POLICY,
        "Permissions-Policy": PERMISSIONS_POLICY,
    }
    if not origins:
        # For browsers without frame-ancestors; it cannot list origins, so with embedding
        # allowed the CSP alone decides.
        headers["X-Frame-Options"] = "SAMEORIGIN"
    return headers


class SecurityHeaders:
    """ASGI middleware adding ``security_headers`` to every HTTP response that does not set
    them itself (``app.add_middleware(SecurityHeaders, embed_origins=...)``)."""

    def __init__(self, app: ASGIApp, *, embed_origins: str = "") -> None:
        self.app = app
        self.headers = [
            (name.lower().encode(), value.encode())
            for name, value in security_headers(embed_origins).items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in self.headers if n not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
