"""Request bodies read with a cap: a declared or streamed body over the limit is refused
before it is all in memory."""

from __future__ import annotations

from starlette.requests import Request

MAX_BODY_BYTES = 256 * 1024  # real updates are a few KB; a web chat message at most ~80 KB


async def read_capped(request: Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The body, or None as soon as it is known to be longer than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            return None
    return bytes(raw)
