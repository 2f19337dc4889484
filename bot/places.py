"""Place names in chat (new, old, abbreviated, unaccented) → current 2025 units of Viet Nam."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from pathlib import Path

import yaml
from vietnam_provinces import Province, Ward, legacy

# A private module of the package (hence the exact pin in pyproject.toml): the official
# old→new ward conversion table of 1 July 2025, keyed by the OLD ward code.
from vietnam_provinces._ward_conversion_2025 import OLD_TO_NEW

from bot.text import fold, normalize, words

# Only this much of a text is read: one Telegram message
# (https://core.telegram.org/bots/api#sendmessage). Web chat accepts 20 000 characters; a
# place named after the first 4096 is not looked for, so a scan stays bounded.
MAX_TEXT_LENGTH = 4096

_PROVINCE, _DISTRICT, _COMMUNE = 0, 1, 2  # level of the unit an entry names
_LEVEL_ORDER = {_PROVINCE: 0, _COMMUNE: 1, _DISTRICT: 2}  # old wards before old districts

# Unit words as folded tokens → the folded division type they name.
UNIT_WORDS: dict[tuple[str, ...], str] = {
    ("phuong",): "phuong", ("p",): "phuong", ("ph",): "phuong",
    ("xa",): "xa", ("x",): "xa",
    ("thi", "tran"): "thi tran", ("tt",): "thi tran",
    ("thi", "xa"): "thi xa", ("tx",): "thi xa",
    ("quan",): "quan", ("q",): "quan",
    ("huyen",): "huyen", ("h",): "huyen",
    ("thanh", "pho"): "thanh pho", ("tp",): "thanh pho",
    ("tinh",): "tinh", ("t",): "tinh",
    ("dac", "khu"): "dac khu",
}  # fmt: skip

# Other names people use for a province (old or current), → the name the data uses.
ALIASES: dict[str, str] = {
    "HN": "Hà Nội", "Hanoi": "Hà Nội",
    "SG": "Hồ Chí Minh", "Sài Gòn": "Hồ Chí Minh", "Saigon": "Hồ Chí Minh",
    "HCM": "Hồ Chí Minh", "TPHCM": "Hồ Chí Minh", "HCMC": "Hồ Chí Minh",
    "ĐN": "Đà Nẵng", "Danang": "Đà Nẵng",
    "Thừa Thiên Huế": "Huế", "TTH": "Huế",
    "BRVT": "Bà Rịa - Vũng Tàu",
}  # fmt: skip

# Names that are everyday words ("đăng ký thành công", "cần đoàn kết"): in a sentence they
# need a unit word ("xã Đoàn Kết"); alone, or with a qualifier, they are names.
EVERYDAY_NAMES = frozenset(
    {
        "an binh", "an khang", "an lac", "an toan", "binh an", "binh minh", "binh yen",
        "chien thang", "cong hoa", "dai dong", "dan chu", "doan ket", "doc lap", "dong tam",
        "hanh phuc", "hoa hop", "hoa thuan", "hung thinh", "khang chien", "nhan nghia",
        "phuc loi", "quoc khanh", "quyet thang", "quyet tien", "thang loi", "thanh binh",
        "thanh cong", "thinh vuong", "thong nhat", "thuan loi", "tien bo", "tien loi",
        "tien phong", "tu do", "van minh", "yen binh",
    }
)  # fmt: skip
_FILLERS = frozenset({"o", "tai", "thuoc"})  # "ở/tại/thuộc" between a name and its qualifier
_PREFIX = re.compile(r"^(xã|phường|thị trấn|thị xã|đặc khu|huyện|quận|thành phố|tỉnh)\s+", re.I)
_TOKEN = re.compile(r"[^\W_]+")  # the word rule of bot.text.words, with positions
_JOINING = re.compile(r"[ \t\-'’]*")  # what may stand between the words of one name
_UNIT_NUMBER = re.compile(r"(p|ph|q|x|h|tt|tx)(\d+)")  # "q1", "p5"
_NUMBERED = re.compile(r"\d+|[ivx]+")  # "Phường 5", "Phường VII": only with a unit word


@dataclass(frozen=True)
class Place:
    """A current unit: a province, or a commune-level unit (xã, phường, đặc khu)."""

    code: int
    name: str
    level: str  # "province" or "commune"
    province_code: int
    province_name: str


@dataclass(frozen=True)
class Match:
    """A current place the text may mean; ``via`` names the old unit the text named, if any."""

    place: Place
    via: str | None
    partial: bool = False  # the old unit was split and this is one of its parts
    origin: str | None = None  # key of the old unit named (see ``lookup``), None if current

    @property
    def key(self) -> str:
        """What names this reading again: the old unit's key, or the current unit's."""
        return self.origin or place_key(self.place)


@dataclass(frozen=True)
class Resolution:
    """What a piece of text may name, best first; no matches means unknown."""

    text: str
    matches: tuple[Match, ...]

    @property
    def ambiguous(self) -> bool:
        return len({(m.place.level, m.place.code) for m in self.matches}) > 1


@dataclass(frozen=True)
class _Entry:
    current: bool
    level: int
    unit: str  # folded division type: "xa", "phuong", "thanh pho", ...
    accented: str  # lower-case name words with marks, to prefer exact spelling
    places: tuple[Place, ...]
    via: str | None
    partial: bool
    context: frozenset[tuple[str, int]]  # ("p"|"lp"|"ld", code): what a qualifier may name
    qualifier: tuple[str, int] | None  # what this unit means as a qualifier
    origin: str | None  # "ow:<code>", "od:<code>", "op:<code>": the old unit, by its old code


@dataclass(frozen=True)
class _Index:
    names: dict[str, tuple[_Entry, ...]]
    origins: dict[str, _Entry]
    communes: dict[int, Place]
    provinces: dict[int, Place]
    by_province: dict[int, list[Place]]
    province_keys: dict[int, str]
    longest: int


def _base(name: str) -> str:
    return _PREFIX.sub("", name)


def _key(name: str) -> str:
    return " ".join(words(name))


def _accented(name: str) -> str:
    return " ".join(_TOKEN.findall(normalize(name).lower()))


@cache
def _unit(division_type: str) -> str:
    return "thanh pho" if division_type.startswith("thành phố") else fold(division_type)


@cache
def _labels() -> dict[str, object]:
    """How old units are named to people (bot/places.yml: words live in data)."""
    loaded: dict[str, object] = yaml.safe_load(
        (Path(__file__).with_name("places.yml")).read_text(encoding="utf-8")
    )
    return loaded


def _label(kind: str, **values: str) -> str:
    return str(_labels()[kind]).format(**values)


def _district_label(name: str) -> str:
    short_forms = _labels()["short_forms"]
    assert isinstance(short_forms, dict)
    for long, short in short_forms.items():
        if name.startswith(long):
            return str(short) + name[len(long) :]
    return name


@cache
def _index() -> _Index:
    """Every current and old unit under its folded name; built once, on first use."""
    provinces: dict[int, Place] = {}
    entries: list[tuple[str, _Entry]] = []

    spellings: dict[str, tuple[str, str]] = {}  # many old names repeat ("Phường 1")

    def spelled(name: str) -> tuple[str, str]:
        if name not in spellings:
            spellings[name] = (_key(_base(name)), _accented(_base(name)))
        return spellings[name]

    def add(
        name: str,
        level: int,
        unit: str,
        places: tuple[Place, ...],
        via: str | None,
        partial: bool,
        context: set[tuple[str, int]],
        qualifier: tuple[str, int] | None = None,
        origin: str | None = None,
    ) -> None:
        key, accented = spelled(name)
        entry = _Entry(
            via is None,
            level,
            unit,
            accented,
            places,
            via,
            partial,
            frozenset(context),
            qualifier,
            origin,
        )
        entries.append((key, entry))

    for p in Province.iter_all():
        provinces[p.code.value] = Place(p.code.value, p.name, "province", p.code.value, p.name)
    communes: dict[int, Place] = {}
    commune_units: dict[int, str] = {}
    by_province: dict[int, list[Place]] = {code: [] for code in provinces}
    for w in Ward.iter_all():
        province = provinces[w.province_code.value]
        name = w.name[:1].upper() + w.name[1:]  # one unit is spelled "xã Bắc Sơn"
        place = Place(w.code.value, name, "commune", province.code, province.name)
        communes[place.code] = place
        commune_units[place.code] = _unit(w.division_type)
        by_province[province.code].append(place)

    # Old wards → new wards. Old and new codes share one number range with different meanings:
    # old codes stay inside this function.
    old_provinces = {p.code.value: p for p in legacy.Province.iter_all()}
    old_districts = {d.code.value: d for d in legacy.District.iter_all()}
    district_counts: dict[str, int] = {}
    for d in old_districts.values():
        district_counts[d.name] = district_counts.get(d.name, 0) + 1
    sources: dict[int, set[tuple[str, int]]] = {}  # new ward → ("ld"/"lp", old code)
    district_places: dict[int, dict[int, Place]] = {code: {} for code in old_districts}
    district_partial: set[int] = set()
    province_places: dict[int, set[int]] = {code: set() for code in old_provinces}
    for old_ward in legacy.Ward.iter_all():
        conversion = OLD_TO_NEW.get(old_ward.code.value)
        if conversion is None:  # 28 old wards have no row in the official table
            continue
        d = old_districts[old_ward.district_code.value]
        # The old province comes from the old district: the table's own province_code is wrong
        # for a few rows (e.g. old ward 27691 of Tân An is filed under Tiền Giang).
        origin = {("ld", d.code.value), ("lp", d.province_code.value)}
        targets = tuple(communes[new.code] for new in conversion.new_wards)
        for place in targets:
            sources.setdefault(place.code, set()).update(origin)
            district_places[d.code.value].setdefault(place.code, place)
            province_places[d.province_code.value].add(place.province_code)
        if conversion.old_ward.is_partly_merged:
            district_partial.add(d.code.value)
        label = _district_label(d.name)
        if district_counts[d.name] > 1:
            old_name = _base(old_provinces[d.province_code.value].name)
            label = _label("district_in", district=label, province=old_name)
        partial = conversion.old_ward.is_partly_merged
        context = origin | {("p", t.province_code) for t in targets}
        add(
            old_ward.name,
            _COMMUNE,
            _unit(old_ward.division_type),
            targets,
            _label("old_ward", name=old_ward.name, district=label),
            partial,
            context,
            origin=f"ow:{old_ward.code.value}",
        )

    for code, d in old_districts.items():
        targets = tuple(district_places[code].values())
        old_province = old_provinces[d.province_code.value]
        via = (
            _label("old_district_in", name=d.name, province=_base(old_province.name))
            if district_counts[d.name] > 1
            else _label("old_district", name=d.name)
        )
        context = {("ld", code), ("lp", old_province.code.value)}
        context |= {("p", t.province_code) for t in targets}
        if targets:
            add(
                d.name,
                _DISTRICT,
                _unit(d.division_type),
                targets,
                via,
                len(targets) > 1 or code in district_partial,
                context,
                ("ld", code),
                f"od:{code}",
            )
    province_sources: dict[int, set[int]] = {}
    for code, old in old_provinces.items():
        targets = tuple(provinces[new] for new in sorted(province_places[code]))
        for t in targets:
            province_sources.setdefault(t.code, set()).add(code)
        context = {("lp", code)} | {("p", t.code) for t in targets}
        if targets:
            add(
                old.name,
                _PROVINCE,
                _unit(old.division_type),
                targets,
                _label("old_province", name=old.name),
                len(targets) > 1,
                context,
                ("lp", code),
                f"op:{code}",
            )

    for place in communes.values():
        context = {("p", place.province_code)} | sources.get(place.code, set())
        add(place.name, _COMMUNE, commune_units[place.code], (place,), None, False, context)
    for p in Province.iter_all():
        code = p.code.value
        context = {("p", code)} | {("lp", old) for old in province_sources.get(code, ())}
        add(
            p.name,
            _PROVINCE,
            _unit(p.division_type),
            (provinces[code],),
            None,
            False,
            context,
            ("p", code),
        )

    names: dict[str, list[_Entry]] = {}
    for key, e in entries:
        names.setdefault(key, []).append(e)
    for alias, target in ALIASES.items():
        for e in tuple(names[_key(target)]):
            if e.level == _PROVINCE:
                names.setdefault(_key(alias), []).append(replace(e, accented=_accented(alias)))
    return _Index(
        names={key: tuple(group) for key, group in names.items()},
        origins={e.origin: e for _, e in entries if e.origin},
        communes=communes,
        provinces=provinces,
        by_province=by_province,
        province_keys={code: _key(_base(p.name)) for code, p in provinces.items()},
        longest=max(key.count(" ") + 1 for key in names),
    )


# --- Reading text -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    folded: str
    accented: str
    start: int
    end: int
    joined: bool  # only spaces, hyphens or apostrophes since the last word: a name may go on


_fold_word = lru_cache(maxsize=16_384)(fold)  # chat repeats its words; folding is the cost


def _tokens(text: str) -> tuple[str, list[_Token]]:
    text = normalize(text[:MAX_TEXT_LENGTH])
    tokens: list[_Token] = []
    last = 0
    for m in _TOKEN.finditer(text):
        accented = m.group().lower()
        folded = _fold_word(accented)
        joined = _JOINING.fullmatch(text[last : m.start()]) is not None
        last = m.end()
        split = _UNIT_NUMBER.fullmatch(folded)
        if split:  # "q1" → "q" "1"
            for part in split.groups():
                tokens.append(_Token(part, part, m.start(), m.end(), joined))
        else:
            tokens.append(_Token(folded, accented, m.start(), m.end(), joined))
    return text, tokens


def _unit_at(tokens: list[_Token], i: int) -> tuple[str | None, int]:
    for size in (2, 1):
        unit = UNIT_WORDS.get(tuple(t.folded for t in tokens[i : i + size]))
        if unit and i + size <= len(tokens):
            return unit, i + size
    return None, i


def _lookup(
    ix: _Index, tokens: list[_Token], i: int, unit: str | None, *, bare: bool, qualifier: bool
) -> tuple[int, list[_Entry], bool] | None:
    """The longest name at ``tokens[i:]``: its end, its entries narrowed by spelling, and
    whether it holds only as the whole text (a one-word or everyday-word name, no unit word)."""
    last = i + 1  # a name ends at a comma or other punctuation ("Chi Lăng, Bắc Ninh")
    while last < min(len(tokens), i + ix.longest) and tokens[last].joined:
        last += 1
    for end in range(last, i, -1):
        key = " ".join(t.folded for t in tokens[i:end])
        found = ix.names.get(key)
        if not found:
            continue
        entries = [e for e in found if not qualifier or e.qualifier]
        weak = False
        if _NUMBERED.fullmatch(key):  # "5" alone names nothing; "quận 13" is not "phường 13"
            entries = [e for e in entries if e.unit == unit]
        elif unit is None and not qualifier and (end - i == 1 or key in EVERYDAY_NAMES):
            if not bare:
                entries = [e for e in entries if e.level == _PROVINCE]
            weak = not any(e.level == _PROVINCE for e in entries)
        accented = " ".join(t.accented for t in tokens[i:end])
        if accented != key:
            # Typed with marks: keep the names spelled so ("Tân Thanh" is not "Tân Thành"), else
            # those that agree on each marked word ("Lang Sơn"); "là gì" is not "La Gi". A
            # whole text of two words or more may have one wrong mark ("Lạng Sớn").
            typed = [t.accented if t.accented != t.folded else None for t in tokens[i:end]]
            exact = [e for e in entries if e.accented == accented]
            agree = [e for e in entries if _wrong_marks(typed, e.accented) == 0]
            near = [
                e for e in entries if bare and end - i > 1 and _wrong_marks(typed, e.accented) < 2
            ]
            entries = exact or agree or near
        else:
            entries.sort(key=lambda e: e.accented != accented)  # unmarked names first
        if entries:
            return end, entries, weak
    return None


def _wrong_marks(typed: list[str | None], spelled: str) -> int:
    names = spelled.split()
    return sum(word is not None and word != name for word, name in zip(typed, names, strict=True))


def _of_unit(entries: list[_Entry], unit: str | None) -> list[_Entry]:
    # "xã" and "phường" are used loosely: a unit word that fits nothing is ignored.
    return [e for e in entries if e.unit == unit] or entries


def _name_at(
    ix: _Index, tokens: list[_Token], i: int, *, bare: bool, qualifier: bool
) -> tuple[int, list[_Entry], str | None, bool] | None:
    """A name at ``tokens[i:]``, after a unit word if there is one that fits."""
    unit, j = _unit_at(tokens, i)
    if unit and (found := _lookup(ix, tokens, j, unit, bare=bare, qualifier=qualifier)):
        return found[0], found[1], unit, found[2]
    if found := _lookup(ix, tokens, i, None, bare=bare, qualifier=qualifier):
        return found[0], found[1], None, found[2]
    return None


def _qualifier_at(ix: _Index, tokens: list[_Token], i: int) -> tuple[int, set[tuple[str, int]]]:
    while i < len(tokens) and tokens[i].folded in _FILLERS:
        i += 1
    found = _name_at(ix, tokens, i, bare=False, qualifier=True)
    if not found:
        return i, set()
    end, entries, unit, _ = found
    return end, {e.qualifier for e in _of_unit(entries, unit) if e.qualifier}


def _mention_at(
    ix: _Index, tokens: list[_Token], i: int, *, bare: bool
) -> tuple[int, list[_Entry], str | None] | None:
    """A place name starting at ``tokens[i]``, with its unit word and trailing qualifiers."""
    found = _name_at(ix, tokens, i, bare=bare, qualifier=False)
    if not found:
        return None
    end, entries, unit, weak = found
    # "Chi Lăng, Lạng Sơn", "p5 q3 tphcm", "xã X, huyện Y, tỉnh Z": each must keep something.
    for _ in range(3):
        if end == len(tokens):
            break
        after, keys = _qualifier_at(ix, tokens, end)
        narrowed = [e for e in entries if e.context & keys]
        if not narrowed:
            break
        end, entries = after, narrowed
    if weak and end < len(tokens):
        return None
    return end, _of_unit(entries, unit), unit


def _matches(
    ix: _Index, entries: list[_Entry], unit: str | None, prefer: int | None, limit: int
) -> tuple[Match, ...]:
    if unit in (None, "tinh", "thanh pho") and any(e.level == _PROVINCE for e in entries):
        # A province name means the province, not its old capital; a commune of the same
        # name in the preferred province still counts ("Thái Bình": the old province, or
        # the xã in Lạng Sơn).
        entries = [
            e
            for e in entries
            if e.level == _PROVINCE
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
    found = _index().names.get(_key(_base(normalize(name))), ())
    codes = {e.places[0].code for e in found if e.level == _PROVINCE and e.current}
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
    ix = _index()
    prefer = _preferred(prefer_province)
    text, tokens = _tokens(text)
    found: list[Resolution] = []
    seen: set[tuple[Match, ...]] = set()
    # resolve() reads a name at the start (after "ở", "tại") more freely: see _lookup.
    start = next((n for n, t in enumerate(tokens) if t.folded not in _FILLERS), 0)
    i = 0
    while i < len(tokens) and len(found) < max_places:
        mention = _mention_at(ix, tokens, i, bare=bare and i == start)
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


def get(code: int, *, level: str = "commune") -> Place:
    """The current unit with this code; ``level="province"`` for a province. KeyError if none."""
    ix = _index()
    return (ix.provinces if level == "province" else ix.communes)[code]


def units_in(province_code: int) -> list[Place]:
    """The current communes of a province, by code. KeyError for an unknown province."""
    return list(_index().by_province[province_code])


def place_key(place: Place) -> str:
    """``"p:<code>"`` for a province, ``"c:<code>"`` for a commune: see ``lookup``."""
    return f"{'p' if place.level == 'province' else 'c'}:{place.code}"


def lookup(key: str) -> tuple[tuple[Place, ...], str | None]:
    """The current units a key names and the old unit's label (None for a current unit).

    Keys are short and stable (a button payload, a remembered slot): ``p:<code>`` and
    ``c:<code>`` for current units, ``op:``/``od:``/``ow:`` + the old province/district/ward
    code for pre-2025 units. KeyError for an unknown key."""
    kind, _, code = key.partition(":")
    if kind in ("p", "c") and code.isdigit():
        return (get(int(code), level="province" if kind == "p" else "commune"),), None
    entry = _index().origins[key]
    return entry.places, entry.via
