"""ask_alert_level: the level in force, since when, by which decision; the province fallback."""

from __future__ import annotations

import pytest

from actions.alert_level import ActionTellAlertLevel
from tests.actions.conftest import run, tracker

DATABASES = ("sqlite", "postgresql")
pytestmark = pytest.mark.usefixtures("content_db")


async def test_a_ward_with_its_own_level() -> None:
    said = await run(ActionTellAlertLevel(), tracker("phường Tam Thanh cấp độ mấy"))
    assert said.names == ["utter_alert_level_current"]
    text = said.text
    assert "tình huống 3 — Lây lan trong cộng đồng" in text and "01/06/2021" in text
    assert "MH-12/QĐ-UBND" in text and "Ở nhà khi không cần thiết." in text


async def test_a_ward_without_its_own_level_falls_back_to_the_province() -> None:
    # Kỳ Lừa's own level starts in 2099: not in force yet.
    said = await run(ActionTellAlertLevel(), tracker("Kỳ Lừa đang ở cấp độ nào"))
    assert said.names == ["utter_alert_level_inherited"]
    assert "cấp độ chung của Tỉnh Lạng Sơn: tình huống 2" in said.text
    assert "MH-11/QĐ-UBND" in said.text and "MH-10" not in said.text  # the expired one


async def test_no_place_gives_the_province_and_a_hint() -> None:
    said = await run(ActionTellAlertLevel(), tracker("cấp độ dịch hiện nay"))
    assert said.names == ["utter_alert_level_current", "utter_alert_level_hint_place"]
    assert said.texts[0].startswith("Tỉnh Lạng Sơn đang ở tình huống 2")


async def test_an_old_district_spanning_units_with_different_levels() -> None:
    said = await run(ActionTellAlertLevel(), tracker("thành phố Lạng Sơn cũ cấp độ mấy"))
    assert said.names[0] == "utter_place_now_part_of"
    assert "utter_alert_level_split" in said.names
    assert any("Phường Tam Thanh: tình huống 3" in t for t in said.texts)
    assert any("Phường Kỳ Lừa: tình huống 2" in t for t in said.texts)


async def test_an_area_with_no_level_lists_the_five_situations() -> None:
    said = await run(ActionTellAlertLevel(), tracker("Hà Nội cấp độ mấy"))
    assert said.names == ["utter_alert_level_unknown"] + ["utter_alert_level_situation"] * 5
    assert "Thành phố Hà Nội" in said.texts[0] and said.texts[3] == "3. Lây lan trong cộng đồng"


async def test_an_old_district_whose_units_agree_gets_one_answer() -> None:
    said = await run(ActionTellAlertLevel(), tracker("huyện Cao Lộc cũ cấp độ mấy"))
    assert said.names == ["utter_place_now_part_of", "utter_alert_level_inherited"]
    assert "cấp độ chung của Tỉnh Lạng Sơn: tình huống 2" in said.texts[1]
