"""Exporting everything stored as a content file that ``load`` takes back unchanged."""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import wording
from bot.clock import as_day
from bot.content import areas
from bot.content.files.check import area_codes
from bot.content.files.schema import COLUMN, FORMAT_VERSION, SECTIONS, layout
from bot.storage.content import (
    AreaLevel,
    BankEntry,
    Hotline,
    InfoItem,
    LockdownZone,
    Situation,
    Source,
    SupportGroup,
    SupportScheme,
)
from bot.storage.schemes import LevelScheme

# The order of each section's rows: as in the file they came from, where it is kept.
ORDER_BY: dict[str, tuple[Any, ...]] = {
    "sources": (Source.id,),
    "situations": (Situation.level,),
    "support_groups": (SupportGroup.position,),
    "info": (InfoItem.position, InfoItem.id),
    "hotlines": (Hotline.position, Hotline.id),
    "schemes": (SupportScheme.position, SupportScheme.id),
    "zones": (LockdownZone.id,),
    "alert_schemes": (LevelScheme.key,),
    "alert_levels": (AreaLevel.position, AreaLevel.id),
    "questions": (BankEntry.position, BankEntry.id),
}


def _area_text(province_code: int | None, commune_code: int | None, prefer: str) -> str:
    if province_code is None:
        return wording.phrase("whole_country")
    key = f"c:{commune_code}" if commune_code else f"p:{province_code}"
    area = areas.from_key(key)
    if area is None:
        return key
    same = area_codes(area.name, prefer_province=prefer) == (province_code, commune_code)
    return area.name if same else key


def dump(*, session: Session, prefer_province: str) -> dict[str, Any]:
    """Everything stored, as a content file that ``load`` takes back unchanged."""
    names: dict[tuple[int | None, int | None], str] = {}

    def value(row: Any, name: str, span: tuple[str, str] | None) -> Any:
        if name == "area":
            codes = (row.province_code, row.commune_code)
            if codes not in names:
                names[codes] = _area_text(*codes, prefer_province)
            return names[codes]
        if name == "source":
            return row.source.key
        if name == "groups":
            return row.group_keys
        if name == "levels":
            return [_level(level) for level in row.levels]
        if name in ("keywords", "questions"):
            return list(getattr(row, name))
        if span and name in span:
            return as_day(getattr(row, COLUMN.get(name, name)), end=name == span[1])
        return getattr(row, name)

    out: dict[str, Any] = {"version": FORMAT_VERSION}
    for section, schema in SECTIONS.items():
        rows = session.scalars(select(schema.table).order_by(*ORDER_BY[section]))
        fields = layout(schema)
        out[section] = [{name: value(row, name, schema.span) for name in fields} for row in rows]
    return out


def _level(level: Any) -> dict[str, Any]:
    """A scheme's level as the file writes it (no empty optional fields)."""
    out = {"level": level.level, "name": level.name, "meaning": level.meaning}
    out |= {"cadence": level.cadence, "per_week": level.per_week, "urgent": level.urgent}
    out["template"] = level.template
    return {key: value for key, value in out.items() if value is not None}


def to_yaml(data: dict[str, Any]) -> str:
    """A content file's text: Vietnamese as it is, fields in their order."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
