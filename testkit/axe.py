"""Accessibility checks and screenshots for browser tests (Playwright, sync API).

``serious_violations(page)`` runs axe-core (the copy bundled by axe-playwright-python, so no
network) in a page or frame and returns one readable line per serious or critical
violation; ``screenshots(page, url, name)`` keeps the page at a phone and a desktop size in
tests/artifacts/ (not committed). Typical use::

    assert serious_violations(page) == []
    screenshots(page, f"{app.url}/", "home")
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import axe_playwright_python
from playwright.sync_api import Frame, Page, ViewportSize

AXE_JS = Path(axe_playwright_python.__file__).resolve().parent / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parent.parent / "tests" / "artifacts"
VIEWPORTS: dict[str, ViewportSize] = {
    "phone": {"width": 360, "height": 740},
    "desktop": {"width": 1280, "height": 800},
}
SERIOUS = ("serious", "critical")
# WCAG 2.1 A and AA (contrast AA, names, landmarks…) and axe's best practices. Frames are
# checked one by one (``frame`` below): axe's own frame messaging needs axe in every frame.
OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "iframes": False,
    "resultTypes": ["violations"],
}


def _inject(target: Page | Frame) -> None:
    """axe in the page: evaluated over the DevTools protocol, which the page's
    Content-Security-Policy does not govern (a <script> tag would be refused)."""
    if not target.evaluate("typeof window.axe === 'object'"):
        target.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;true")


def violations(target: Page | Frame, impacts: tuple[str, ...] = SERIOUS) -> list[dict[str, Any]]:
    """axe's violations of the given impacts in ``target`` (a page, or one of its frames)."""
    _inject(target)
    result = target.evaluate("(options) => axe.run(document, options)", OPTIONS)
    return [v for v in result["violations"] if v.get("impact") in impacts]


def _selector(target: list[Any]) -> str:
    """axe's target: selectors, a list of them for an element in a shadow root."""
    return " ".join(" >>> ".join(t) if isinstance(t, list) else str(t) for t in target)


def describe(violation: dict[str, Any]) -> str:
    """One line: the rule, its impact, what it means and where (up to three elements)."""
    where = "; ".join(_selector(node["target"]) for node in violation["nodes"][:3])
    more = len(violation["nodes"]) - 3
    where += f" (+{more} more)" if more > 0 else ""
    return f"{violation['id']} [{violation['impact']}]: {violation['help']} — {where}"


def serious_violations(target: Page | Frame) -> list[str]:
    """The serious and critical violations in ``target``, one readable line each ([] = none)."""
    return [describe(v) for v in violations(target)]


def screenshots(
    page: Page,
    url: str | None,
    name: str,
    *,
    prepare: Callable[[Page], None] | None = None,
    directory: Path = ARTIFACTS,
) -> list[Path]:
    """``name-phone.png`` and ``name-desktop.png`` (full page) in ``directory``: for each size
    the viewport is set, ``url`` loaded (None: the page stays where it is) and ``prepare(page)``
    run (open a menu, wait for a reply…). Returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for size, viewport in VIEWPORTS.items():
        page.set_viewport_size(viewport)
        if url is not None:
            page.goto(url, wait_until="load")
        if prepare is not None:
            prepare(page)
        path = directory / f"{name}-{size}.png"
        page.screenshot(path=str(path), full_page=True)
        written.append(path)
    return written
