"""``forget_me`` through its actions: Loa asks first; only a yes erases, and it erases the
person's requests and messages on every channel account — nobody else's."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.privacy import ActionAskForgetMe, ActionForgetMe
from bot.helpdesk import requests
from bot.helpdesk.urgency import Urgency
from bot.storage.conversations import ANSWERED, INBOUND, Message, Person, account_for
from bot.storage.engine import sessions
from bot.storage.helpdesk import NORMAL, HelpRequest
from tests.actions.conftest import Said, responses

DATABASES = ("sqlite", "postgresql")
pytestmark = pytest.mark.usefixtures("content_db")

DONG_KINH = 5977  # Phường Đông Kinh, Tỉnh Lạng Sơn


def message(
    text: str,
    *,
    intent: str,
    entities: dict[str, str] | None = None,
    sender: str = "telegram:7",
    confidence: float = 1.0,
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": intent, "confidence": confidence}],
        "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
    }
    return Tracker(sender, {}, latest, [], False, None, {}, "action_listen")


async def act(action: Action, tracker: Tracker) -> Said:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return Said(dispatcher.messages, [dict(e) for e in events])


def person_with_a_request(database_url: str, sender: str, key: str) -> int:
    """A person who wrote once and filed a request; returns their person id."""
    channel, _, external_id = sender.partition(":")
    with sessions(database_url)() as session:
        account = account_for(session=session, channel=channel, external_id=external_id)
        session.add(
            Message(
                account_id=account.id,
                channel=channel,
                direction=INBOUND,
                text="nhà tôi ở 12 Lê Lợi, số 0912345678",
                status=ANSWERED,
            )
        )
        session.commit()
        draft = requests.draft(
            needs=["food"],
            description="Hết gạo",
            commune_code=DONG_KINH,
            address_detail="12 Lê Lợi",
            people_count=2,
            phone="0912345678",
            consent=True,
        )
        requests.create(
            session=session,
            account_id=account.id,
            client_key=key,
            request=draft,
            level=Urgency(NORMAL),
        )
        return account.person_id


def state(database_url: str, person_id: int) -> dict[str, Any]:
    with sessions(database_url)() as session:
        person = session.get(Person, person_id)
        assert person is not None
        accounts = [a.id for a in person.accounts]
        return {
            "phones": list(
                session.scalars(select(HelpRequest.phone).where(HelpRequest.person_id == person_id))
            ),
            "texts": list(
                session.scalars(select(Message.text).where(Message.account_id.in_(accounts)))
            ),
            "asked": person.forget_asked_at is not None,
        }


async def test_loa_asks_before_erasing_anything(content_db: str) -> None:
    me = person_with_a_request(content_db, "telegram:7", "k1")
    said = await act(ActionAskForgetMe(), message("xóa dữ liệu của tôi", intent="forget_me"))
    assert said.names == ["utter_ask_forget_me"]
    buttons = responses()["utter_ask_forget_me"][0]["buttons"]
    assert [b["title"] for b in buttons] == ["Xóa dữ liệu", "Không xóa"]
    assert state(content_db, me)["phones"] == ["0912345678"]


@pytest.mark.parametrize(
    ("text", "intent", "entities"),
    [
        (
            '/forget_me_choose{"forget_me_choice":"no"}',
            "forget_me_choose",
            {"forget_me_choice": "no"},
        ),
        ("thôi không", "deny", None),
    ],
)
async def test_a_no_keeps_everything(
    content_db: str, text: str, intent: str, entities: dict[str, str] | None
) -> None:
    me = person_with_a_request(content_db, "telegram:7", "k1")
    said = await act(ActionForgetMe(), message(text, intent=intent, entities=entities))
    assert said.names == ["utter_forget_me_kept"]
    assert state(content_db, me) == {
        "phones": ["0912345678"],
        "texts": ["nhà tôi ở 12 Lê Lợi, số 0912345678"],
        "asked": False,
    }


@pytest.mark.parametrize(
    ("text", "intent", "entities"),
    [
        (
            '/forget_me_choose{"forget_me_choice":"yes"}',
            "forget_me_choose",
            {"forget_me_choice": "yes"},
        ),
        ("đồng ý", "affirm", None),
    ],
)
async def test_a_yes_erases_this_person_only(
    content_db: str, text: str, intent: str, entities: dict[str, str] | None
) -> None:
    me = person_with_a_request(content_db, "telegram:7", "k1")
    other = person_with_a_request(content_db, "zalo_oa:8", "k2")
    said = await act(ActionForgetMe(), message(text, intent=intent, entities=entities))
    assert said.names == ["utter_forget_me_done"]
    assert "1 tin nhắn" in said.text and "1 yêu cầu" in said.text
    assert said.events == [{"event": "reset_slots", "timestamp": None}]
    assert state(content_db, me) == {"phones": [None], "texts": [""], "asked": True}
    assert state(content_db, other)["phones"] == ["0912345678"]


async def test_someone_who_never_wrote_is_told_nothing_was_there(content_db: str) -> None:
    said = await act(
        ActionForgetMe(), message("đồng ý", intent="affirm", sender="webchat:never-seen")
    )
    assert said.names == ["utter_forget_me_done"]
    assert "0 tin nhắn" in said.text
