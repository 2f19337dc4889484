"""Place names in a text, each with its readings ranked: ``resolve`` and ``find_places``."""

from __future__ import annotations

from functools import cache

from bot.places.index import COMMUNE, DISTRICT, PROVINCE, Entry, Index, base, load_index, name_key
from bot.places.mentions import mention_at
from bot.places.model import Match, Resolution
from bot.places.tokens import tokenize
from bot.places.words import fillers
from bot.text import normalize

_LEVEL_ORDER = {PROVINCE: 0, COMMUNE: 1, DISTRICT: 2}  # old wards before old districts


def _matches(
    ix: Index, entries: list[Entry], unit: str | None, prefer: int | None, limit: int
) -> tuple[Match, ...]:
    if unit in (None, "tinh", "thanh pho") and any(e.level == PROVINCE for e in entries):
        # A province name means the province, not its old capital; a commune of the same
        # name in the preferred province still counts ("Thái Bình": the old province, or
        # the xã in Lạng Sơn).
        entries = [
            e
            for e in entries
            if e.level == PROVINCE
            or (unit is None and e.current and e.places[0].province_code == prefer)
        ]
    ranked = sorted(
        (
            (
                not e.current,
                place.province_code != prefer,
                ix.province_keys[place.province_code],
                _LEVEL_ORDER[e.level],
                position,
                n,
            ),
            Match(place, e.via, e.partial, e.origin),
        )
        for position, e in enumerate(entries)
        for n, place in enumerate(e.places)
    )
    seen: set[tuple[str, int]] = set()
    matches: list[Match] = []
    for _, match in ranked:
        key = (match.place.level, match.place.code)
        if key not in seen and len(matches) < limit:
            seen.add(key)
            matches.append(match)
    return tuple(matches)


@cache
def _preferred(name: str) -> int | None:
    found = load_index().names.get(name_key(base(normalize(name))), ())
    codes = {e.places[0].code for e in found if e.level == PROVINCE and e.current}
    return codes.pop() if len(codes) == 1 else None


def resolve(text: str, *, prefer_province: str = "Lạng Sơn", limit: int = 8) -> Resolution:
    """What the first place name in ``text`` may mean, current units first; empty if none."""
    found = _scan(text, prefer_province, limit, max_places=1, bare=True)
    return Resolution(text, found[0].matches if found else ())


def find_places(
    text: str, *, prefer_province: str = "Lạng Sơn", max_places: int = 5
) -> list[Resolution]:
    """Place names in a free sentence, in order, longest name first, at most ``max_places``."""
    return _scan(text, prefer_province, 8, max_places=max_places, bare=False)


def _scan(
    text: str, prefer_province: str, limit: int, *, max_places: int, bare: bool
) -> list[Resolution]:
    ix = load_index()
    prefer = _preferred(prefer_province)
    text, tokens = tokenize(text)
    found: list[Resolution] = []
    seen: set[tuple[Match, ...]] = set()
    # resolve() reads a name at the start (after "ở", "tại") more freely: see mentions._lookup.
    start = next((n for n, t in enumerate(tokens) if t.folded not in fillers()), 0)
    i = 0
    while i < len(tokens) and len(found) < max_places:
        mention = mention_at(ix, tokens, i, bare=bare and i == start)
        if mention is None:
            i += 1
            continue
        end, entries, unit = mention
        matches = _matches(ix, entries, unit, prefer, limit)
        if matches and matches not in seen:
            seen.add(matches)
            found.append(Resolution(text[tokens[i].start : tokens[end - 1].end], matches))
        i = end
    return found
