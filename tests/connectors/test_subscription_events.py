"""What channels say about a person ends or keeps their announcements, through the real
webhooks: a Zalo OA unfollow and a Telegram block end what that account carried (once, also
when the event comes again); a bare "STOP" / "HỦY" / "/stop" reaches the assistant as the
unsubscribe intent on every channel, and longer messages stay as typed."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.alerts import subscriptions
from bot.alerts.subscriptions import AreaCode
from bot.clock import utcnow
from bot.storage.alerts import BLOCKED, UNFOLLOWED, Subscription
from bot.storage.conversations import account_for
from testkit.fakes import telegram as tg
from testkit.fakes import zalo_oa as oa
from tests.channels_rig import TELEGRAM_SECRET, Rig, fixture, rig, wait_for, zalo_oa_headers

DATABASES = ("sqlite", "postgresql")
GOOD_TG = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
TAM_THANH, DONG_DANG = AreaCode(20, 5986), AreaCode(20, 6184)


@pytest.fixture
def app(database_url, session_factory) -> Iterator[Rig]:
    with rig(database_url, session_factory) as r:
        yield r


def subscribe(app: Rig, channel: str, external_id: str, *areas: AreaCode) -> int:
    """Subscribe a channel account (made if new); its id."""
    with app.sessions.begin() as session:
        account = account_for(session=session, channel=channel, external_id=external_id)
        subscriptions.subscribe(session=session, account_id=account.id, areas=areas, now=utcnow())
        return account.id


def ended(app: Rig) -> dict[tuple[int, str], str | None]:
    """Every subscription: (account id, area key) → why it ended (None: still active)."""
    with app.sessions() as session:
        rows = session.scalars(select(Subscription)).all()
        return {(r.account_id, r.area_key): r.end_reason for r in rows}


def zalo_event(name: str, user: str) -> bytes:
    """A follow/unfollow event as Zalo posts it, dated now."""
    event = json.loads(fixture(f"zalo_oa_{name}.json"))
    event["follower"]["id"] = user
    event["timestamp"] = str(int(utcnow().timestamp() * 1000))
    return json.dumps(event).encode()


def kicked(update_id: int, chat: int, status: str = "kicked") -> dict:
    update = json.loads(fixture("telegram_kicked.json"))
    update["update_id"] = update_id
    update["my_chat_member"]["chat"]["id"] = chat
    update["my_chat_member"]["new_chat_member"]["status"] = status
    return update


def test_a_zalo_unfollow_ends_what_that_account_carried(app: Rig) -> None:
    gone = subscribe(app, "zalo_oa", "8800002", TAM_THANH, DONG_DANG)
    stays = subscribe(app, "zalo_oa", "8800003", TAM_THANH)
    raw = zalo_event("unfollow", "8800002")
    assert app.post("/webhooks/zalo-oa", raw, zalo_oa_headers(raw)).status_code == 200
    assert ended(app) == {
        (gone, TAM_THANH.key): UNFOLLOWED,
        (gone, DONG_DANG.key): UNFOLLOWED,
        (stays, TAM_THANH.key): None,
    }
    # The same event again is a repeat: nothing changes, nothing reaches the assistant.
    assert app.post("/webhooks/zalo-oa", raw, zalo_oa_headers(raw)).status_code == 200
    app.settle()
    assert ended(app)[(gone, TAM_THANH.key)] == UNFOLLOWED
    assert app.rasa.received == []


def test_a_telegram_block_ends_them_and_an_unblock_does_not_restart_them(app: Rig) -> None:
    blocked = subscribe(app, "telegram", "555001", DONG_DANG)
    assert app.post("/webhooks/telegram", kicked(7001, 555001), GOOD_TG).status_code == 200
    assert ended(app) == {(blocked, DONG_DANG.key): BLOCKED}
    assert app.post("/webhooks/telegram", kicked(7002, 555001, "member"), GOOD_TG).is_success
    assert ended(app) == {(blocked, DONG_DANG.key): BLOCKED}  # a new consent is needed


def test_a_follow_is_greeted_with_the_offer(app: Rig) -> None:
    raw = zalo_event("follow", "8800009")
    assert app.post("/webhooks/zalo-oa", raw, zalo_oa_headers(raw)).status_code == 200
    [asked] = wait_for(lambda: app.rasa.received)
    assert (asked["sender"], asked["message"]) == ("zalo_oa:8800009", "/start_chat")


START_LINKS = [  # Telegram sends "/start <parameter>" for t.me/<bot>?start=<parameter>
    ("/start xa_6187", '/subscribe_alerts{"place_code": "c:6187"}'),
    ("/start@LoaLangSonBot xa_5986", '/subscribe_alerts{"place_code": "c:5986"}'),
    ("/start", "/start_chat"),
    ("/start xa_", "/start_chat"),  # no code: the greeting, as for any other parameter
    ('/start xa_1"}', "/start_chat"),  # nothing but digits gets into the payload
    ("/start xa_123456789", "/start_chat"),
]


@pytest.mark.parametrize(("text", "reaches_rasa"), START_LINKS, ids=[t for t, _ in START_LINKS])
def test_the_public_pages_start_link_offers_that_communes_announcements(
    app: Rig, text: str, reaches_rasa: str
) -> None:
    """The commune page's Telegram link names the commune; the offer still asks for consent."""
    update = tg.update_message(8100, 555020, text)
    assert app.post("/webhooks/telegram", update, GOOD_TG).status_code == 200
    [received] = wait_for(lambda: app.rasa.received)
    assert (received["sender"], received["message"]) == ("telegram:555020", reaches_rasa)


STOP = "/unsubscribe_alerts"
WORDS = [
    ("STOP", STOP),
    ("stop", STOP),
    ("Stop!", STOP),
    ("HỦY", STOP),
    ("hủy", STOP),
    ("Huỷ", STOP),  # the other tone-mark placement
    ("huy", STOP),
    ("/stop", STOP),
    ("/STOP", STOP),
    ("hủy đăng ký nhận tin", "hủy đăng ký nhận tin"),  # a sentence: the assistant reads it
    ("stop gửi tin đi", "stop gửi tin đi"),
    ("Huy ơi", "Huy ơi"),
]


@pytest.mark.parametrize(("text", "reaches_rasa"), WORDS, ids=[w[0] for w in WORDS])
def test_a_bare_stop_word_is_the_unsubscribe_intent_on_every_channel(
    app: Rig, text: str, reaches_rasa: str
) -> None:
    update = tg.update_message(8001, 555010, text)
    assert app.post("/webhooks/telegram", update, GOOD_TG).status_code == 200
    event = oa.user_send_text("8800010", text)
    raw = json.dumps(event).encode()
    assert app.post("/webhooks/zalo-oa", raw, zalo_oa_headers(raw)).status_code == 200
    received = wait_for(lambda: len(app.rasa.received) >= 2 and app.rasa.received)
    assert sorted((r["sender"], r["message"]) for r in received) == [
        ("telegram:555010", reaches_rasa),
        ("zalo_oa:8800010", reaches_rasa),
    ]
