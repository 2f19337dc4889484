"""The embeddable chat over HTTP: /widget.js (type, caching, the origins it knows), the
compact /chat?embed=1 page, frame-ancestors exactly as EMBED_ORIGINS says, and no CORS."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest

from testkit import http
from tests.channels_rig import rig

LISTED = ("https://tinh.example.gov.vn", "https://*.baodientu.example.vn", "http://127.0.0.1:8080")
SETTING = " ".join(LISTED)


def ancestors(response: httpx.Response) -> list[str]:
    """The sources of the response's frame-ancestors directive."""
    for directive in response.headers["content-security-policy"].split(";"):
        name, *sources = directive.split()
        if name == "frame-ancestors":
            return sources
    raise AssertionError("no frame-ancestors")


def widget_origins(source: str) -> list[str]:
    """The origins the widget script was rendered with."""
    found = re.search(r"const CONFIG = (\{.*?\});", source)
    assert found, source[:300]
    return json.loads(found.group(1))["origins"]


def test_the_widget_script_is_public_typed_and_cached(database_url, session_factory) -> None:
    with rig(database_url, session_factory, embed_origins=SETTING) as app:
        first = http.get(f"{app.url}/widget.js")
        again = http.get(f"{app.url}/widget.js", headers={"If-None-Match": first.headers["etag"]})
        other = http.get(f"{app.url}/widget.js", headers={"If-None-Match": '"something-else"'})
    assert first.status_code == 200
    assert first.headers["content-type"] == "text/javascript; charset=utf-8"
    assert first.headers["cache-control"] == "public, max-age=3600"
    assert first.headers["cross-origin-resource-policy"] == "cross-origin"
    assert first.headers["x-content-type-options"] == "nosniff"
    assert widget_origins(first.text) == list(LISTED)
    assert "{{" not in first.text and "{%" not in first.text  # rendered, not the template
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert other.status_code == 200 and other.content == first.content


def test_without_embed_origins_the_widget_knows_no_site(database_url, session_factory) -> None:
    with rig(database_url, session_factory) as app:
        response = http.get(f"{app.url}/widget.js")
        chat = http.get(f"{app.url}/chat", params={"embed": "1"})
    assert response.status_code == 200  # served, and shows nothing on another site
    assert widget_origins(response.text) == []
    assert "is not in EMBED_ORIGINS" in response.text  # what the portal's console says
    assert ancestors(chat) == ["'self'"]
    assert chat.headers["x-frame-options"] == "SAMEORIGIN"


def test_frame_ancestors_list_exactly_the_configured_origins(database_url, session_factory) -> None:
    with rig(database_url, session_factory, embed_origins=SETTING) as app:
        for path in ("/chat?embed=1", "/chat", "/widget.js", "/api/chat/messages"):
            response = http.get(f"{app.url}{path}")
            assert ancestors(response) == ["'self'", *LISTED], path
            assert "https://evil.example.com" not in response.headers["content-security-policy"]
            assert "x-frame-options" not in response.headers, path


@pytest.mark.parametrize(
    ("label", "setting", "kept", "rejected"),
    [
        (
            "a directive",
            "https://a.gov.vn; script-src *",
            [],
            ["https://a.gov.vn;", "script-src", "*"],
        ),
        (
            "a keyword",
            "'unsafe-inline' https://a.gov.vn",
            ["https://a.gov.vn"],
            ["'unsafe-inline'"],
        ),
        (
            "a path",
            "https://a.gov.vn/page https://b.gov.vn",
            ["https://b.gov.vn"],
            ["https://a.gov.vn/page"],
        ),
        ("no scheme", "a.gov.vn", [], ["a.gov.vn"]),
        ("javascript:", "javascript:alert(1)", [], ["javascript:alert(1)"]),
    ],
)
def test_bad_embed_origins_are_left_out_with_a_log_line(
    database_url, session_factory, caplog, label, setting, kept, rejected
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="bot.web.security"),
        rig(database_url, session_factory, embed_origins=setting) as app,
    ):
        chat = http.get(f"{app.url}/chat", params={"embed": "1"})
        script = http.get(f"{app.url}/widget.js")
    assert ancestors(chat) == ["'self'", *kept], label
    assert widget_origins(script.text) == kept, label
    # One line per word left out, naming it; once, though two parts of the app read it.
    warnings = [r.getMessage() for r in caplog.records if "EMBED_ORIGINS" in r.getMessage()]
    assert warnings == [
        f"EMBED_ORIGINS: {w!r} is not an origin (https://host[:port]); ignored" for w in rejected
    ], label
    assert not any(r.exc_info for r in caplog.records)


def test_the_embed_page_is_the_chat_marked_compact(database_url, session_factory) -> None:
    with rig(database_url, session_factory, embed_origins=SETTING) as app:
        embedded = http.get(f"{app.url}/chat", params={"embed": "1"})
        odd = http.get(f"{app.url}/chat", params={"embed": '"><script>alert(1)</script>'})
        plain = http.get(f"{app.url}/chat")
    assert embedded.status_code == 200
    assert '<body class="embed">' in embedded.text and 'data-embed="1"' in embedded.text
    assert 'id="composer"' in embedded.text  # the same chat
    for response in (odd, plain):  # any other value: the full page, nothing echoed
        assert response.status_code == 200
        assert "embed" not in response.text.split("<body", 1)[1].split(">", 1)[0]
        assert "<script>alert" not in response.text


def test_the_chat_api_grants_no_cors_to_embedding_sites(database_url, session_factory) -> None:
    """The frame is our own page, same-origin with the API: no site, listed or not, gets
    CORS, and a post from another site is refused."""
    with rig(database_url, session_factory, embed_origins=SETTING) as app:
        for origin in ("https://tinh.example.gov.vn", "https://evil.example.com"):
            preflight = http.options(
                f"{app.url}/api/chat/messages",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type",
                },
            )
            assert "access-control-allow-origin" not in preflight.headers, origin
            posted = http.post(
                f"{app.url}/api/chat/messages",
                json={"message_id": "4b0d8e4e-1f43-4a6e-9d1c-2f1c1c2b7c11", "text": "xin chào"},
                headers={"Origin": origin, "Sec-Fetch-Site": "cross-site"},
            )
            assert posted.status_code == 403, origin
            assert "access-control-allow-origin" not in posted.headers, origin


def test_in_the_widget_frame_the_conversation_cookie_is_partitioned(
    database_url, session_factory
) -> None:
    """A portal on another site would get no SameSite=Strict cookie in its frame (a new
    conversation at every message); the frame's requests get a partitioned one instead."""
    message = {"message_id": "4b0d8e4e-1f43-4a6e-9d1c-2f1c1c2b7c11", "text": "xin chào"}
    with rig(database_url, session_factory, embed_origins=SETTING) as app:
        framed = http.post(
            f"{app.url}/api/chat/messages", json=message, headers={"X-Loa-Embed": "1"}
        )
        page = http.post(f"{app.url}/api/chat/messages", json={**message, "message_id": "b2"})
        resets = [
            http.post(f"{app.url}/api/chat/reset", headers=headers)
            for headers in ({"X-Loa-Embed": "1"}, {})
        ]
    assert framed.status_code == 200 and page.status_code == 200
    attributes = {a.strip().lower() for a in framed.headers["set-cookie"].split(";")[1:]}
    assert {"samesite=none", "secure", "partitioned", "httponly", "path=/api/chat"} <= attributes
    assert "samesite=strict" in page.headers["set-cookie"].lower()  # our own page: unchanged
    assert "partitioned" not in page.headers["set-cookie"].lower()
    # "Xóa cuộc trò chuyện", in the frame or on our page, removes both kinds of cookie (the
    # widget may be on our own site, where the frame's cookie is also our page's).
    for reset in resets:
        removed = reset.headers.get_list("set-cookie")
        assert len(removed) == 2 and all("max-age=0" in c.lower() for c in removed), removed
        assert sum("partitioned" in c.lower() for c in removed) == 1, removed
