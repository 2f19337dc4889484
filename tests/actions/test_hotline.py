"""ask_hotline: national numbers first, then the province's and the commune's; expired never."""

from __future__ import annotations

import pytest

from actions.hotline import ActionListHotlines
from actions.prevention import ActionTellPrevention
from actions.symptoms import ActionTellSymptoms
from tests.actions.conftest import run, tracker

DATABASES = ("sqlite", "postgresql")
pytestmark = pytest.mark.usefixtures("content_db")


async def test_commune_hotlines_when_the_commune_is_known() -> None:
    said = await run(ActionListHotlines(), tracker("số điện thoại", slots={"place_code": "c:5986"}))
    numbers = [t.split(" — ")[0].lstrip("• ") for t in said.texts[1:]]
    assert numbers == ["115", "1900 9095", "0205 000 0000", "0205 111 1111"]
    assert "chưa xác nhận" in said.texts[2] and "1900 3228" not in said.text
    assert "(24/7)" in said.texts[1]


async def test_without_a_place_the_province_and_no_other_commune() -> None:
    said = await run(ActionListHotlines(), tracker("đường dây nóng"))
    assert "0205 000 0000" in said.text and "0205 111 1111" not in said.text
    assert "024 000 0000" not in said.text


async def test_a_place_without_local_numbers_says_so() -> None:
    said = await run(ActionListHotlines(), tracker("số điện thoại ở Bắc Ninh"))
    assert said.names[-1] == "utter_hotline_no_local"


async def test_prevention_serves_only_current_items_with_their_source() -> None:
    said = await run(ActionTellPrevention(), tracker("phòng bệnh thế nào", intent="ask_prevention"))
    assert said.names == ["utter_content_item"]
    assert "Thông điệp 5K" in said.text and "4038/QĐ-BYT của Bộ Y tế" in said.text
    assert "Tờ khai giấy" not in said.text and "Sắp áp dụng" not in said.text


async def test_symptoms_information_and_danger_signs() -> None:
    said = await run(ActionTellSymptoms(), tracker("triệu chứng là gì", intent="ask_symptoms"))
    assert [t.split("\n")[0] for t in said.texts] == ["Triệu chứng", "Dấu hiệu nguy hiểm"]
