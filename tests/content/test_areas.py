"""Reading places in sentences: clear mentions count, everyday words that are also names don't."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.content import areas
from testkit.place_table import QUESTIONS, Said, check_asked

ROOT = Path(__file__).resolve().parents[2]
ANNOTATION = re.compile(r"\[([^\]]+)\]\((\w+)\)")
HOME = "Lạng Sơn"


@pytest.mark.parametrize(
    ("sentence", "first"),
    [
        ("phường Tam Thanh có bị phong tỏa ko", "Phường Tam Thanh, Tỉnh Lạng Sơn"),
        ("Kỳ Lừa cấp độ mấy", "Phường Kỳ Lừa, Tỉnh Lạng Sơn"),
        ("nhà em ở dong dang co phong toa ko", "Xã Đồng Đăng, Tỉnh Lạng Sơn"),
        ("Hà Nội có đang phong tỏa không", "Thành phố Hà Nội"),
        ("huyện Cao Lộc cũ có phong tỏa ko", "Huyện Cao Lộc (cũ)"),
        ("trieu chung covid la gi", None),  # La Gi is a town in Lâm Đồng
        ("can thuoc chong dong kinh cho con", None),  # động kinh: epilepsy
        ("trung thu năm nay có được tụ tập không", None),
        ("so cua bac si tu van tu xa", None),
        # "thành phố đang": a one-word name after a unit word of no unit of that kind
        ("duong nao o thanh pho dang bi cam", None),  # Xã Dang (cũ) is in Đà Nẵng
        ("thanh pho Lang Son co bi cam duong ko", "Thành phố Lạng Sơn (cũ)"),
    ],
)
def test_clear_mentions_in_a_sentence(sentence: str, first: str | None) -> None:
    found = areas.read(sentence, prefer_province=HOME, strict=True)
    assert (found[0].name if found else None) == first


def test_on_the_training_sentences_few_false_places_and_most_real_ones() -> None:
    """The NLU examples are real sentences: those without a place must rarely get one."""
    false = real = found = 0
    for path in (ROOT / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            for line in block["examples"].splitlines():
                text = line[2:]
                read = areas.read(ANNOTATION.sub(r"\1", text), prefer_province=HOME, strict=True)
                if ANNOTATION.search(text):
                    real, found = real + 1, found + bool(read)
                else:
                    false += bool(read)
    assert false <= 10 and found / real >= 0.85, (false, found, real)


def test_a_name_alone_is_read_freely_and_a_home_meaning_is_taken() -> None:
    reading = areas.pick(areas.read("tam thanh", prefer_province=HOME), home_province=20)
    assert reading.area is not None and reading.area.key == "c:5986"
    assert reading.choices and all(a.key != "c:5986" for a in reading.choices)
    several = areas.pick(areas.read("Chi Lăng", prefer_province=HOME), home_province=20)
    assert several.area is None and 2 <= len(several.choices) <= areas.MAX_CHOICES
    assert all(20 in a.province_codes for a in several.choices[:3])


@pytest.mark.parametrize("tagged", [True, False], ids=["entities", "no entities"])
@pytest.mark.parametrize(
    ("text", "entities", "expected"),
    [pytest.param(text, entities, exp, id=label) for label, text, entities, exp in QUESTIONS],
)
def test_what_a_question_is_about(
    text: str, entities: tuple[str, ...], expected: Said, tagged: bool
) -> None:
    """The same answer whether Rasa tagged the place words (as its model did), or nothing."""
    asked = areas.understand(text, province=HOME, typed=entities if tagged else ())
    assert not asked.unknown
    check_asked(asked.area.name if asked.area else None, [c.name for c in asked.choices], expected)
