"""httpx's one-off calls with a test's patience.

httpx gives up after 5 s by default. In CI, a page's first render (its templates compiled
on first use) once took longer than that on a 2-core machine loading Rasa next door, and
the test failed with a ReadTimeout that said nothing about the page (CI run of stop 22).
These wait up to 30 s unless the call says otherwise; a test still fails on a wrong answer,
only not on a busy machine."""

from __future__ import annotations

from typing import Any

import httpx

TIMEOUT = 30.0


def get(url: str, **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("timeout", TIMEOUT)
    return httpx.get(url, **kwargs)


def head(url: str, **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("timeout", TIMEOUT)
    return httpx.head(url, **kwargs)


def options(url: str, **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("timeout", TIMEOUT)
    return httpx.options(url, **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("timeout", TIMEOUT)
    return httpx.post(url, **kwargs)
