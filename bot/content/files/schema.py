"""The shape of a content file: its sections, their items' fields, and the rows they fill."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, StringConstraints
from pydantic_core import CoreSchema, core_schema
from sqlalchemy import inspect

from bot.settings import SEED_SCHEME
from bot.storage.content import (
    BANK_TOPICS,
    LEVELS,
    TOPICS,
    ZONE_KINDS,
    ZONE_STATUSES,
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
from bot.storage.schemes import CADENCES, MAX_LEVEL, LevelScheme

FORMAT_VERSION = "1"


@dataclass(frozen=True)
class OneOf:
    """Only these values: validated and reported exactly as a ``Literal`` of them."""

    values: tuple[Any, ...]

    def __get_pydantic_core_schema__(self, _: Any, __: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.literal_schema(list(self.values))


def _text(max_length: int, min_length: int = 1) -> Any:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


Key = Annotated[str, _text(80)]
Short = Annotated[str, _text(200)]
Text = Annotated[str, _text(4000)]
# A day in Viet Nam (a start begins at 00:00, an end is the last day included), or a time.
When = date | datetime
Level = Annotated[int, OneOf(LEVELS)]
SchemeLevelNumber = Annotated[int, Field(ge=1, le=MAX_LEVEL)]
Template = Annotated[str, _text(4000)]

# File fields kept in a column of another name; span fields are converted (bot.clock).
COLUMN = {"effective_from": "valid_from", "effective_until": "valid_until"}
# Fields stored another way than as they are: an area's codes, a source's id, group rows,
# folded keywords.
STORED_OTHERWISE = frozenset({"area", "source", "groups", "keywords", "levels"})


class Item(BaseModel):
    """An item of a section; its class says which rows it fills and how."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    table: ClassVar[type[Any]]  # the rows the items become
    identity: ClassVar[str] = "key"  # what an item is matched by, in the file and the table
    span: ClassVar[tuple[str, str] | None] = None  # the (start, end) day fields
    referred: ClassVar[bool] = False  # other items refer to these: ``replace`` keeps them
    layout: ClassVar[tuple[str, ...]] = ()  # exported order, if not the fields'; the rest last


class SourceIn(Item):
    table = Source
    referred = True

    key: Key
    title: Text
    number: Short | None = None
    issuer: Short
    issued_on: date
    url: Text | None = None
    demo: bool = False


class SituationIn(Item):
    table = Situation
    identity = "level"
    referred = True

    level: Level
    name: Short
    meaning: Text
    source: Key


class GroupIn(Item):
    table = SupportGroup
    referred = True

    key: Key
    label: Annotated[str, _text(40)]
    keywords: list[Short] = Field(default_factory=list)


class _Valid(Item):
    span = ("effective_from", "effective_until")

    key: Key
    area: Short
    source: Key
    effective_from: When
    effective_until: When | None = None


class InfoIn(_Valid):
    table = InfoItem
    layout = ("key", "topic", "area", "title", "body", "source")

    topic: Annotated[str, OneOf(TOPICS)]
    title: Short
    body: Text


class HotlineIn(_Valid):
    table = Hotline
    layout = ("key", "area", "number", "name", "note", "hours", "confirmed", "source")

    number: Annotated[str, _text(30, min_length=2)]
    name: Short
    note: Text | None = None
    hours: Short | None = None
    confirmed: bool = True


class SchemeIn(_Valid):
    table = SupportScheme
    layout = (
        "key",
        "title",
        "summary",
        "groups",
        "eligible",
        "amount",
        "how_to_apply",
        "where_to_apply",
        "legal_basis",
        "area",
        "source",
    )

    title: Short
    summary: Text
    groups: list[Key] = Field(default_factory=list)
    eligible: Text
    amount: Text
    how_to_apply: Text
    where_to_apply: Text
    legal_basis: Text


class ZoneIn(Item):
    table = LockdownZone
    span = ("starts_at", "ends_at")

    key: Key
    area: Short
    name: Short
    kind: Annotated[str, OneOf(ZONE_KINDS)]
    status: Annotated[str, OneOf(ZONE_STATUSES)]
    starts_at: When
    ends_at: When | None = None
    decision: Short
    note: Text | None = None
    source: Key


class QuestionIn(_Valid):
    """A question of the bank: how people ask it, and the answer with its source."""

    table = BankEntry
    layout = ("key", "topic", "area", "questions", "answer", "source", "confirmed")

    topic: Annotated[str, OneOf(BANK_TOPICS)]
    questions: Annotated[list[Short], Field(min_length=1, max_length=20)]
    answer: Text
    confirmed: bool = True


class SchemeLevelIn(BaseModel):
    """A level of a scheme; without ``name``/``meaning`` the situation of its number says them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    level: SchemeLevelNumber
    name: Short | None = None
    meaning: Text | None = None
    cadence: Annotated[str, OneOf(CADENCES)]
    per_week: Annotated[int, Field(ge=1, le=50)] | None = None  # with cadence: weekly
    urgent: bool = False
    template: Template


class LevelSchemeIn(Item):
    """A level scheme: its levels, their minimum cadence and announcements; zone templates."""

    table = LevelScheme
    referred = True  # the alert levels name it
    layout = ("key", "name", "zone_template", "zone_lifted_template", "levels")

    key: Annotated[str, _text(40)]
    name: Short
    zone_template: Template
    zone_lifted_template: Template
    levels: Annotated[list[SchemeLevelIn], Field(min_length=1, max_length=MAX_LEVEL)]


class LevelIn(_Valid):
    table = AreaLevel
    layout = ("key", "area", "scheme", "level", "decision", "note", "source")

    scheme: Annotated[str, _text(40)] = SEED_SCHEME
    level: SchemeLevelNumber
    decision: Short
    note: Text | None = None


# In the order they are stored: items refer to the sources, situations and groups before them.
SECTIONS: dict[str, type[Item]] = {
    "sources": SourceIn,
    "situations": SituationIn,
    "support_groups": GroupIn,
    "info": InfoIn,
    "hotlines": HotlineIn,
    "schemes": SchemeIn,
    "zones": ZoneIn,
    "alert_schemes": LevelSchemeIn,
    "alert_levels": LevelIn,
    "questions": QuestionIn,
}


@cache
def plain_fields(schema: type[Item]) -> tuple[str, ...]:
    """The fields kept as they are in the table's column of the same name."""
    columns = set(inspect(schema.table).column_attrs.keys())
    special = {schema.identity, *(schema.span or ()), *STORED_OTHERWISE}
    return tuple(name for name in schema.model_fields if name in columns - special)


@cache
def layout(schema: type[Item]) -> tuple[str, ...]:
    """An item's fields in the order an exported file has them."""
    rest = [name for name in schema.model_fields if name not in schema.layout]
    return (*schema.layout, *rest)


@dataclass
class Parsed:
    """A valid file: its items per section, and where each area points."""

    items: dict[str, list[Any]] = field(default_factory=dict)
    area_codes: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
