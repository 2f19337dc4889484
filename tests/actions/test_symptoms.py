"""report_symptoms through the action: 115 first and unmistakable, else care advice."""

from __future__ import annotations

import pytest

from actions.symptoms import ActionTriageSymptoms
from tests.actions.conftest import responses, run, tracker

DATABASES = ("sqlite", "postgresql")
pytestmark = pytest.mark.usefixtures("content_db")

CASES = [
    ("bố em spo2 92 ạ", "utter_triage_emergency", "SpO2 92"),
    ("mẹ tôi khó thở, môi tím tái", "utter_triage_emergency", "khó thở"),
    ("vợ em có bầu sốt 38 ho", "utter_triage_urgent", ""),
    ("con em bị ho, sốt 38 độ, không khó thở", "utter_triage_urgent", ""),
    ("toi bi ho va sot nhe 37.8", "utter_triage_home_care", ""),
]


@pytest.mark.parametrize(("text", "first", "reason"), CASES, ids=[c[0] for c in CASES])
async def test_the_first_message_is_the_level(text: str, first: str, reason: str) -> None:
    said = await run(ActionTriageSymptoms(), tracker(text, intent="report_symptoms"))
    assert said.names[0] == first
    assert reason.lower() in said.texts[0].lower()
    assert said.names[-2:] == ["utter_triage_disclaimer", "utter_triage_offer_help"] or (
        first != "utter_triage_emergency" and said.names[-1] == "utter_triage_disclaimer"
    )


async def test_an_emergency_says_115_first_and_offers_a_help_request() -> None:
    said = await run(
        ActionTriageSymptoms(),
        tracker("ông nội spo2 chỉ còn 90%, lơ mơ", intent="report_symptoms",
                slots={"place_code": "c:5986"}),
    )  # fmt: skip
    assert said.texts[0].startswith("⚠️ HÃY GỌI NGAY 115")
    assert "Chăm sóc tại nhà" not in said.text  # no home care advice in an emergency
    assert "0205 111 1111" in said.text  # the commune's number, after 115
    assert said.names[-1] == "utter_triage_offer_help"  # its button: /request_help
    assert responses()["utter_triage_offer_help"][0]["buttons"][0]["payload"] == "/request_help"


async def test_home_care_comes_from_the_content_store_with_the_watch_list() -> None:
    message = tracker("em bị ho với sổ mũi", intent="report_symptoms")
    said = await run(ActionTriageSymptoms(), message)
    assert said.names[:3] == ["utter_triage_home_care", "utter_content_item", "utter_content_item"]
    assert "Uống đủ nước." in said.text and "SpO2 dưới 96%" in said.text
    assert said.buttons() == []


async def test_the_threshold_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from actions import common

    monkeypatch.setenv("TRIAGE_SPO2_BELOW", "93")
    common.settings.cache_clear()
    said = await run(ActionTriageSymptoms(), tracker("spo2 94, sốt nhẹ", intent="report_symptoms"))
    assert said.names[0] != "utter_triage_emergency"
    assert "SpO2 dưới 93%" in said.text
