"""Storing a valid content file in the caller's transaction."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot import text as vi
from bot.clock import end_of, start_of
from bot.content.files.check import parse
from bot.content.files.schema import COLUMN, SECTIONS, Item, Parsed, plain_fields
from bot.storage.content import SchemeGroup, Source
from bot.storage.schemes import SchemeLevel


def load(
    raw: dict[str, Any], *, session: Session, prefer_province: str, replace: bool = False
) -> Counter[str]:
    """Validate and store a content file in the caller's transaction; counts per section.

    Items are matched by ``key`` (situations by ``level``) and updated in place; with
    ``replace``, each section the file has also loses the items the file no longer lists,
    except sources, situations and support groups (items refer to them). Raises ContentError
    (nothing written) when anything in the file is wrong."""
    parsed = parse(raw, session=session, prefer_province=prefer_province)
    saved: Counter[str] = Counter()
    sources: dict[str, int] = {}
    for section in SECTIONS:
        if section in parsed.items:
            saved.update(_store(section, parsed, sources, session=session, replace=replace))
        session.flush()
        if section == "sources":  # the items after refer to them by id
            sources = {row.key: row.id for row in session.execute(select(Source.key, Source.id))}
    return saved


def _store(
    section: str, parsed: Parsed, sources: dict[str, int], *, session: Session, replace: bool
) -> Counter[str]:
    schema = SECTIONS[section]
    table, identity = schema.table, schema.identity
    existing = {getattr(row, identity): row for row in session.scalars(select(table))}
    saved: Counter[str] = Counter()
    items = parsed.items[section]
    for position, item in enumerate(items):
        key = getattr(item, identity)
        row = existing.get(key) or table(**{identity: key})
        _fill(row, item, schema, position=position, sources=sources, parsed=parsed)
        session.add(row)
        saved[section] += 1
    if replace and not schema.referred:
        keys = {getattr(item, identity) for item in items}
        gone = [key for key in existing if key not in keys]
        if gone:
            session.execute(delete(table).where(getattr(table, identity).in_(gone)))
            saved[f"-{section}"] += len(gone)
    return saved


def _fill(
    row: Any,
    item: Any,
    schema: type[Item],
    *,
    position: int,
    sources: dict[str, int],
    parsed: Parsed,
) -> None:
    """Copy an item onto its row: the plain fields as they are, the others converted."""
    for name in plain_fields(schema):
        setattr(row, name, getattr(item, name))
    if schema.span:
        start, until = schema.span
        setattr(row, COLUMN.get(start, start), start_of(getattr(item, start)))
        end = getattr(item, until)
        setattr(row, COLUMN.get(until, until), end_of(end) if end else None)
    fields = schema.model_fields
    if "area" in fields:
        row.province_code, row.commune_code = parsed.area_codes[item.area]
    if "source" in fields:
        row.source_id = sources[item.source]
    if "keywords" in fields:
        row.keywords = [vi.key(word) for word in item.keywords]
    if "groups" in fields:
        wanted = list(dict.fromkeys(item.groups))
        row.groups = [g for g in row.groups if g.group_key in wanted]
        have = {g.group_key for g in row.groups}
        row.groups += [SchemeGroup(group_key=key) for key in wanted if key not in have]
    if "levels" in fields:  # a level scheme's levels, matched by number, replaced as a whole
        mine = {level.level: level for level in row.levels}
        row.levels = [
            _level(mine.get(level.level) or SchemeLevel(level=level.level), level)
            for level in item.levels
        ]
    if hasattr(row, "position"):
        row.position = position


def _level(row: SchemeLevel, item: Any) -> SchemeLevel:
    for name in ("name", "meaning", "cadence", "per_week", "urgent", "template"):
        setattr(row, name, getattr(item, name))
    return row
