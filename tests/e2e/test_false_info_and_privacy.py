"""A rumour reported end to end through the web chat (the claim taken from the first message,
where it was seen, the summary, "Gửi báo cáo" twice: one report), then "xóa dữ liệu của tôi":
asked first, then the person's messages erased in the log, and nobody else's."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from sqlalchemy import select

from bot.storage.conversations import ChannelAccount, Message, Person
from bot.storage.engine import sessions
from bot.storage.reports import FalseInfoReport
from tests.e2e.chat import joined, say
from tests.e2e.conftest import RunningStack
from tests.e2e.responses import response_texts

pytestmark = pytest.mark.slow

CLAIM = "báo tin giả: nhóm zalo đang chia sẻ tin uống nước lá ổi khỏi bệnh https://example.vn/la-oi"


def press(intent: str, entity: str, choice: str) -> str:
    return f'/{intent}{{"{entity}":"{choice}"}}'


def opening(response: str) -> str:
    return response_texts()[response][0].split("{")[0]


def test_a_rumour_reported_then_the_person_asks_to_be_forgotten(
    http: httpx.Client, stack: RunningStack
) -> None:
    me, other = str(uuid.uuid4()), str(uuid.uuid4())
    say(http, "số đường dây nóng", sender=other)

    def turn(text: str | None = None, payload: str | None = None) -> tuple[str, list[str]]:
        replies = say(http, text, sender=me, payload=payload, patient=True)
        return joined(replies), [b["payload"] for r in replies for b in r["buttons"]]

    started, _ = turn(CLAIM)
    assert started.startswith(opening("utter_false_info_start")), started
    assert opening("utter_ask_false_info_where") in started  # the claim was in the message
    summary, buttons = turn("nhóm Zalo tổ dân phố")
    assert summary.startswith(opening("utter_false_info_summary")), summary
    assert "nước lá ổi" in summary and "nhóm Zalo tổ dân phố" in summary
    send = press("false_info_choose", "false_info_choice", "send")
    assert buttons[0] == send
    filed, _ = turn(payload=send)
    code = re.search(r"TG-\d{2}-\d{6}", filed)
    assert filed.startswith(opening("utter_false_info_filed")) and code is not None, filed
    again, _ = turn(payload=send)
    assert again.startswith(opening("utter_false_info_replayed")) and code[0] in again
    with sessions(stack.database_url)() as session:
        rows = list(session.scalars(select(FalseInfoReport)))
    my_account = rows[0].account_id  # the web chat names the conversation (its cookie)
    assert [(r.code, r.link, r.seen_where) for r in rows] == [
        (code[0], "https://example.vn/la-oi", "nhóm Zalo tổ dân phố")
    ]

    asked, buttons = turn("xóa dữ liệu của tôi")
    assert asked.startswith(opening("utter_ask_forget_me")), asked
    yes = press("forget_me_choose", "forget_me_choice", "yes")
    assert buttons == [yes, press("forget_me_choose", "forget_me_choice", "no")]
    done, _ = turn(payload=yes)
    assert done.startswith(opening("utter_forget_me_done")), done

    with sessions(stack.database_url)() as session:
        mine = session.get(ChannelAccount, my_account)
        theirs = session.scalar(
            select(ChannelAccount)
            .join(Message, Message.account_id == ChannelAccount.id)
            .where(Message.text == "số đường dây nóng")
        )
        assert mine is not None and theirs is not None
        person = session.get(Person, mine.person_id)
        assert person is not None and person.forget_asked_at is not None
        my_texts = list(session.scalars(select(Message.text).where(Message.account_id == mine.id)))
        their_texts = list(
            session.scalars(select(Message.text).where(Message.account_id == theirs.id))
        )
    # Everything said before the request is erased (Loa's answer to it comes after).
    assert CLAIM not in my_texts and "nhóm Zalo tổ dân phố" not in my_texts
    assert "số đường dây nóng" in their_texts
