"""Announcements subscribed end to end on Telegram, with the trained model: a place named, the
offer and "Đồng ý", "tôi đang nhận tin ở đâu?" lists it, "STOP" ends it, and the list is
empty again — the rows in the database say the same."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.alerts import templates
from bot.storage.alerts import ASKED, Subscription
from bot.storage.engine import sessions
from testkit import http
from testkit.fakes import telegram as tg
from tests.channels_rig import TELEGRAM_SECRET, wait_for
from tests.e2e.conftest import ChannelFakes, RunningStack
from tests.e2e.responses import response_texts

pytestmark = pytest.mark.slow
SECRET = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
CHAT = 93001


def opening(response: str) -> str:
    return response_texts()[response][0].split("{")[0]


def test_subscribe_list_stop_and_none_left(
    stack: RunningStack, channel_fakes: ChannelFakes
) -> None:
    fake = channel_fakes.telegram
    update_id = iter(range(9300101, 9300200))

    # A new subscriber's first bulletin is sent by the delivery worker whenever it runs: it
    # may arrive between any two answers, so it is not taken for one.
    bulletin = templates.words()["digest_head"].split("{")[0]

    def answers() -> list[dict]:
        mine = [m for m in fake.sent if m["chat_id"] == CHAT]
        return [m for m in mine if not str(m.get("text", "")).startswith(bulletin)]

    def turn(update: dict) -> dict:
        """Post one update and wait for the one answer it gets."""
        seen = len(answers())
        response = http.post(f"{stack.app_url}/webhooks/telegram", json=update, headers=SECRET)
        assert response.status_code == 200
        mine = wait_for(lambda: answers()[seen:] or None, timeout=60)
        return mine[-1]

    def say(text: str) -> dict:
        return turn(tg.update_message(next(update_id), CHAT, text))

    def buttons(reply: dict) -> dict[str, str]:
        keyboard = (reply.get("reply_markup") or {}).get("inline_keyboard") or []
        return {b["text"]: b["callback_data"] for row in keyboard for b in row}

    offer = say("cho mình đăng ký nhận tin ở phường Tam Thanh")
    assert offer["text"].startswith(opening("utter_subscription_offer")), offer["text"]
    assert "Phường Tam Thanh" in offer["text"] and "STOP" in offer["text"]
    with sessions(stack.database_url)() as session:
        assert session.scalars(select(Subscription)).all() == []  # not before the yes

    done = turn(tg.update_callback(next(update_id), CHAT, buttons(offer)["Đồng ý"]))
    assert done["text"].startswith(opening("utter_subscription_done")), done["text"]

    listed = say("tôi đang nhận tin ở đâu?")
    assert listed["text"].startswith(opening("utter_subscription_list")), listed["text"]
    assert "Phường Tam Thanh, Tỉnh Lạng Sơn" in listed["text"]

    stopped = say("STOP")
    assert stopped["text"].startswith(opening("utter_unsubscribe_done")), stopped["text"]
    assert "Đăng ký lại" in buttons(stopped)

    none = say("mình đang nhận thông báo của những khu nào vậy")
    assert none["text"].startswith(opening("utter_subscription_none")), none["text"]
    with sessions(stack.database_url)() as session:
        [row] = session.scalars(select(Subscription)).all()
        assert (row.commune_code, row.end_reason) == (5986, ASKED)
        assert row.consent_at is not None and row.ended_at is not None
    assert fake.violations == []


def test_the_public_pages_telegram_link_offers_its_commune_to_a_newcomer(
    stack: RunningStack, channel_fakes: ChannelFakes
) -> None:
    """t.me/<bot>?start=xa_6184 from Đồng Đăng's page: a person who never wrote presses Start
    and is asked at once whether they agree to Đồng Đăng's announcements — nothing stored
    before "Đồng ý"."""
    fake, chat = channel_fakes.telegram, 93002
    update = tg.update_message(9300301, chat, "/start xa_6184")
    response = http.post(f"{stack.app_url}/webhooks/telegram", json=update, headers=SECRET)
    assert response.status_code == 200
    [offer] = wait_for(lambda: [m for m in fake.sent if m["chat_id"] == chat] or None, timeout=60)
    assert offer["text"].startswith(opening("utter_subscription_offer")), offer["text"]
    assert "Đồng Đăng" in offer["text"]
    keyboard = (offer.get("reply_markup") or {}).get("inline_keyboard") or []
    assert "Đồng ý" in {b["text"] for row in keyboard for b in row}
    with sessions(stack.database_url)() as session:
        assert (
            session.scalars(select(Subscription).where(Subscription.commune_code == 6184)).all()
            == []
        )
