"""The false-information report through its actions: the claim taken from the first message
or asked, "hủy" at any question, the summary, filed once however often it is confirmed, and a
claim already checked answered with its verdict at once."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.false_info import (
    ActionAskFalseInfoConfirm,
    ActionStartFalseInfo,
    ActionSubmitFalseInfo,
    ValidateFalseInfoForm,
)
from bot.helpdesk import reports
from bot.storage.engine import sessions
from bot.storage.reports import FALSE, FalseInfoReport
from tests.actions.conftest import DOMAIN, Said

DATABASES = ("sqlite", "postgresql")
pytestmark = pytest.mark.usefixtures("content_db")

FORM = "false_info_form"
CLAIM = "Có tin trên Facebook nói uống nước lá ổi chữa khỏi bệnh: https://example.vn/la-oi"
FILLED: dict[str, Any] = {
    "false_info_claim": CLAIM,
    "false_info_where": "nhóm Zalo tổ dân phố",
    "false_info_confirm": "send",
    "false_info_key": "report-key-1",
}


def press(choice: str) -> tuple[str, dict[str, str]]:
    return f'/false_info_choose{{"false_info_choice":"{choice}"}}', {"false_info_choice": choice}


def message(
    text: str,
    *,
    asked: str | None = None,
    slots: dict[str, Any] | None = None,
    entities: dict[str, str] | None = None,
    intent: str = "report_false_info",
    confidence: float = 1.0,
    sender: str = "webchat:alice",
    after: str = "action_listen",
    loop: bool = True,
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": intent, "confidence": confidence}],
        "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
    }
    values = dict(slots or {})
    events: list[dict[str, Any]] = []
    if asked:
        values |= {"requested_slot": asked, asked: text}
        events.append({"event": "slot", "name": asked, "value": text})
    active = {"name": FORM} if loop else {}
    return Tracker(sender, values, latest, events, False, None, active, after)


async def act(action: Action, tracker: Tracker) -> Said:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, DOMAIN)
    return Said(dispatcher.messages, [dict(e) for e in events])


def stored(database_url: str) -> list[FalseInfoReport]:
    with sessions(database_url)() as session:
        return list(session.scalars(select(FalseInfoReport).order_by(FalseInfoReport.id)))


async def test_a_message_carrying_the_claim_fills_it_and_a_bare_one_does_not() -> None:
    said = await act(ActionStartFalseInfo(), message(CLAIM, loop=False))
    assert said.slot("false_info_claim") == CLAIM
    assert said.slot("false_info_key")
    assert said.names[0] == "utter_false_info_start"
    bare = await act(ActionStartFalseInfo(), message("tôi muốn báo tin giả", loop=False))
    assert "false_info_claim" not in {e.get("name") for e in bare.events if e.get("value")}


async def test_an_empty_claim_is_asked_again_and_a_huge_one_is_trimmed() -> None:
    said = await act(ValidateFalseInfoForm(), message("🙂🙂", asked="false_info_claim"))
    assert said.slot("false_info_claim") is None
    assert said.names == ["utter_false_info_claim_empty"]
    huge = "tin đồn " * 1000
    said = await act(ValidateFalseInfoForm(), message(huge, asked="false_info_claim"))
    assert len(said.slot("false_info_claim")) == reports.MAX_CLAIM
    assert said.names == ["utter_false_info_claim_trimmed"]


async def test_where_it_was_seen_may_be_left_out() -> None:
    text, skip = press("skip")
    said = await act(
        ValidateFalseInfoForm(), message(text, asked="false_info_where", entities=skip)
    )
    assert said.slot("false_info_where") == ""
    said = await act(ValidateFalseInfoForm(), message("không nhớ", asked="false_info_where"))
    assert said.slot("false_info_where") == ""
    said = await act(ValidateFalseInfoForm(), message("nhóm Zalo khu 5", asked="false_info_where"))
    assert said.slot("false_info_where") == "nhóm Zalo khu 5"


@pytest.mark.parametrize("word", ["hủy", "thôi", "/stop", "dừng lại"])
async def test_a_cancel_word_at_any_question_ends_the_form(word: str) -> None:
    said = await act(ValidateFalseInfoForm(), message(word, asked="false_info_where"))
    assert said.slot("false_info_confirm") == "cancelled"
    assert {"event": "active_loop", "name": None} in [
        {"event": e["event"], "name": e.get("name")} for e in said.events
    ]


async def test_the_summary_reads_the_claim_back_with_send_and_cancel() -> None:
    said = await act(ActionAskFalseInfoConfirm(), message("", slots=FILLED))
    assert "uống nước lá ổi" in said.text and "nhóm Zalo tổ dân phố" in said.text
    assert [b["title"] for b in said.buttons()] == ["Gửi báo cáo", "Hủy"]


async def test_a_report_confirmed_twice_is_filed_once(content_db: str) -> None:
    text, send = press("send")
    first = await act(
        ActionSubmitFalseInfo(), message(text, slots=FILLED, entities=send, after="false_info_form")
    )
    again = await act(
        ActionSubmitFalseInfo(), message(text, slots=FILLED, entities=send, after="action_listen")
    )
    rows = stored(content_db)
    assert len(rows) == 1 and rows[0].claim == CLAIM
    assert rows[0].code in first.text and first.names == ["utter_false_info_filed"]
    assert again.names == ["utter_false_info_replayed"]


async def test_a_cancelled_form_stores_nothing(content_db: str) -> None:
    said = await act(
        ActionSubmitFalseInfo(),
        message("hủy", slots=FILLED | {"false_info_confirm": "cancelled"}, after="false_info_form"),
    )
    assert said.names == ["utter_false_info_cancelled"]
    assert stored(content_db) == []


async def test_a_claim_already_checked_gets_its_verdict_at_once(content_db: str) -> None:
    text, send = press("send")
    await act(
        ActionSubmitFalseInfo(), message(text, slots=FILLED, entities=send, after="false_info_form")
    )
    first = stored(content_db)[0]
    with sessions(content_db)() as session:
        reports.publish(
            session=session,
            code=first.code,
            version=first.version,
            inspector_id=None,
            verdict=FALSE,
            text="Lá ổi không chữa được bệnh.",
            tell=lambda *_: None,
        )
    later = await act(
        ActionSubmitFalseInfo(),
        message(
            text,
            slots=FILLED | {"false_info_key": "report-key-2"},
            entities=send,
            sender="telegram:42",
            after="false_info_form",
        ),
    )
    assert "SAI" in later.text and "Lá ổi không chữa được bệnh." in later.text
    assert len(stored(content_db)) == 2


async def test_nothing_is_filed_when_the_form_was_not_confirmed(content_db: str) -> None:
    text, send = press("send")
    said = await act(
        ActionSubmitFalseInfo(),
        message(text, slots={}, entities=send, after="action_listen"),
    )
    assert said.names == ["utter_false_info_nothing_to_send"]
    with sessions(content_db)() as session:
        assert session.scalar(select(func.count()).select_from(FalseInfoReport)) == 0
