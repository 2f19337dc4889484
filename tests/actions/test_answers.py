"""The bank in the conversation: the right answer with its source, 115 before anything when a
danger sign is named, an honest "Loa chưa biết" that is kept for the content team, and 👍/👎."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from rasa_sdk import Tracker
from sqlalchemy import select

from actions.answers import ActionAnswerQuestion, ActionRateAnswer
from actions.guard import ENTRY_SLOT, RATING, TOPIC_TITLES
from actions.lockdown import ActionTellLockdownStatus
from actions.prevention import ActionTellPrevention
from actions.reply import ActionReply
from bot.content import files
from bot.content.bank import route
from bot.storage.engine import sessions
from bot.storage.questions import DOWN, UNKNOWN, AskedQuestion
from tests.actions.conftest import responses, run, tracker

DATABASES = ("sqlite", "postgresql")

BANK = {
    "version": "1",
    "sources": [
        {
            "key": "byt-test",
            "title": "Hướng dẫn thử",
            "number": "1/QĐ-BYT",
            "issuer": "Bộ Y tế",
            "issued_on": "2022-03-16",
        },
    ],
    "questions": [
        {
            "key": "vax-third",
            "topic": "vaccination",
            "area": "toàn quốc",
            "questions": ["tiêm vắc xin mũi 3 ở đâu", "mũi nhắc lại tiêm chỗ nào"],
            "answer": "Mũi nhắc lại được tiêm tại trạm y tế xã, phường.",
            "source": "byt-test",
            "effective_from": "2022-03-16",
        },
        {
            "key": "rumour-lemon",
            "topic": "rumour",
            "area": "toàn quốc",
            "questions": ["uống nước chanh nóng có chữa được covid không"],
            "answer": "Không đúng: nước chanh nóng không chữa được COVID-19.",
            "source": "byt-test",
            "effective_from": "2022-03-16",
            "confirmed": False,
        },
    ],
}


@pytest.fixture
def bank_db(content_db: str) -> str:
    with sessions(content_db).begin() as session:
        files.load(BANK, session=session, prefer_province="Lạng Sơn")
    return content_db


def asked(url: str) -> list[AskedQuestion]:
    with sessions(url)() as session:
        return list(session.scalars(select(AskedQuestion).order_by(AskedQuestion.id)))


def ranked(text: str, *ranking: tuple[str, float], **entities: str) -> Tracker:
    found = tracker(text, intent=ranking[0][0], entities=entities or None)
    found.latest_message["intent"]["confidence"] = ranking[0][1]
    found.latest_message["intent_ranking"] = [{"name": n, "confidence": c} for n, c in ranking]
    return found


async def test_a_question_the_classifier_misread_is_answered_from_the_bank(bank_db: str) -> None:
    said = await run(
        ActionTellPrevention(), ranked("tiem vac xin mui 3 o dau", ("ask_prevention", 0.9))
    )
    assert said.names[0] == "utter_bank_answer"
    assert "trạm y tế xã, phường" in said.texts[0] and "1/QĐ-BYT" in said.texts[0]
    assert said.names[-1] == "utter_bank_feedback"
    payloads = [b["payload"] for b in said.buttons()]
    assert payloads == [
        '/rate_answer{"answer_key":"vax-third","rating":"up"}',
        '/rate_answer{"answer_key":"vax-third","rating":"down"}',
    ]


async def test_an_unconfirmed_answer_says_so(bank_db: str) -> None:
    said = await run(
        ActionAnswerQuestion(), ranked("uống chanh nóng có khỏi covid ko", ("out_of_scope", 0.8))
    )
    assert said.names[0] == "utter_bank_answer"
    assert "chưa được cơ quan chức năng xác nhận" in said.texts[0]


async def test_a_danger_sign_gets_115_first_whatever_the_intent(bank_db: str) -> None:
    text = "Tôi là F0 đang điều trị tại nhà, gần đây thấy khó thở hơn, hồ sơ của tôi đến đâu rồi"
    for action, intent in (
        (ActionReply(), "check_request_status"),
        (ActionTellLockdownStatus(), "ask_lockdown_status"),
        (ActionAnswerQuestion(), "nlu_fallback"),
    ):
        said = await run(action, ranked(text, (intent, 0.97)))
        assert said.texts[0].startswith("⚠️ HÃY GỌI NGAY 115"), action.name()


async def test_what_nobody_knows_is_said_honestly_and_kept_without_the_phone(bank_db: str) -> None:
    text = "bao giờ thì có thuốc đặc trị, gọi tôi 0912 345 678"
    said = await run(ActionAnswerQuestion(), ranked(text, ("nlu_fallback", 0.3)))
    assert said.names == ["utter_bank_unknown"]
    assert "không muốn đoán" in said.texts[0] and "115" in said.texts[0]
    menu = responses()["utter_bank_unknown"][0]["buttons"]
    assert {b["payload"] for b in menu} >= {"/ask_hotline", "/request_help"}
    (kept,) = asked(bank_db)
    assert kept.outcome == UNKNOWN and "0912" not in kept.text and "[phone]" in kept.text


async def test_english_is_told_loa_understands_vietnamese(bank_db: str) -> None:
    said = await run(
        ActionAnswerQuestion(), ranked("Where can I get a covid test?", ("out_of_scope", 0.6))
    )
    assert said.names == ["utter_bank_foreign"]
    assert "chỉ hiểu tiếng Việt" in said.texts[0]


async def test_a_confident_intent_on_its_topic_still_answers(bank_db: str) -> None:
    said = await run(
        ActionTellLockdownStatus(),
        ranked("phường Tam Thanh có bị phong tỏa không", ("ask_lockdown_status", 0.99)),
    )
    assert said.names[0] != "utter_bank_answer" and "Tam Thanh" in said.text


async def test_greetings_still_greet_and_a_question_inside_one_is_answered(bank_db: str) -> None:
    said = await run(ActionReply(), ranked("chào Loa", ("greet", 0.99)))
    assert said.names == ["utter_greet", "utter_menu"]
    said = await run(ActionReply(), ranked("chào Loa, mũi nhắc lại tiêm chỗ nào", ("greet", 0.6)))
    assert said.names[0] == "utter_bank_answer"


async def test_fallback_hands_a_clear_intent_to_its_action(
    bank_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With limits that take a less confident intent when the bank has nothing (the shipped
    # ones do not: see bot.content.bank.route.Limits), Rasa's fallback hands over to it.
    monkeypatch.setattr(route, "LIMITS", replace(route.LIMITS, intent=0.6, intent_low=0.35))
    said = await run(
        ActionAnswerQuestion(),
        ranked("phong toa o tam thanh", ("nlu_fallback", 0.4), ("ask_lockdown_status", 0.38)),
    )
    assert said.messages == []
    assert said.events == [{"event": "followup", "timestamp": None,
                            "name": "action_tell_lockdown_status"}]  # fmt: skip


async def test_a_button_chooses_an_entry(bank_db: str) -> None:
    payload = '/choose_answer{"answer_key":"rumour-lemon"}'
    said = await run(
        ActionAnswerQuestion(),
        ranked(payload, ("choose_answer", 1.0), **{ENTRY_SLOT: "rumour-lemon"}),
    )
    assert said.names[0] == "utter_bank_answer" and "chanh" in said.texts[0]


def _with_history(latest: Tracker, question: str) -> Tracker:
    events: list[dict[str, Any]] = [
        {"event": "user", "text": question},
        {"event": "bot", "text": "…"},
        {"event": "user", "text": latest.latest_message["text"]},
    ]
    return Tracker("test:1", {}, latest.latest_message, events, False, None, {}, "action_listen")


async def test_a_thumbs_down_keeps_the_question_and_the_entry(bank_db: str) -> None:
    payload = '/rate_answer{"answer_key":"vax-third","rating":"down"}'
    pressed = ranked(payload, ("rate_answer", 1.0), **{ENTRY_SLOT: "vax-third", RATING: DOWN})
    said = await run(ActionRateAnswer(), _with_history(pressed, "mũi 3 tiêm ở đâu vậy"))
    assert said.names == ["utter_bank_rated_down"]
    (kept,) = asked(bank_db)
    assert (kept.outcome, kept.entry_key, kept.text) == (DOWN, "vax-third", "mũi 3 tiêm ở đâu vậy")


async def test_a_rating_without_a_known_value_stores_nothing(bank_db: str) -> None:
    payload = '/rate_answer{"answer_key":"vax-third","rating":"meh"}'
    pressed = ranked(payload, ("rate_answer", 1.0), **{ENTRY_SLOT: "vax-third", RATING: "meh"})
    said = await run(ActionRateAnswer(), pressed)
    assert said.names == ["utter_bank_rated_up"]
    assert asked(bank_db) == []


async def test_two_topics_in_one_message_are_asked_about_with_the_place_kept(bank_db: str) -> None:
    text = "số tổng đài ở phường Tam Thanh là gì, với lại ở đó có bị phong tỏa không"
    said = await run(
        ActionReply(), ranked(text, ("ask_hotline", 0.46), ("ask_lockdown_status", 0.41))
    )
    assert said.names == ["utter_bank_which"]
    assert [b["payload"] for b in said.buttons()] == ["/ask_hotline", "/ask_lockdown_status"]
    assert str(said.slot("place_code")).startswith("c:")


async def test_unsure_loa_asks_whether_it_is_one_of_the_close_entries(
    bank_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every match is too weak to answer and close enough to ask about.
    unsure = replace(route.LIMITS, bank=1.1, bank_low=1.1, ask_bank=0.01, ask_window=1.0)
    monkeypatch.setattr(route, "LIMITS", unsure)
    text = "tiêm mũi 3 ở phường Tam Thanh có chữa được covid không"
    said = await run(ActionAnswerQuestion(), ranked(text, ("nlu_fallback", 0.4)))
    assert said.names == ["utter_bank_ask"]
    assert "không muốn trả lời đoán" in said.texts[0]
    buttons = said.buttons()
    assert [b["title"] for b in buttons[:2]] == [
        "tiêm vắc xin mũi 3 ở đâu",
        "uống nước chanh nóng có chữa được covid không",
    ]
    assert {b["payload"] for b in buttons[:2]} == {
        '/choose_answer{"answer_key":"vax-third"}',
        '/choose_answer{"answer_key":"rumour-lemon"}',
    }
    assert buttons[-1] == {"title": "Không phải, tôi hỏi điều khác", "payload": "/choose_answer"}
    assert str(said.slot("place_code")).startswith("c:")  # a topic button keeps the place
    assert asked(bank_db) == []  # nothing said "I don't know" yet


async def test_a_topic_loa_is_unsure_of_is_offered_as_a_button(
    bank_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(route, "LIMITS", replace(route.LIMITS, ask_bank=1.1))
    text = "dạo này khu nào đang bị phong tỏa nhỉ"
    said = await run(ActionTellLockdownStatus(), ranked(text, ("ask_lockdown_status", 0.6)))
    assert said.names == ["utter_bank_ask"]
    assert [b["payload"] for b in said.buttons()] == ["/ask_lockdown_status", "/choose_answer"]


async def test_none_of_these_says_loa_does_not_know_and_keeps_the_question(bank_db: str) -> None:
    pressed = ranked("/choose_answer", ("choose_answer", 1.0))
    question = "tiêm mũi 3 xong uống chanh được không"
    said = await run(ActionAnswerQuestion(), _with_history(pressed, question))
    assert said.names == ["utter_bank_unknown"]
    (kept,) = asked(bank_db)
    assert (kept.outcome, kept.text, kept.entry_key) == (UNKNOWN, question, None)


def test_every_topic_loa_may_offer_has_a_button_title() -> None:
    titled = set(TOPIC_TITLES)
    assert titled.issuperset(route.OFFERABLE) and titled.issuperset(route.ASKABLE)
