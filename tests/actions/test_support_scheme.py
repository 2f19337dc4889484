"""ask_support_scheme: a short list with group buttons, then the schemes for that group."""

from __future__ import annotations

import pytest

from actions.support_scheme import ActionListSupportSchemes
from tests.actions.conftest import run, tracker

DATABASES = ("sqlite", "postgresql")
pytestmark = pytest.mark.usefixtures("content_db")


async def test_overview_lists_open_then_closed_and_offers_groups() -> None:
    said = await run(ActionListSupportSchemes(), tracker("có chính sách hỗ trợ gì không"))
    assert said.names == [
        "utter_support_scheme_open",
        "utter_support_scheme_line",
        "utter_support_scheme_closed",
        "utter_support_scheme_closed_line",
        "utter_support_scheme_pick_group",
    ]
    assert "lao động tự do (thử) (nhận hồ sơ đến hết ngày 31/12/2099)" in said.texts[1].lower()
    assert "đã kết thúc ngày 31/12/2021" in said.texts[3]
    assert "Hà Nội" not in said.text  # another province's scheme
    buttons = said.buttons()
    assert [b["title"] for b in buttons] == ["Lao động tự do", "F0, F1"]
    assert buttons[0]["payload"] == '/ask_support_scheme{"support_group":"freelancer"}'


async def test_a_group_button_gives_the_details() -> None:
    said = await run(
        ActionListSupportSchemes(),
        tracker("/ask_support_scheme", entities={"support_group": "freelancer"}),
    )
    assert said.names == ["utter_support_scheme_group", "utter_support_scheme_detail"]
    detail = said.texts[1]
    assert "1.500.000 đ" in detail and "UBND cấp xã" in detail and "Quyết định 12/QĐ-UBND" in detail


async def test_the_group_is_read_from_the_words_and_closed_schemes_say_so() -> None:
    said = await run(ActionListSupportSchemes(), tracker("nha em bi cach ly F1 co duoc ho tro ko"))
    assert said.names == ["utter_support_scheme_group", "utter_support_scheme_detail"]
    assert "đã kết thúc ngày 31/12/2021" in said.texts[1] and "80.000 đ/ngày" in said.texts[1]


async def test_another_province_gets_its_own_scheme() -> None:
    said = await run(
        ActionListSupportSchemes(),
        tracker("ở Hà Nội lao động tự do được hỗ trợ gì"),
    )
    assert "Chính sách riêng của Hà Nội" in said.text
    assert "Hỗ trợ lao động tự do (thử)" not in said.text  # Lạng Sơn's
