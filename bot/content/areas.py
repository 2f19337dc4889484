"""The area a person means: free text or a remembered key → current units, or choices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from bot import places
from bot import text as vi
from bot.places import Place

MAX_CHOICES = 5  # buttons offered for an ambiguous name (Zalo OA shows at most 5)
_LIMIT = 80  # matches read per name: an old district covers up to ~30 current communes


@dataclass(frozen=True)
class Area:
    """Current units a person's words name; ``old_name`` is set when they used a pre-2025 name."""

    key: str  # what to remember and what a button sends back: see ``bot.places.lookup``
    units: tuple[Place, ...]
    old_name: str | None = None
    said: str = ""  # the words of the message that named it

    @property
    def is_province(self) -> bool:
        return len(self.units) == 1 and self.units[0].level == "province"

    @property
    def province_codes(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(u.province_code for u in self.units))

    @property
    def commune_codes(self) -> tuple[int, ...]:
        return tuple(u.code for u in self.units if u.level == "commune")

    @property
    def name(self) -> str:
        """The name as people read it: the old name if they used one, else the unit's."""
        if self.old_name:
            return self.old_name
        unit = self.units[0]
        return unit.name if unit.level == "province" else f"{unit.name}, {unit.province_name}"


def from_key(key: str | None) -> Area | None:
    """The area a remembered key or a button names; None for a missing or unknown key."""
    if not key:
        return None
    try:
        units, old_name = places.lookup(key)
    except (KeyError, ValueError):
        return None
    return Area(key, units, old_name) if units else None


def _with_unit(said: str) -> bool:
    """Whether the words start with a unit word: "xã Chi Lăng", "tp Lạng Sơn"."""
    words = vi.words(said)
    return any(tuple(words[: len(unit)]) == unit for unit in places.unit_words())


def _clear(found: places.Resolution, text: str) -> bool:
    """A mention that is a place in any sentence: it has a unit word ("xã Đồng Đăng"), follows
    "ở", "tại"…, names a province, is written as a name, or is three words or longer. "la gi",
    "dong kinh" (động kinh: epilepsy) or "trung thu" are names too, but seldom meant so."""
    before = vi.words(text[: max(text.find(found.text), 0)])[-1:]
    provinces = all(m.place.level == "province" for m in found.matches)
    named = found.text.istitle()  # typed as a name: "Kỳ Lừa", "Đồng Đăng" (not "Trung thu")
    return (
        _with_unit(found.text)
        or bool(set(before) & places.before_place())  # ở, tại, thuộc, về… (words.yml)
        or provinces
        or named
        or len(vi.words(found.text)) >= 3
    )


Span = tuple[int, int]  # where a name stands in a text: its first word and the word after it


def _span(name: str, text_words: list[str], start: int = 0) -> Span | None:
    """Where the folded words of ``name`` first stand in ``text_words`` from ``start``."""
    want = vi.words(name)
    for i in range(start, len(text_words) - len(want) + 1):
        if want and text_words[i : i + len(want)] == want:
            return i, i + len(want)
    return None


def _spans(found: list[places.Resolution], text_words: list[str]) -> list[Span | None]:
    """Where each mention of ``find_places`` stands: they come in order and never overlap."""
    spans: list[Span | None] = []
    start = 0
    for mention in found:
        span = _span(mention.text, text_words, start)
        spans.append(span)
        start = span[1] if span else start
    return spans


def _destination_first(spans: list[Span | None], text_words: list[str]) -> list[int]:
    """The order to read names in (indexes of ``spans``): travel ("từ Hà Nội về Lạng Sơn", "Hà
    Nội đi Lạng Sơn", "về Lạng Sơn từ Hà Nội") is asked about where the person goes — its
    rules, its checkpoints — not where they leave, so a name after "về", "đến", "đi"… comes
    first and a name after "từ" last (``towards``, ``leaving`` in words.yml)."""

    def role(n: int) -> int:
        span = spans[n]
        before = text_words[span[0] - 1] if span and span[0] else None
        return 0 if before in places.towards() else 2 if before in places.leaving() else 1

    return sorted(range(len(spans)), key=lambda n: (role(n), n))


def _widened(typed: list[str], text: str, province: str) -> list[str]:
    """The NLU's place words, each widened to the whole name written around it, travel's
    destination first.

    Rasa tags part of a name: "Đắk Lắk" in "xã xuân cảnh Đắk Lắk", "Cao Lộc" in "huyện Cao
    Lộc", even "Cẩm" in "Cẩm Thủy, Thanh Hóa". Read alone those name a province or several
    places; the name as written — its unit word, the commune before its province — says which
    one (the most specific place wins). Words found in no name of the text stay as typed."""
    text_words = vi.words(text)
    found = places.find_places(text, prefer_province=province, max_places=len(typed) + 5)
    spans = _spans(found, text_words)
    names: list[str] = []
    where: list[Span | None] = []
    for words in typed:
        span = _span(words, text_words)
        name, place = words, span
        for mention, around in zip(found, spans, strict=True):
            if span and around and around[0] <= span[0] and span[1] <= around[1]:
                name, place = mention.text, around
                break
        if name not in names:
            names.append(name)
            where.append(place)
    return [names[n] for n in _destination_first(where, text_words)]


def read(text: str, *, prefer_province: str, strict: bool = False) -> list[Area]:
    """What the first place name in ``text`` may mean, best first; [] when it names none.

    One name may mean several places (ambiguous: ask with buttons), and one old name may cover
    several current units (one area). ``strict``: ``text`` is a sentence about something else,
    so only clear mentions count (see ``_clear``)."""
    mentions = places.find_places(text, prefer_province=prefer_province, max_places=5)
    text_words = vi.words(text)
    spans = _spans(mentions, text_words)
    for found in (mentions[n] for n in _destination_first(spans, text_words)):
        if strict and not _clear(found, text):
            continue
        resolution = places.resolve(found.text, prefer_province=prefer_province, limit=_LIMIT)
        matches = resolution.matches or found.matches
        groups: dict[str, list[Place]] = {}
        old_names: dict[str, str | None] = {}
        for match in matches:
            groups.setdefault(match.key, []).append(match.place)
            old_names[match.key] = match.via
        return [
            Area(key, tuple(units), old_names[key], found.text) for key, units in groups.items()
        ]
    return []


@cache
def province_area(name: str) -> Area | None:
    """The deployment's province as an area (the fallback for province-wide answers)."""
    for area in read(name, prefer_province=name):
        if area.is_province:
            return area
    return None


@dataclass(frozen=True)
class Reading:
    """What to do with a name: answer for ``area``, and/or offer ``choices`` as buttons."""

    area: Area | None
    choices: tuple[Area, ...]


def pick(candidates: list[Area], *, home_province: int | None) -> Reading:
    """One reading of a name when it is clear enough, else the choices to ask about.

    A name with one meaning is that. A name with exactly one meaning inside the province Loa
    serves is taken to mean it (people ask about where they live), and the others are offered
    too; so is the one current unit a unit word names (``_current_of_unit``). Several meanings
    at home, or none at home and several elsewhere, are asked about, home ones first."""
    if len(candidates) == 1:
        return Reading(candidates[0], ())
    home = [a for a in candidates if home_province in a.province_codes]
    chosen = home if len(home) == 1 else _current_of_unit(candidates, home)
    if len(chosen) == 1:
        others = tuple(a for a in candidates if a is not chosen[0])
        return Reading(chosen[0], others[: MAX_CHOICES - 1])
    ordered = home + [a for a in candidates if a not in home]
    return Reading(None, tuple(ordered[:MAX_CHOICES]))


def _current_of_unit(candidates: list[Area], home: list[Area]) -> list[Area]:
    """With a unit word, the current unit of that name among old ones of the same type.

    "xã Chi Lăng" today is the xã Chi Lăng that exists, not the old xã Chi Lăng of Tràng Định
    (now Thất Khê), which people name with its district. This holds at home, or where every
    reading lies in one province ("xã Quang Trung, Cao Bằng"); across provinces a unit word
    says nothing about which one. The unit word already kept only units of its type
    (``mentions.of_unit``): "huyện Cao Lộc" is the old district alone."""
    if not _with_unit(candidates[0].said):
        return []
    one_province = len({code for a in candidates for code in a.province_codes}) == 1
    pool = home or (candidates if one_province else [])
    return [a for a in pool if a.old_name is None]


@dataclass(frozen=True)
class Asked:
    """What a person's message said about a place."""

    area: Area | None  # the place to answer for (said now, or remembered)
    choices: tuple[Area, ...]  # other meanings to offer as buttons
    typed: str | None  # the place words as typed, when they named something
    unknown: bool  # place words were given that name nothing Loa knows
    said_now: bool  # the area came from this message (not from memory)


NOTHING = Asked(None, (), None, unknown=False, said_now=False)


def understand(
    text: str,
    *,
    province: str,
    typed: Sequence[str] = (),
    pressed: str | None = None,
    alone: bool = False,
    remembered: str | None = None,
) -> Asked:
    """The place a message means, in order: a pressed button's key, the place words the NLU
    found (``typed``, each widened to the whole name written around it: ``_widened``) or a
    place named in ``text``, then the ``remembered`` key. Of several names, the place
    travelled to comes first (``_destination_first``).

    ``alone``: the whole message is a place (intent ``inform_place``); in any other sentence
    only clear mentions count ("la gi" is a town, and also "là gì"), or a lower-case name that
    is a place in the ``province`` Loa serves ("tam thanh co phong toa ko")."""
    if pressed and (area := from_key(pressed)):
        return Asked(area, (), area.name, unknown=False, said_now=True)
    home = province_area(province)
    home_province = home.units[0].code if home else None
    said_typed = [t for t in typed if t.strip()]
    text = text[: places.MAX_TEXT_LENGTH]
    named = _widened(said_typed[:5], text, province) if said_typed else []
    attempts = [*((t, False) for t in named), (text, not alone)]
    if not alone:
        attempts.append((text, False))
    for n, (words, strict) in enumerate(attempts):
        candidates = read(words, prefer_province=province, strict=strict)
        if n == len(attempts) - 1 and not alone:
            candidates = [a for a in candidates if home_province in a.province_codes]
        if candidates:
            reading = pick(candidates, home_province=home_province)
            said = candidates[0].said or words
            return Asked(reading.area, reading.choices, said, unknown=False, said_now=True)
    if said_typed:  # place words that name nothing Loa knows: not the remembered place either
        return Asked(None, (), said_typed[0], unknown=True, said_now=False)
    return Asked(from_key(remembered), (), None, unknown=False, said_now=False)
