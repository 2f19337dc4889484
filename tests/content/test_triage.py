"""bot/content/triage/: danger signs, risk groups and readings in chat as people type it."""

from __future__ import annotations

import time
from typing import Any

import pytest
import yaml

from bot.content import triage
from bot.content.triage import EMERGENCY, HOME_CARE, URGENT, Thresholds, assess
from bot.settings import Settings
from bot.text import fold


def case(
    label: str,
    text: str,
    level: str,
    signs: tuple[str, ...] = (),
    risks: tuple[str, ...] = (),
    *,
    spo2: int | None = None,
    temperature: float | None = None,
    breaths: int | None = None,
    absent: tuple[str, ...] = (),
) -> Any:
    """One row: expected level, signs and risk groups (subsets), all three readings, and codes
    that must not be found."""
    return pytest.param(text, level, signs, risks, (spo2, temperature, breaths), absent, id=label)


CASES = [
    # --- Emergency: SpO2 below 96 % (below 97 % in a risk group) ---
    case("spo2 92 father", "bố em spo2 92 ạ", EMERGENCY, spo2=92),
    case("spo2 colon percent", "SpO2: 92%", EMERGENCY, spo2=92),
    case("spo2 chi con", "spo2 chỉ còn 90%", EMERGENCY, spo2=90),
    case("do oxy duoc 95", "đo oxy được 95%", EMERGENCY, spo2=95),
    case("sp02 with zero", "sp02 94 a oi", EMERGENCY, spo2=94),
    case("chi so oxy", "chỉ số oxy 93 ạ", EMERGENCY, spo2=93),
    case(
        "spo2 said with a phrase",
        "Chỉ số SpO2 của con trai tôi là 94, ho nhiều",
        EMERGENCY,
        spo2=94,
    ),
    case("nong do oxy trong mau", "nồng độ oxy trong máu 91%", EMERGENCY, spo2=91),
    case("pregnant spo2 96", "có bầu spo2 96", EMERGENCY, risks=("pregnant",), spo2=96),
    case("elderly spo2 96", "bà em 75 tuổi, spo2 96%", EMERGENCY, risks=("elderly",), spo2=96),
    case(
        "pregnant 7 months spo2 96",
        "vợ em mang thai 7 tháng, spo2 96%",
        EMERGENCY,
        risks=("pregnant",),
        spo2=96,
    ),
    # --- Emergency: danger signs ---
    case("kho tho qua", "khó thở quá", EMERGENCY, ("difficulty_breathing",)),
    case("upper case", "KHÓ THỞ!!!", EMERGENCY, ("difficulty_breathing",)),
    case("no diacritics", "kho tho qua ad oi", EMERGENCY, ("difficulty_breathing",)),
    case("vni apostrophe", "kho' tho", EMERGENCY, ("difficulty_breathing",)),
    case("ko tho dc", "ko tho dc", EMERGENCY, ("difficulty_breathing",)),
    case("tho khong noi emoji", "thở không nổi 😭😭", EMERGENCY, ("difficulty_breathing",)),
    case("hut hoi tho doc", "mẹ em hụt hơi, thở dốc", EMERGENCY, ("difficulty_breathing",)),
    case("dau tuc nguc", "đau tức ngực", EMERGENCY, ("chest_pain",)),
    case("tuc nguc no marks", "tuc nguc kho chiu lam", EMERGENCY, ("chest_pain",)),
    case("moi tim tai", "môi tím tái", EMERGENCY, ("bluish_lips",)),
    case("ngon tay tim", "đầu ngón tay tím", EMERGENCY, ("bluish_lips",)),
    case("ong noi lo mo", "ông nội lơ mơ", EMERGENCY, ("confusion",), ("elderly",)),
    case(
        "li bi goi khong tinh",
        "bà ngoại li bì, gọi không tỉnh",
        EMERGENCY,
        ("confusion",),
        ("elderly",),
    ),
    case("ngat xiu", "bị ngất xỉu lúc sáng", EMERGENCY, ("confusion",)),
    case("co giat no marks", "tre em co giat", EMERGENCY, ("convulsions",), ("child",)),
    case("tut huyet ap", "tôi bị tụt huyết áp", EMERGENCY, ("low_blood_pressure",)),
    case("child stridor", "con em 2 tuổi thở rít", EMERGENCY, ("child_stridor",), ("child",)),
    case(
        "baby chest indrawing",
        "bé nhà em 8 tháng thở nhanh, rút lõm lồng ngực",
        EMERGENCY,
        ("difficulty_breathing", "child_chest_indrawing"),
        ("child",),
    ),
    case("newborn not feeding", "bé sơ sinh bỏ bú", EMERGENCY, ("child_poor_feeding",)),
    case(
        "child cannot drink",
        "con e 2 tuoi ko uong duoc gi tu sang, quay khoc",
        EMERGENCY,
        ("child_cannot_drink",),
        ("child",),
    ),
    case(
        "child vomits everything",
        "con bé nhà mình nôn hết, môi khô, mắt trũng",
        EMERGENCY,
        ("child_cannot_drink",),
    ),
    case("child refuses medicine", "bé 3 tuổi không uống được thuốc", HOME_CARE, (), ("child",)),
    case(
        "do khong phai do",
        "sốt 39 độ khó thở",
        EMERGENCY,
        ("difficulty_breathing",),
        temperature=39,
    ),
    case("do because", "nhập viện do khó thở", EMERGENCY, ("difficulty_breathing",)),
    case("nhung breaks negation", "không sốt nhưng khó thở", EMERGENCY, ("difficulty_breathing",)),
    case("dau hong is not hong", "đau họng khó thở", EMERGENCY, ("difficulty_breathing",)),
    case("comma ends negation", "không ho, khó thở", EMERGENCY, ("difficulty_breathing",)),
    case("fever and fit", "sốt cao 40 độ, co giật", EMERGENCY, ("convulsions",), temperature=40),
    # --- Emergency: breathing rate ---
    case("nhip tho 28", "nhịp thở 28 lần/phút", EMERGENCY, breaths=28),
    case("tho 30 lan phut", "thở 30 lần/phút", EMERGENCY, breaths=30),
    case("30 nhip phut", "30 nhip/phut", EMERGENCY, breaths=30),
    case("pulse is not breathing", "thở 30 lần/phút, mạch 110 lần/phút", EMERGENCY, breaths=30),
    case(
        "elderly breathing 22",
        "ông em 70 tuổi nhịp thở 22",
        EMERGENCY,
        (),
        ("elderly",),
        breaths=22,
    ),
    # --- Urgent ---
    case(
        "elderly by age fever",
        "mẹ tôi 70 tuổi sốt 38,5",
        URGENT,
        (),
        ("elderly",),
        temperature=38.5,
    ),
    case(
        "pregnant fever cough", "vợ em có bầu sốt 38 ho", URGENT, (), ("pregnant",), temperature=38
    ),
    case("child by age fever", "5 tuổi sốt 38", URGENT, (), ("child",), temperature=38),
    case("sot 40 do", "sot 40 do", URGENT, temperature=40),
    case("sot 40do glued", "sot 40do", URGENT, temperature=40),
    case("39 do 5", "sốt 39 độ 5", URGENT, temperature=39.5),
    case("decimal comma", "39,5 độ", URGENT, temperature=39.5),
    case("degree sign", "sốt 39.5°C", URGENT, temperature=39.5),
    case("do ruoi", "ko khó thở nhưng sốt 39 độ rưỡi", URGENT, temperature=39.5),
    case("nhip tho 22", "nhịp thở 22", URGENT, breaths=22),
    case("elderly cough", "bố em 72 tuổi, ho và sốt nhẹ", URGENT, (), ("elderly",)),
    case(
        "grandfather diabetes",
        "ông ngoại bị tiểu đường, ho khan 3 hôm",
        URGENT,
        (),
        ("elderly", "chronic"),
    ),
    case(
        "asthma fever", "mẹ em bị hen suyễn, sốt 37,8", URGENT, (), ("chronic",), temperature=37.8
    ),
    case("ba bau is pregnant", "bà bầu bị ho", URGENT, (), ("pregnant",), absent=("elderly",)),
    case("baby runny nose", "bé 3 tháng tuổi sổ mũi", URGENT, (), ("child",)),
    case("cu ong", "cụ ông nhà em bị sốt", URGENT, (), ("elderly",)),
    case("kidney failure", "chồng em bị suy thận, đang ho", URGENT, (), ("chronic",)),
    case(
        "pregnancy weeks",
        "thai 20 tuần tuổi, sốt nhẹ",
        URGENT,
        (),
        ("pregnant",),
        absent=("child",),
    ),
    # --- Home care ---
    case("spo2 97 fever 38", "spo2 97, sốt 38", HOME_CARE, spo2=97, temperature=38),
    case("negated sign", "ko khó thở, chỉ ho", HOME_CARE, absent=("difficulty_breathing",)),
    case("do kho tho roi", "đỡ khó thở rồi", HOME_CARE, absent=("difficulty_breathing",)),
    case("kho tho do hon", "khó thở đỡ hơn rồi ạ", HOME_CARE, absent=("difficulty_breathing",)),
    case("stridor without child", "thở rít", HOME_CARE, absent=("child_stridor",)),
    case("spo2 out of range", "spo2 920", HOME_CARE),
    case("empty", "", HOME_CARE),
    case("emoji only", "😷😷😷", HOME_CARE),
    case("unrelated", "tiem vaccine o dau vay ad", HOME_CARE),
    case("adult mild", "em 25 tuổi, sốt 38 độ, đau họng", HOME_CARE, temperature=38),
    case("negation carried by hay", "không sốt hay khó thở gì cả", HOME_CARE),
    case(
        "long negated list",
        "Em không bị khó thở, không đau ngực, chỉ hơi sốt 38 độ",
        HOME_CARE,
        temperature=38,
        absent=("difficulty_breathing", "chest_pain"),
    ),
    case("hypothetical", "nếu bị khó thở thì làm sao ạ", HOME_CARE),
    case("het sot", "hết sốt rồi, còn ho", HOME_CARE),
    case(
        "all readings normal",
        "nhiệt độ 38.2, spo2 98%, nhịp thở 18",
        HOME_CARE,
        spo2=98,
        temperature=38.2,
        breaths=18,
    ),
    case(
        "no chronic illness",
        "em không có bệnh nền, sốt 38",
        HOME_CARE,
        temperature=38,
        absent=("chronic",),
    ),
    case("con is not child", "còn em thì ho", HOME_CARE, absent=("child",)),
    case(
        "hen is not asthma",
        "em có hẹn đi khám, sốt 38",
        HOME_CARE,
        temperature=38,
        absent=("chronic",),
    ),
    case(
        "ho kinh doanh is not cough",
        "ho kinh doanh duoc ho tro khong, me em 70 tuoi",
        HOME_CARE,
        (),
        ("elderly",),
    ),
    case("39 do for 5 days", "sốt 39 độ 5 ngày nay", HOME_CARE, temperature=39),
    case("pulse only", "mạch 110 lần/phút", HOME_CARE),
    case("child healthy", "bé 5 tuổi, spo2 98", HOME_CARE, (), ("child",), spo2=98),
    case("age is not temperature", "sốt, 40 tuổi", HOME_CARE),
    case("date is not temperature", "ngày 20/8 bị sốt 38", HOME_CARE, temperature=38),
    case("fahrenheit ignored", "sốt 102F", HOME_CARE),
    case("spo2 is not temperature", "sốt, SpO2 97", HOME_CARE, spo2=97),
]


@pytest.mark.parametrize(("text", "level", "signs", "risks", "readings", "absent"), CASES)
def test_assess(
    text: str,
    level: str,
    signs: tuple[str, ...],
    risks: tuple[str, ...],
    readings: tuple[int | None, float | None, int | None],
    absent: tuple[str, ...],
) -> None:
    result = assess(text)
    assert result.level == level, result
    assert set(signs) <= set(result.signs), result
    assert set(risks) <= set(result.risk_groups), result
    assert (result.spo2, result.temperature, result.breaths_per_minute) == readings, result
    found = set(result.signs) | set(result.risk_groups)
    assert not found & set(absent), result
    if level != EMERGENCY:
        assert result.signs == (), result


def test_table_is_large_and_covers_every_level() -> None:
    assert len(CASES) >= 60
    levels = {param.values[1] for param in CASES}
    assert levels == {EMERGENCY, URGENT, HOME_CARE}


def test_empty_text_finds_nothing() -> None:
    result = assess("")
    assert result.level == HOME_CARE
    assert result.signs == result.risk_groups == result.symptoms == ()
    assert (result.spo2, result.temperature, result.breaths_per_minute) == (None, None, None)
    assert not result.fever_medicine
    assert result.reasons() == [] and result.risk_labels() == []


def test_reasons_are_vietnamese_labels_with_values() -> None:
    assert assess("bố em spo2 92 ạ").reasons() == ["SpO2 92%"]
    reasons = assess("khó thở, sốt 39.5, nhịp thở 30").reasons()
    assert reasons == ["khó thở", "thở 30 lần/phút", "sốt 39,5 °C"]


def test_reasons_only_name_readings_that_crossed_a_threshold() -> None:
    assert assess("spo2 97, sốt 38, nhịp thở 18").reasons() == []
    # In a risk group the lower thresholds apply, and a fever is a reason.
    pregnant = assess("có bầu, spo2 96, sốt 38")
    assert pregnant.reasons() == ["SpO2 96%", "sốt 38 °C"]
    assert pregnant.risk_labels() == ["đang mang thai"]


def test_signs_and_risk_groups_come_in_rule_order() -> None:
    result = assess("co giật, môi tím, khó thở; ông bà có thai?? bé 3 tuổi")
    assert result.signs == ("difficulty_breathing", "bluish_lips", "convulsions")
    assert result.risk_groups == ("pregnant", "elderly", "child")
    assert result.risk_labels() == ["đang mang thai", "người cao tuổi", "trẻ nhỏ"]


def test_child_only_sign_needs_a_child() -> None:
    assert assess("thở rít, bỏ ăn").signs == ()
    assert assess("bé thở rít").signs == ("child_stridor",)
    assert assess("cháu 3 tuổi phập phồng cánh mũi").signs == ("child_nasal_flaring",)


def test_fever_medicine_from_38_5() -> None:
    assert assess("sốt 38,5").fever_medicine
    assert assess("sốt 39").fever_medicine
    assert not assess("sốt 38").fever_medicine
    assert not assess("ho").fever_medicine


def test_thresholds_can_be_changed() -> None:
    assert assess("spo2 95").level == EMERGENCY
    assert (
        assess("spo2 95", Thresholds.from_settings(Settings(triage_spo2_below=94))).level
        == HOME_CARE
    )
    assert (
        assess("nhịp thở 24", Thresholds.from_settings(Settings(triage_breaths_above=23))).level
        == EMERGENCY
    )


def test_default_thresholds_are_the_settings_defaults() -> None:
    defaults = Settings()
    assert assess("spo2 95").thresholds == Thresholds.from_settings(defaults)
    limits = assess("ho").thresholds
    assert (limits.spo2_below, limits.spo2_below_at_risk) == (
        defaults.triage_spo2_below,
        defaults.triage_spo2_below_at_risk,
    )
    assert (limits.breaths_above, limits.breaths_above_at_risk) == (
        defaults.triage_breaths_above,
        defaults.triage_breaths_above_at_risk,
    )


def test_worst_reading_wins() -> None:
    result = assess("sáng spo2 97, chiều spo2 93; sốt 38 độ rồi 39,2 độ")
    assert (result.spo2, result.temperature) == (93, 39.2)


def test_long_text_does_not_crash() -> None:
    text = ("Bố em 65 tuổi, ho, sốt 38,5 độ, spo2 97%. 😷 " * 250)[:10_000]
    assert len(text) == 10_000
    started = time.monotonic()
    result = assess(text)
    assert time.monotonic() - started < 5
    assert result.level == URGENT
    assert (result.spo2, result.temperature) == (97, 38.5)
    assert assess("x" * 10_000).level == HOME_CARE
    assert assess("sot " * 2_500).level == HOME_CARE


# --- The data file -------------------------------------------------------------------------


def _data() -> dict[str, Any]:
    data = yaml.safe_load(triage.DATA_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _matching_strings(data: dict[str, Any]) -> list[str]:
    strings: list[str] = []
    for section in ("signs", "symptoms", "risk_groups"):
        for item in data[section]:
            strings += item["patterns"] + item.get("exclude", [])
    for name in (
        "negations",
        "negation_fillers",
        "negation_breakers",
        "negation_carriers",
        "relief_after",
        "relief_fillers",
    ):
        strings += data[name]
    for words in data["reading_words"].values():
        strings += words
    return strings


def test_data_version() -> None:
    assert _data()["version"] == "1"


def test_every_pattern_is_folded() -> None:
    data = _data()
    strings = _matching_strings(data) + list(data["spellings"])
    assert len(strings) > 200
    not_folded = [s for s in strings if s != fold(s) or s != s.strip() or not s]
    assert not_folded == []


def test_spellings_fold_to_their_pattern_and_name_a_pattern() -> None:
    data = _data()
    patterns = set(_matching_strings(data))
    for pattern, spellings in data["spellings"].items():
        assert pattern in patterns, pattern
        assert spellings, pattern
        for spelling in spellings:
            assert fold(spelling) == pattern, (pattern, spelling)


def test_codes_are_unique_and_labels_vietnamese() -> None:
    data = _data()
    codes = [item["code"] for s in ("signs", "symptoms", "risk_groups") for item in data[s]]
    assert len(codes) == len(set(codes))
    for section in ("signs", "symptoms", "risk_groups"):
        for item in data[section]:
            assert item["label"].strip() and item["patterns"], item["code"]
    assert {g["code"] for g in data["risk_groups"]} == {"pregnant", "elderly", "chronic", "child"}
    assert fold(data["readings"]["temperature"]) != data["readings"]["temperature"]  # "sốt"
    for label in data["readings"].values():
        assert "{value}" in label
