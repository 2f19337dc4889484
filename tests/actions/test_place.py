"""inform_place: a place alone answers the waiting question, or asks what about it."""

from __future__ import annotations

import pytest

from actions.place import ActionAnswerPlace
from tests.actions.conftest import run, tracker

DATABASES = ("sqlite", "postgresql")
pytestmark = pytest.mark.usefixtures("content_db")


async def test_a_place_alone_is_remembered_and_offers_the_topics() -> None:
    said = await run(ActionAnswerPlace(), tracker("phường Kỳ Lừa", intent="inform_place"))
    assert said.names == ["utter_place_what_about"]
    assert said.texts == ["Bạn muốn biết gì về Phường Kỳ Lừa, Tỉnh Lạng Sơn?"]
    assert said.slot("place_code") == "c:6187"


async def test_a_waiting_alert_level_question_is_answered_for_the_chosen_place() -> None:
    said = await run(
        ActionAnswerPlace(),
        tracker("/inform_place", intent="inform_place", entities={"place_code": "c:5986"},
                slots={"place_topic": "alert_level"}),
    )  # fmt: skip
    assert said.names == ["utter_alert_level_current"]
    assert said.slot("place_topic") is None


async def test_an_old_ward_button_names_what_it_became() -> None:
    said = await run(
        ActionAnswerPlace(),
        tracker("/inform_place", intent="inform_place", entities={"place_code": "ow:5983"},
                slots={"place_topic": "lockdown"}),
    )  # fmt: skip
    assert said.texts[0] == "Phường Chi Lăng (TP Lạng Sơn, cũ) nay thuộc: Phường Lương Văn Tri."


@pytest.mark.parametrize("text", ["thôn Nà Chuông", "Paris", "🙂"])
async def test_unknown_places_ask_again_politely(text: str) -> None:
    said = await run(
        ActionAnswerPlace(),
        tracker(text, intent="inform_place", entities={"location": text}),
    )
    assert said.names == ["utter_place_unknown"]
    assert f'"{text}"' in said.texts[0]


async def test_a_forged_button_key_is_not_trusted() -> None:
    said = await run(
        ActionAnswerPlace(),
        tracker("/inform_place", intent="inform_place", entities={"place_code": "c:999999"}),
    )
    assert said.names == ["utter_place_ask"] and said.slot("place_code") == "<not set>"
