"""Security headers on every kind of response; no OpenAPI route; framing as configured."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from bot.web.security import security_headers
from testkit import http
from tests.channels_rig import TELEGRAM_SECRET, Rig, fixture, fixtures_now, rig

EMBED = "https://tinh.example.gov.vn https://baodientu.example.vn"


@pytest.fixture
def app(database_url, session_factory) -> Iterator[Rig]:
    with rig(database_url, session_factory, now=fixtures_now) as r:
        yield r


def _routes(app: Rig) -> list[tuple[str, httpx.Response]]:
    """One request to each kind of route: page, API, health, static file, webhook, 404."""
    sender = str(uuid.uuid4())
    chat_message = {"sender": sender, "message_id": str(uuid.uuid4()), "text": "xin chào"}
    tg_headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    return [
        ("page", http.get(f"{app.url}/chat")),
        ("public page", http.get(f"{app.url}/")),
        ("chat post", http.post(f"{app.url}/api/chat/messages", json=chat_message, timeout=10)),
        ("chat get", http.get(f"{app.url}/api/chat/messages", params={"sender": sender})),
        ("health", http.get(f"{app.url}/healthz", timeout=10)),
        ("static", http.get(f"{app.url}/static/chat.js")),
        ("webhook", app.post("/webhooks/telegram", fixture("telegram_text.json"), tg_headers)),
        ("webhook refused", app.post("/webhooks/telegram", fixture("telegram_text.json"), {})),
        ("404", http.get(f"{app.url}/no/such/page")),
    ]


def test_every_response_carries_the_security_headers(app: Rig) -> None:
    for label, response in _routes(app):
        h = response.headers
        csp = h.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp, (label, csp)
        assert "frame-ancestors 'self'" in csp, (label, csp)
        assert h.get("x-content-type-options") == "nosniff", label
        assert h.get("referrer-policy") == "same-origin", label
        assert "camera=()" in h.get("permissions-policy", ""), label
        assert h.get("x-frame-options") == "SAMEORIGIN", label  # no embed origins set


def test_no_openapi_or_docs_route(app: Rig) -> None:
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert http.get(f"{app.url}{path}").status_code == 404, path


def test_frame_ancestors_follow_the_embed_origins(database_url, session_factory) -> None:
    with rig(database_url, session_factory, now=fixtures_now, embed_origins=EMBED) as app:
        for label, response in _routes(app):
            csp = response.headers["content-security-policy"]
            assert f"frame-ancestors 'self' {EMBED}" in csp, (label, csp)
            # X-Frame-Options cannot name origins: it would forbid the embedding sites.
            assert "x-frame-options" not in response.headers, label


@pytest.mark.parametrize(
    ("setting", "ancestors", "frame_options"),
    [
        ("", "'self'", "SAMEORIGIN"),
        ("https://a.gov.vn", "'self' https://a.gov.vn", None),
        (
            "https://*.gov.vn http://localhost:8080",
            "'self' https://*.gov.vn http://localhost:8080",
            None,
        ),
        ("https://a.gov.vn; script-src *", "'self'", "SAMEORIGIN"),  # cannot widen the CSP
        ("https://a.gov.vn script-src", "'self' https://a.gov.vn", None),
        ("'unsafe-inline' *", "'self'", "SAMEORIGIN"),
    ],
)
def test_only_well_formed_origins_reach_the_policy(setting, ancestors, frame_options) -> None:
    headers = security_headers(setting)
    assert headers["Content-Security-Policy"].endswith(f"; frame-ancestors {ancestors}")
    assert headers.get("X-Frame-Options") == frame_options
