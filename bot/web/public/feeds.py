"""Atom feeds of the announcements (RFC 4287), paged as RFC 5005 says (rel="next"/"previous").

Built with ElementTree, which escapes every text: an announcement can hold any character.
Docs: https://www.rfc-editor.org/rfc/rfc4287 · https://www.rfc-editor.org/rfc/rfc5005
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree as ET

from bot.alerts.archive import Announcement

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"
ET.register_namespace("", ATOM)


@dataclass(frozen=True)
class Feed:
    """What one feed page says about itself: its URLs, title, and its neighbours' URLs."""

    self_url: str
    page_url: str  # the HTML page with the same announcements
    title: str
    subtitle: str
    author: str
    next_url: str | None = None
    previous_url: str | None = None


def _el(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, f"{{{ATOM}}}{name}", attrs)
    if text is not None:
        node.text = text
    return node


def stamp(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def atom(
    feed: Feed,
    items: list[Announcement],
    *,
    entry_url: Callable[[Announcement], str],
    kind_label: Callable[[str], str],
    empty_updated: datetime,
) -> bytes:
    """The feed document; ``empty_updated`` dates a feed with no entry yet."""
    root = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": "vi"})
    _el(root, "id", feed.self_url)
    _el(root, "title", feed.title)
    _el(root, "subtitle", feed.subtitle)
    _el(root, "updated", stamp(items[0].published_at if items else empty_updated))
    _el(_el(root, "author"), "name", feed.author)
    _el(root, "link", rel="self", type="application/atom+xml", href=feed.self_url)
    _el(root, "link", rel="alternate", type="text/html", href=feed.page_url)
    if feed.next_url:
        _el(root, "link", rel="next", type="application/atom+xml", href=feed.next_url)
    if feed.previous_url:
        _el(root, "link", rel="previous", type="application/atom+xml", href=feed.previous_url)
    for item in items:
        entry = _el(root, "entry")
        url = entry_url(item)
        _el(entry, "id", url)
        _el(entry, "title", item.title)
        _el(entry, "published", stamp(item.published_at))
        _el(entry, "updated", stamp(item.published_at))
        _el(entry, "link", rel="alternate", type="text/html", href=url)
        _el(entry, "category", term=item.kind, label=kind_label(item.kind))
        _el(entry, "content", item.text, type="text")
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body
