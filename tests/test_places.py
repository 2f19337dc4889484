"""bot/places: place names (new, old, abbreviated, unaccented) → current 2025 units.

The table (CASES, SENTENCES) is in testkit/place_table.py, shared with bench/knowledge.py.
"""

from __future__ import annotations

import pytest

from bot import places
from bot.places import find_places, get, resolve, units_in
from testkit.place_table import (
    CASES,
    CHI_LANG,
    DONG_DANG,
    DONG_KINH,
    KY_LUA,
    LUONG_VAN_TRI,
    OLD_CHI_LANG,
    OLD_CITY,
    PLEIKU,
    QUAN_1,
    SENTENCES,
    TAM_THANH,
    THAT_KHE,
    THU_DUC,
    Expect,
    Found,
    check,
    check_found,
)


@pytest.mark.parametrize(
    ("text", "expected"), [pytest.param(text, exp, id=label) for label, text, exp in CASES]
)
def test_resolve(text: str, expected: Expect | None) -> None:
    resolution = resolve(text)
    assert resolution.text == text
    check(resolution, expected)


def test_table_is_large() -> None:
    assert len(CASES) >= 150


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("huyện Chi Lăng", OLD_CHI_LANG),
        ("tp Lạng Sơn", OLD_CITY),
        ("quận Hoàn Kiếm", {4, 70, 82, 97, 226}),
        ("Quận 1", QUAN_1),
        ("tp Pleiku", PLEIKU),
    ],
)
def test_an_old_district_is_all_its_new_wards(text: str, codes: set[int]) -> None:
    found = resolve(text, limit=20)
    assert {m.place.code for m in found.matches} == codes
    assert all(m.partial for m in found.matches)


def test_limit_bounds_the_matches() -> None:
    assert len(resolve("tp Thủ Đức").matches) == 8
    assert {m.place.code for m in resolve("tp Thủ Đức", limit=20).matches} == THU_DUC
    assert len(resolve("Chi Lăng", limit=2).matches) == 2


def test_order_current_then_preferred_province_then_by_name() -> None:
    found = resolve("Chi Lăng").matches
    # Current units first: Lạng Sơn (preferred), then An Giang, Bắc Ninh by name.
    assert [m.place.code for m in found[:3]] == [CHI_LANG, 30505, 9313]
    assert all(m.via is None for m in found[:3])
    # Then the old units, Lạng Sơn first: phường Chi Lăng (TP Lạng Sơn), xã Chi Lăng
    # (Tràng Định), huyện Chi Lăng.
    assert found[3] == places.Match(
        get(LUONG_VAN_TRI), "Phường Chi Lăng (TP Lạng Sơn, cũ)", origin="ow:5983"
    )
    assert found[4].place.code == THAT_KHE
    assert all(m.via is not None for m in found[3:])


@pytest.mark.parametrize(
    ("prefer", "first"),
    [("Bắc Ninh", 9313), ("Thành phố Bắc Ninh", 9313), ("an giang", 30505), ("Paris", 30505)],
)
def test_prefer_province(prefer: str, first: int) -> None:
    # "Paris" prefers nothing: the provinces come by name, An Giang first.
    assert resolve("Chi Lăng", prefer_province=prefer).matches[0].place.code == first


def test_tan_tien_prefers_the_asked_province() -> None:
    assert resolve("Tân Tiến", prefer_province="Cà Mau").matches[0].place.code == 32188


@pytest.mark.parametrize(("sentence", "expected"), SENTENCES)
def test_find_places(sentence: str, expected: list[Found]) -> None:
    check_found(find_places(sentence), expected)


NAMES = ["Tam Thanh", "Kỳ Lừa", "Đông Kinh", "Lương Văn Tri", "Đồng Đăng", "Chi Lăng", "Hà Nội"]


def test_find_places_is_bounded_on_500_names() -> None:
    """Speed is measured by make bench-knowledge (later); here only the bound on results."""
    sentence = ", ".join(NAMES[n % len(NAMES)] for n in range(500))
    found = find_places(sentence)
    assert [r.matches[0].place.code for r in found] == [TAM_THANH, KY_LUA, DONG_KINH,
                                                        LUONG_VAN_TRI, DONG_DANG]  # fmt: skip
    assert len(find_places(sentence, max_places=2)) == 2


def test_get_and_units_in() -> None:
    assert get(TAM_THANH) == places.Place(
        TAM_THANH, "Phường Tam Thanh", "commune", 20, "Tỉnh Lạng Sơn"
    )
    assert get(20, level="province").name == "Tỉnh Lạng Sơn"
    assert get(6325).name == "Xã Bắc Sơn"  # "xã Bắc Sơn" in the data
    ls = units_in(20)
    assert len(ls) == 65
    assert {TAM_THANH, LUONG_VAN_TRI, DONG_KINH, KY_LUA, CHI_LANG, DONG_DANG} <= {
        p.code for p in ls
    }
    assert all(p.province_code == 20 and p.level == "commune" for p in ls)
    assert sum(len(units_in(p.code)) for p in map(get_province, range(1, 100)) if p) == 3321
    with pytest.raises(KeyError):
        get(999_999)
    with pytest.raises(KeyError):
        get(999, level="province")
    with pytest.raises(KeyError):
        units_in(999)


def get_province(code: int) -> places.Place | None:
    try:
        return get(code, level="province")
    except KeyError:
        return None


def test_old_and_new_codes_are_kept_apart() -> None:
    # Old code 5986 was Xã Hoàng Đồng; new code 5986 is Phường Tam Thanh.
    match = resolve("Hoàng Đồng").matches[0]
    assert match.place == get(5986)
    assert match.place.name == "Phường Tam Thanh"
