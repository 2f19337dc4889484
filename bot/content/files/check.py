"""Validating a whole content file: shapes, keys, dates, references and areas."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import text as vi
from bot import wording
from bot.alerts import templates
from bot.clock import end_of, start_of
from bot.content import areas
from bot.content.files.problems import ContentError, describe, where
from bot.content.files.schema import (
    FORMAT_VERSION,
    SECTIONS,
    LevelIn,
    LevelSchemeIn,
    Parsed,
    QuestionIn,
    SchemeIn,
    When,
    ZoneIn,
)
from bot.settings import SEED_SCHEME
from bot.storage.content import LIFTED, Situation, Source, SupportGroup
from bot.storage.schemes import WEEKLY, SchemeLevel

NATIONAL = "toan quoc"  # the folded area name for the whole country

_error = wording.error


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
                    problem = f"{where(section, index, entry, loc)}: {describe(err)}"
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
    keys = Counter(str(getattr(item, item.identity)) for _, item in good)
    for key, count in keys.items():
        if count > 1:
            problems.append(f"{section}: {_error('duplicate_key', key=key)}")
    for index, item in good:
        label = where(section, index, raw[index])
        start, until = _span(item)
        if start is not None and until is not None and end_of(until) <= start_of(start):
            problems.append(f"{label}: {_error('dates_inverted', start=start, until=until)}")
        if isinstance(item, ZoneIn) and item.status == LIFTED and item.ends_at is None:
            problems.append(f"{label}: {_error('lifted_without_end')}")
        if isinstance(item, LevelSchemeIn):
            problems += [f"{label} → {problem}" for problem in _scheme_problems(item)]
    return problems + _check_questions(good, raw)


def _scheme_problems(scheme: LevelSchemeIn) -> list[str]:
    """A scheme's levels: numbered once each, a cadence that adds up, templates that fill."""
    problems: list[str] = []
    numbers = Counter(level.level for level in scheme.levels)
    problems += [_error("duplicate_key", key=n) for n, count in numbers.items() if count > 1]
    named = {
        "zone_template": scheme.zone_template,
        "zone_lifted_template": scheme.zone_lifted_template,
    }
    for level in scheme.levels:
        if (level.cadence == WEEKLY) != (level.per_week is not None):
            problems.append(f"levels.{level.level}: {_error('scheme_per_week')}")
        named[f"levels.{level.level}.template"] = level.template
    for name, template in named.items():
        found = templates.problem(template)
        if found is not None:
            problems.append(f"{name}: {templates.error_text(found[0], **found[1])}")
    return problems


def _check_questions(good: list[tuple[int, Any]], raw: list[Any]) -> list[str]:
    """A phrasing belongs to one bank entry: the same question (as matched: folded, with
    abbreviations expanded) in two entries would make the answer a coin toss."""
    problems: list[str] = []
    owner: dict[str, str] = {}
    for index, item in good:
        if not isinstance(item, QuestionIn):
            continue
        for question in item.questions:
            other = owner.setdefault(vi.key(question), item.key)
            if other != item.key:
                where_ = where("questions", index, raw[index])
                problem = _error("duplicate_question", question=question, other=other)
                problems.append(f"{where_}: {problem}")
    return problems


def _span(item: Any) -> tuple[When | None, When | None]:
    if item.span is None:
        return None, None
    start, until = item.span
    return getattr(item, start), getattr(item, until)


def _check_references(parsed: Parsed, session: Session) -> list[str]:
    problems: list[str] = []
    sources = {s.key for s in parsed.items.get("sources", [])}
    sources |= set(session.scalars(select(Source.key)))
    groups = {g.key for g in parsed.items.get("support_groups", [])}
    groups |= set(session.scalars(select(SupportGroup.key)))
    situations = {s.level for s in parsed.items.get("situations", [])}
    situations |= set(session.scalars(select(Situation.level)))
    levels = _scheme_levels(parsed, session)
    levels.setdefault(SEED_SCHEME, situations)  # the seed plan's situations, before any scheme
    for section, items in parsed.items.items():
        for index, item in enumerate(items):
            label = where(section, index, {"key": getattr(item, "key", None)})
            source = getattr(item, "source", None)
            if source is not None and source not in sources:
                problems.append(f"{label}: {_error('unknown_source', key=source)}")
            for group in item.groups if isinstance(item, SchemeIn) else []:
                if group not in groups:
                    problems.append(f"{label}: {_error('unknown_group', key=group)}")
            if isinstance(item, LevelIn) and item.scheme not in levels:
                problems.append(f"{label}: {_error('unknown_scheme', key=item.scheme)}")
            elif isinstance(item, LevelIn) and item.level not in levels[item.scheme]:
                problems.append(f"{label}: {_error('unknown_level', level=item.level)}")
            if isinstance(item, LevelSchemeIn):
                for level in item.levels:
                    if (level.name is None or level.meaning is None) and level.level not in (
                        situations
                    ):
                        problem = _error("scheme_level_unnamed", level=level.level)
                        problems.append(f"{label} → levels.{level.level}: {problem}")
    return problems


def _scheme_levels(parsed: Parsed, session: Session) -> dict[str, set[int]]:
    """The levels of every scheme: the file's schemes replace the stored ones."""
    levels: dict[str, set[int]] = {}
    for key, number in session.execute(select(SchemeLevel.scheme_key, SchemeLevel.level)):
        levels.setdefault(key, set()).add(number)
    for scheme in parsed.items.get("alert_schemes", []):
        levels[scheme.key] = {level.level for level in scheme.levels}
    return levels


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
            label = where(section, index, {"key": item.key})
            codes = parsed.area_codes.get(text) or area_codes(text, prefer_province=prefer_province)
            if isinstance(codes, str):
                problems.append(f"{label} → area: {codes}")
                continue
            parsed.area_codes[text] = codes
            if isinstance(item, ZoneIn) and codes[1] is None:
                problems.append(f"{label} → area: {_error('area_commune')}")
    return problems
