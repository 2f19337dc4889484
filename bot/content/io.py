"""Content files (YAML) in and out: validated whole before one transaction, or refused.

Dates in a file are days in Viet Nam: a start date begins at 00:00 that day, an end date
(``effective_until``, ``ends_at``) is the last day included. Items are matched by ``key``
(situations by ``level``); ``replace=True`` also deletes the items (info, hotlines, schemes,
zones, alert levels) of each section the file has that the file no longer lists; sources,
situations and support groups are only added or updated, since items refer to them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot import text as vi
from bot import wording
from bot.clock import as_day, end_of, start_of
from bot.content import areas
from bot.storage import content as models
from bot.storage.content import (
    AreaLevel,
    Hotline,
    InfoItem,
    LockdownZone,
    SchemeGroup,
    Situation,
    Source,
    SupportGroup,
    SupportScheme,
)

FORMAT_VERSION = "1"
DEMO = Path(__file__).resolve().parent / "demo" / "lang_son.yml"
MAX_FILE_BYTES = 20_000_000  # a province's content is a few MB; 10,000 zones ≈ 3 MB
NATIONAL = "toan quoc"  # the folded area name for the whole country

Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
When = date | datetime


_error = wording.error


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SourceIn(_Item):
    key: Key
    title: Text
    number: Short | None = None
    issuer: Short
    issued_on: date
    url: Text | None = None
    demo: bool = False


class SituationIn(_Item):
    level: Literal[1, 2, 3, 4, 5]
    name: Short
    meaning: Text
    source: Key


class GroupIn(_Item):
    key: Key
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    keywords: list[Short] = Field(default_factory=list)


class _Valid(_Item):
    key: Key
    area: Short
    source: Key
    effective_from: When
    effective_until: When | None = None


class InfoIn(_Valid):
    topic: Literal["symptoms", "danger_signs", "home_care", "seek_care", "prevention"]
    title: Short
    body: Text


class HotlineIn(_Valid):
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=30)]
    name: Short
    note: Text | None = None
    hours: Short | None = None
    confirmed: bool = True


class SchemeIn(_Valid):
    title: Short
    summary: Text
    groups: list[Key] = Field(default_factory=list)
    eligible: Text
    amount: Text
    how_to_apply: Text
    where_to_apply: Text
    legal_basis: Text


class ZoneIn(_Item):
    key: Key
    area: Short
    name: Short
    kind: Literal["hamlet", "residential_group", "market", "street", "building", "area"]
    status: Literal["active", "lifted"]
    starts_at: When
    ends_at: When | None = None
    decision: Short
    note: Text | None = None
    source: Key


class LevelIn(_Valid):
    level: Literal[1, 2, 3, 4, 5]
    decision: Short
    note: Text | None = None


SECTIONS: dict[str, type[_Item]] = {
    "sources": SourceIn,
    "situations": SituationIn,
    "support_groups": GroupIn,
    "info": InfoIn,
    "hotlines": HotlineIn,
    "schemes": SchemeIn,
    "zones": ZoneIn,
    "alert_levels": LevelIn,
}


class ContentError(Exception):
    """A content file was refused; ``problems`` says where and why, in Vietnamese."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join([_error("summary", count=len(problems)), *problems]))


@dataclass
class Parsed:
    """A valid file: its items per section, and where each area points."""

    items: dict[str, list[Any]] = field(default_factory=dict)
    area_codes: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)


# --- reading -------------------------------------------------------------------------------


def _pydantic_problem(error: Any) -> str:
    kind = str(error["type"])
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _error("missing")
    if kind == "extra_forbidden":
        return _error("extra_forbidden")
    if kind.startswith("date"):  # every date field takes a day or a time: one message
        return _error("date")
    if kind == "string_too_short":
        return _error("empty")
    if kind == "string_too_long":
        return _error("too_long", max=ctx.get("max_length"))
    if kind == "literal_error":
        return _error("choice", allowed=str(ctx.get("expected", "")).replace(" or ", ", "))
    names = {"string_type": "string", "int_type": "int", "int_parsing": "int", "bool_type": "bool"}
    names |= {"bool_parsing": "bool", "list_type": "list"}
    if kind in names:
        return _error(names[kind])
    return _error("other", reason=error.get("msg", kind))


def _where(section: str, index: int, raw: Any, loc: tuple[Any, ...] = ()) -> str:
    label = f"{section}[{index + 1}]"
    if isinstance(raw, dict) and raw.get("key") is not None:
        label += f" (key: {raw['key']})"
    if loc:
        label += " → " + ".".join(str(part) for part in loc)
    return label


def read_file(path: Path) -> dict[str, Any]:
    """The raw mapping of a content file, or ContentError for an unreadable or non-YAML one."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ContentError([_error("file", path=path, reason=f"> {MAX_FILE_BYTES} bytes")])
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ContentError([_error("file", path=path, reason=exc.strerror or exc)]) from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ContentError([_error("not_yaml", reason=str(exc).splitlines()[0])]) from exc
    if not isinstance(raw, dict):
        raise ContentError([_error("version")])
    return raw


def parse(raw: dict[str, Any], *, session: Session, prefer_province: str) -> Parsed:
    """Validate a whole file (shape, dates, references, areas); every problem is reported."""
    if str(raw.get("version")) != FORMAT_VERSION:
        raise ContentError([_error("version")])
    problems: list[str] = []
    parsed = Parsed()
    allowed = ", ".join(SECTIONS)
    for name in raw:
        if name != "version" and name not in SECTIONS:
            problems.append(_error("top", key=name, allowed=allowed))
    for section, model in SECTIONS.items():
        entries = raw.get(section)
        if entries is None:
            continue
        if not isinstance(entries, list):
            problems.append(f"{section}: {_error('list')}")
            continue
        good: list[Any] = []
        for index, entry in enumerate(entries):
            try:
                good.append((index, model.model_validate(entry)))
            except ValidationError as exc:
                for err in exc.errors():
                    loc = tuple(err["loc"])
                    if loc and loc[-1] in ("date", "datetime"):  # one message for a date field
                        loc, err = loc[:-1], {**err, "type": "date_parsing"}
                    problem = f"{_where(section, index, entry, loc)}: {_pydantic_problem(err)}"
                    if problem not in problems:
                        problems.append(problem)
        parsed.items[section] = [item for _, item in good]
        problems += _check_section(section, good, entries)
    problems += _check_references(parsed, session)
    problems += _check_areas(parsed, prefer_province)
    if problems:
        raise ContentError(problems)
    return parsed


def _check_section(section: str, good: list[tuple[int, Any]], raw: list[Any]) -> list[str]:
    problems: list[str] = []
    keys = Counter(str(getattr(item, "key", getattr(item, "level", ""))) for _, item in good)
    for key, count in keys.items():
        if count > 1:
            problems.append(f"{section}: {_error('duplicate_key', key=key)}")
    for index, item in good:
        where = _where(section, index, raw[index])
        start, until = _span(item)
        if start is not None and until is not None and _end(until) <= _start(start):
            problems.append(f"{where}: {_error('dates_inverted', start=start, until=until)}")
        if isinstance(item, ZoneIn) and item.status == models.LIFTED and item.ends_at is None:
            problems.append(f"{where}: {_error('lifted_without_end')}")
    return problems


def _span(item: Any) -> tuple[When | None, When | None]:
    if isinstance(item, ZoneIn):
        return item.starts_at, item.ends_at
    if isinstance(item, _Valid):
        return item.effective_from, item.effective_until
    return None, None


def _check_references(parsed: Parsed, session: Session) -> list[str]:
    problems: list[str] = []
    sources = {s.key for s in parsed.items.get("sources", [])}
    sources |= set(session.scalars(select(Source.key)))
    groups = {g.key for g in parsed.items.get("support_groups", [])}
    groups |= set(session.scalars(select(SupportGroup.key)))
    levels = {s.level for s in parsed.items.get("situations", [])}
    levels |= set(session.scalars(select(Situation.level)))
    for section, items in parsed.items.items():
        for index, item in enumerate(items):
            where = _where(section, index, {"key": getattr(item, "key", None)})
            source = getattr(item, "source", None)
            if source is not None and source not in sources:
                problems.append(f"{where}: {_error('unknown_source', key=source)}")
            for group in getattr(item, "groups", []) if isinstance(item, SchemeIn) else []:
                if group not in groups:
                    problems.append(f"{where}: {_error('unknown_group', key=group)}")
            if isinstance(item, LevelIn) and item.level not in levels:
                problems.append(f"{where}: {_error('unknown_level', level=item.level)}")
    return problems


def area_codes(text: str, *, prefer_province: str) -> tuple[int | None, int | None] | str:
    """(province_code, commune_code) for an area name or key, or the problem with it."""
    if vi.fold(text).strip() == NATIONAL:
        return None, None
    found = areas.from_key(text) if ":" in text else None
    candidates = [found] if found else areas.read(text, prefer_province=prefer_province)
    if not candidates:
        return _error("area_unknown", text=text)
    exact = [a for a in candidates if not a.old_name and vi.key(a.name) == vi.key(text)]
    candidates = exact or candidates  # "Xã Chi Lăng, Tỉnh Lạng Sơn" is the current unit
    names = "; ".join(a.name for a in candidates[:5])
    if len(candidates) > 1:
        return _error("area_ambiguous", text=text, choices=names)
    area = candidates[0]
    if area.old_name:
        now = ", ".join(f"{u.name}, {u.province_name}" for u in area.units[:5])
        return _error("area_old", text=text, old=area.old_name, choices=now)
    unit = area.units[0]
    return (unit.code, None) if area.is_province else (unit.province_code, unit.code)


def _check_areas(parsed: Parsed, prefer_province: str) -> list[str]:
    problems: list[str] = []
    for section, items in parsed.items.items():
        for index, item in enumerate(items):
            text = getattr(item, "area", None)
            if text is None:
                continue
            where = _where(section, index, {"key": item.key})
            codes = parsed.area_codes.get(text) or area_codes(text, prefer_province=prefer_province)
            if isinstance(codes, str):
                problems.append(f"{where} → area: {codes}")
                continue
            parsed.area_codes[text] = codes
            if isinstance(item, ZoneIn) and codes[1] is None:
                problems.append(f"{where} → area: {_error('area_commune')}")
    return problems


# --- writing -------------------------------------------------------------------------------


_start, _end = start_of, end_of


def _source_ids(session: Session) -> dict[str, int]:
    return {row.key: row.id for row in session.execute(select(Source.key, Source.id))}


def load(
    raw: dict[str, Any], *, session: Session, prefer_province: str, replace: bool = False
) -> Counter[str]:
    """Validate and store a content file in the caller's transaction; counts per section.

    Raises ContentError (nothing written) when anything in the file is wrong."""
    parsed = parse(raw, session=session, prefer_province=prefer_province)
    saved: Counter[str] = Counter()
    for item in parsed.items.get("sources", []):
        row = session.scalar(select(Source).where(Source.key == item.key)) or Source(key=item.key)
        for name in ("title", "number", "issuer", "issued_on", "url", "demo"):
            setattr(row, name, getattr(item, name))
        session.add(row)
        saved["sources"] += 1
    session.flush()
    sources = _source_ids(session)
    for item in parsed.items.get("situations", []):
        situation = session.get(Situation, item.level) or Situation(level=item.level)
        situation.name, situation.meaning = item.name, item.meaning
        situation.source_id = sources[item.source]
        session.add(situation)
        saved["situations"] += 1
    for position, item in enumerate(parsed.items.get("support_groups", [])):
        group = session.get(SupportGroup, item.key) or SupportGroup(key=item.key)
        group.label, group.position = item.label, position
        group.keywords = [vi.key(word) for word in item.keywords]
        session.add(group)
        saved["support_groups"] += 1
    session.flush()
    writers: dict[str, tuple[type[Any], Any]] = {
        "info": (InfoItem, _info),
        "hotlines": (Hotline, _hotline),
        "schemes": (SupportScheme, _scheme),
        "zones": (LockdownZone, _zone),
        "alert_levels": (AreaLevel, _level),
    }
    for section, (model, write) in writers.items():
        items = parsed.items.get(section)
        if items is None:
            continue
        existing = {row.key: row for row in session.scalars(select(model))}
        for position, item in enumerate(items):
            row = existing.get(item.key) or model(key=item.key)
            row.province_code, row.commune_code = parsed.area_codes[item.area]
            row.source_id = sources[item.source]
            if hasattr(row, "position"):
                row.position = position
            write(row, item)
            session.add(row)
            saved[section] += 1
        if replace:
            keys = {item.key for item in items}
            gone = [key for key in existing if key not in keys]
            if gone:
                session.execute(delete(model).where(model.key.in_(gone)))
                saved[f"-{section}"] += len(gone)
    session.flush()
    return saved


def _valid(row: Any, item: _Valid) -> None:
    row.valid_from = _start(item.effective_from)
    row.valid_until = _end(item.effective_until) if item.effective_until else None


def _info(row: InfoItem, item: InfoIn) -> None:
    _valid(row, item)
    row.topic, row.title, row.body = item.topic, item.title, item.body


def _hotline(row: Hotline, item: HotlineIn) -> None:
    _valid(row, item)
    row.number, row.name, row.note = item.number, item.name, item.note
    row.hours, row.confirmed = item.hours, item.confirmed


def _scheme(row: SupportScheme, item: SchemeIn) -> None:
    _valid(row, item)
    for name in ("title", "summary", "eligible", "amount", "how_to_apply", "where_to_apply"):
        setattr(row, name, getattr(item, name))
    row.legal_basis = item.legal_basis
    wanted = list(dict.fromkeys(item.groups))
    row.groups = [g for g in row.groups if g.group_key in wanted]
    have = {g.group_key for g in row.groups}
    row.groups += [SchemeGroup(group_key=key) for key in wanted if key not in have]


def _zone(row: LockdownZone, item: ZoneIn) -> None:
    row.name, row.kind, row.status = item.name, item.kind, item.status
    row.starts_at = _start(item.starts_at)
    row.ends_at = _end(item.ends_at) if item.ends_at else None
    row.decision, row.note = item.decision, item.note


def _level(row: AreaLevel, item: LevelIn) -> None:
    _valid(row, item)
    row.level, row.decision, row.note = item.level, item.decision, item.note


# --- export --------------------------------------------------------------------------------


_day = as_day


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

    def area(row: Any) -> str:
        codes = (row.province_code, row.commune_code)
        if codes not in names:
            names[codes] = _area_text(*codes, prefer_province)
        return names[codes]

    def valid(row: Any) -> dict[str, Any]:
        return {
            "effective_from": _day(row.valid_from),
            "effective_until": _day(row.valid_until, end=True),
        }

    def ordered(model: type[Any]) -> list[Any]:
        return list(session.scalars(select(model).order_by(model.position, model.id)))

    out: dict[str, Any] = {"version": FORMAT_VERSION}
    out["sources"] = [
        {
            "key": s.key,
            "title": s.title,
            "number": s.number,
            "issuer": s.issuer,
            "issued_on": s.issued_on,
            "url": s.url,
            "demo": s.demo,
        }
        for s in session.scalars(select(Source).order_by(Source.id))
    ]
    out["situations"] = [
        {"level": s.level, "name": s.name, "meaning": s.meaning, "source": s.source.key}
        for s in session.scalars(select(Situation).order_by(Situation.level))
    ]
    out["support_groups"] = [
        {"key": g.key, "label": g.label, "keywords": list(g.keywords)}
        for g in session.scalars(select(SupportGroup).order_by(SupportGroup.position))
    ]
    out["info"] = [
        {"key": i.key, "topic": i.topic, "area": area(i), "title": i.title, "body": i.body}
        | {"source": i.source.key}
        | valid(i)
        for i in ordered(InfoItem)
    ]
    out["hotlines"] = [
        {"key": h.key, "area": area(h), "number": h.number, "name": h.name, "note": h.note}
        | {"hours": h.hours, "confirmed": h.confirmed, "source": h.source.key}
        | valid(h)
        for h in ordered(Hotline)
    ]
    out["schemes"] = [
        {"key": s.key, "title": s.title, "summary": s.summary, "groups": s.group_keys}
        | {"eligible": s.eligible, "amount": s.amount, "how_to_apply": s.how_to_apply}
        | {"where_to_apply": s.where_to_apply, "legal_basis": s.legal_basis, "area": area(s)}
        | {"source": s.source.key}
        | valid(s)
        for s in ordered(SupportScheme)
    ]
    out["zones"] = [
        {"key": z.key, "area": area(z), "name": z.name, "kind": z.kind, "status": z.status}
        | {"starts_at": _day(z.starts_at), "ends_at": _day(z.ends_at, end=True)}
        | {"decision": z.decision, "note": z.note, "source": z.source.key}
        for z in session.scalars(select(LockdownZone).order_by(LockdownZone.id))
    ]
    out["alert_levels"] = [
        {"key": a.key, "area": area(a), "level": a.level, "decision": a.decision}
        | {"note": a.note, "source": a.source.key}
        | valid(a)
        for a in ordered(AreaLevel)
    ]
    return out


def to_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
