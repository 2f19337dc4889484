"""The help-request form through its actions: each answer validated (bad input asked again,
politely), "hủy" at any question, the summary, filing once however often it is confirmed, the
start after an emergency triage, and the status only for the person who filed it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.help_request import (
    ActionAskHelpRequestConfirm,
    ActionAskHelpRequestNeeds,
    ActionAskHelpRequestPhone,
    ActionAskHelpRequestPlace,
    ActionStartHelpRequest,
    ActionSubmitHelpRequest,
    ActionTellRequestStatus,
    ValidateHelpRequestForm,
)
from bot.clock import utcnow
from bot.helpdesk import requests
from bot.storage.conversations import account_for
from bot.storage.engine import sessions
from bot.storage.helpdesk import IN_PROGRESS, HelpRequest
from connectors.base import share_phone_detail
from tests.actions.conftest import DOMAIN, Said, responses

DATABASES = ("sqlite", "postgresql")
pytestmark = pytest.mark.usefixtures("content_db")

FORM = "help_request_form"
DONG_KINH = "c:5977"  # Phường Đông Kinh, Tỉnh Lạng Sơn
FILLED: dict[str, Any] = {
    "help_request_needs": ["food"],
    "help_request_description": "Nhà 4 người đang cách ly, hết gạo từ hôm qua.",
    "help_request_place": DONG_KINH,
    "help_request_address": "12 Lê Lợi",
    "help_request_people": 4,
    "help_request_consent": True,
    "help_request_phone": "0912345678",
    "help_request_confirm": "send",
    "help_request_key": "form-key-1",
}


def press(choice: str) -> tuple[str, dict[str, str]]:
    return f'/help_request_choose{{"help_request_choice":"{choice}"}}', {
        "help_request_choice": choice
    }


def message(
    text: str,
    *,
    asked: str | None = None,
    slots: dict[str, Any] | None = None,
    entities: dict[str, str] | None = None,
    intent: str = "nlu_fallback",
    sender: str = "webchat:alice",
    after: str = "action_listen",
    loop: bool = True,
) -> Tracker:
    """A tracker as Rasa sends it: inside the form, the answer ``text`` to slot ``asked``
    (the slot candidate is the last event, as the form puts it)."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
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


async def answer(slot: str, text: str, **kwargs: Any) -> Said:
    return await act(ValidateHelpRequestForm(), message(text, asked=slot, **kwargs))


def stored(database_url: str) -> int:
    with sessions(database_url)() as session:
        return session.scalar(select(func.count()).select_from(HelpRequest)) or 0


# ----------------------------------------------------------------------------- needs


async def test_the_message_that_starts_the_form_answers_nothing() -> None:
    """At activation Rasa passes the slots the start action reset as candidates."""
    tr = message("nhà tôi hết gạo rồi", intent="request_help", slots={"requested_slot": None})
    tr.events = [{"event": "slot", "name": s, "value": None} for s in FILLED]
    said = await act(ValidateHelpRequestForm(), tr)
    assert (said.messages, said.events) == ([], [])


async def test_needs_are_pressed_one_by_one_then_done() -> None:
    text, chosen = press("food")
    said = await answer("help_request_needs", text, entities=chosen)
    assert said.slot("help_request_needs") is None  # asked again, with food chosen
    assert said.slot("help_request_needs_picked") == ["food"]
    shown = await act(
        ActionAskHelpRequestNeeds(), message("", slots={"help_request_needs_picked": ["food"]})
    )
    titles = [b["title"] for b in shown.buttons()]
    assert "Lương thực, thực phẩm" not in titles and titles[-1] == "Xong"
    assert "Đã chọn: Lương thực, thực phẩm." in shown.text
    text, done = press("done")
    said = await answer(
        "help_request_needs", text, entities=done, slots={"help_request_needs_picked": ["food"]}
    )
    assert said.slot("help_request_needs") == ["food"]


@pytest.mark.parametrize(
    ("typed", "needs"),
    [
        ("gạo", ["food"]),
        ("thuốc", ["medicine"]),
        ("bình oxy", ["oxygen_transport"]),
        ("cần gạo với thuốc ạ", ["food", "medicine"]),
        ("can xe cap cuu", ["oxygen_transport"]),
    ],
)
async def test_needs_typed_in_words(typed: str, needs: list[str]) -> None:
    said = await answer("help_request_needs", typed)
    assert said.slot("help_request_needs") == needs


@pytest.mark.parametrize("typed", ["🙏🙏", "ờ thì", "Xong"])
async def test_needs_not_understood_are_asked_again(typed: str) -> None:
    said = await answer("help_request_needs", typed)
    assert said.slot("help_request_needs") is None
    assert said.names in (["utter_help_request_needs_unknown"], ["utter_help_request_needs_none"])


# ----------------------------------------------------------------------------- description


async def test_a_5000_character_description_is_trimmed_with_a_note() -> None:
    said = await answer("help_request_description", "Nhà tôi hết gạo. " * 300)
    kept = said.slot("help_request_description")
    assert len(kept) == requests.MAX_DESCRIPTION and kept.endswith("…")
    assert said.names == ["utter_help_request_description_trimmed"]
    assert "2,000 ký tự" in said.text


async def test_html_in_the_description_is_kept_as_text() -> None:
    html = '<script>alert("x")</script> <b>hết gạo</b>'
    said = await answer("help_request_description", html)
    assert said.slot("help_request_description") == html
    assert said.names == []


async def test_an_emoji_only_description_is_asked_again() -> None:
    said = await answer("help_request_description", "😭😭😭")
    assert said.slot("help_request_description") is None
    assert said.names == ["utter_help_request_description_empty"]


async def test_a_danger_sign_in_the_description_says_115() -> None:
    said = await answer("help_request_description", "bố tôi khó thở, môi tím tái")
    assert said.slot("help_request_description") == "bố tôi khó thở, môi tím tái"
    assert said.names == ["utter_help_request_danger"] and "115" in said.text


# ----------------------------------------------------------------------------- place


async def test_the_remembered_place_is_offered_first() -> None:
    said = await act(ActionAskHelpRequestPlace(), message("", slots={"place_code": DONG_KINH}))
    [button] = said.buttons()
    assert button["title"] == "Đúng, ở Phường Đông Kinh, Tỉnh Lạng Sơn"
    text = button["payload"]
    pressed = await answer("help_request_place", text, entities={"place_code": DONG_KINH})
    assert pressed.slot("help_request_place") == DONG_KINH


@pytest.mark.parametrize(
    ("sender", "offered"),
    [("telegram:4242", True), ("zalo_oa:7001", True), ("webchat:alice", False),
     ("zalo_bot:77", False)],
)  # fmt: skip
async def test_the_phone_question_offers_a_one_tap_share_where_the_channel_can(
    sender: str, offered: bool
) -> None:
    said = await act(ActionAskHelpRequestPhone(), message("", sender=sender))
    assert said.names == ["utter_ask_help_request_phone"]
    shares = [b for b in said.buttons() if share_phone_detail(b["payload"]) is not None]
    assert len(shares) == (1 if offered else 0)
    if offered:
        assert shares[0]["title"] == "📱 Gửi số điện thoại của tôi"
        assert "Chỉ cán bộ phụ trách" in (share_phone_detail(shares[0]["payload"]) or "")


@pytest.mark.parametrize(
    ("typed", "key", "response"),
    [
        ("phường Đông Kinh", DONG_KINH, None),
        ("dong kinh", DONG_KINH, None),
        ("xyzabc qwe", None, "utter_help_request_place_unknown"),
        ("Lạng Sơn", None, "utter_help_request_place_commune"),  # a province: which commune?
        ("huyện Cao Lộc", None, "utter_help_request_place_commune"),  # an old, split district
    ],
)
async def test_a_typed_place(typed: str, key: str | None, response: str | None) -> None:
    said = await answer("help_request_place", typed)
    assert said.slot("help_request_place") == key
    assert said.names == ([response] if response else [])


async def test_a_split_old_district_offers_its_communes() -> None:
    said = await answer("help_request_place", "huyện Cao Lộc")
    payloads = [b["payload"] for b in said.buttons()]
    assert payloads and all(p.startswith('/inform_place{"place_code":"c:') for p in payloads)


# ----------------------------------------------------------------------------- address, people


async def test_the_address_may_be_skipped() -> None:
    text, skip = press("skip")
    assert (await answer("help_request_address", text, entities=skip)).slot(
        "help_request_address"
    ) == ""
    assert (await answer("help_request_address", "bỏ qua")).slot("help_request_address") == ""
    assert (await answer("help_request_address", "x" * 301)).slot("help_request_address") is None


@pytest.mark.parametrize(
    ("typed", "count"),
    [("4", 4), ("2 người", 2), ("hai", 2), ("nhà 5 người", 5), ("một mình", 1), ("mười", 10)],
)
async def test_people_as_people_say_it(typed: str, count: int) -> None:
    assert (await answer("help_request_people", typed)).slot("help_request_people") == count


@pytest.mark.parametrize("typed", ["nhiều", "0", "👨‍👩‍👧", "2 hoặc 3", "5000"])
async def test_people_not_understood_are_asked_again(typed: str) -> None:
    said = await answer("help_request_people", typed)
    assert said.slot("help_request_people") is None
    assert said.names == ["utter_help_request_people_again"]


# ----------------------------------------------------------------------------- contact


@pytest.mark.parametrize(
    "typed",
    ["0912345678", "0912 345 678", "0912.345.678", "0912-345-678", "+84912345678",
     "+84 912 345 678", "84912345678", "(+84) 912-345-678", "０９１２３４５６７８"],
)  # fmt: skip
async def test_a_phone_in_every_writing(typed: str) -> None:
    said = await answer("help_request_phone", typed, slots={"help_request_consent": True})
    assert said.slot("help_request_phone") == "0912345678"
    assert said.names == []


async def test_an_old_mobile_prefix_is_read_back_in_its_new_form() -> None:
    said = await answer("help_request_phone", "0168 123 4567")
    assert said.slot("help_request_phone") == "0381234567"
    assert "0381 234 567" in said.text


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("091234", "thiếu chữ số"),
        ("09123456789", "dài hơn"),
        ("115", "số khẩn cấp"),
        ("1900 9095", "số tổng đài"),
        ("+1 202 555 0100", "số điện thoại Việt Nam"),
        ("0412345678", "Đầu số"),
        ("số tôi là không chín", "chỉ gồm chữ số"),
        ("☎️", "chỉ gồm chữ số"),
    ],
)
async def test_an_invalid_phone_is_asked_again_with_the_reason(typed: str, reason: str) -> None:
    said = await answer("help_request_phone", typed)
    assert said.slot("help_request_phone") is None
    assert said.names == ["utter_help_request_phone_again"]
    assert reason in said.text and "0912 345 678" in said.text  # an example


async def test_no_phone_means_no_consent() -> None:
    said = await answer("help_request_phone", "không có", slots={"help_request_consent": True})
    assert (said.slot("help_request_phone"), said.slot("help_request_consent")) == ("", False)
    declined = await answer("help_request_consent", *press("no")[:1], entities=press("no")[1])
    assert (declined.slot("help_request_consent"), declined.slot("help_request_phone")) == (
        False,
        "",
    )
    agreed = await answer("help_request_consent", "đồng ý")
    assert (agreed.slot("help_request_consent"), agreed.slot("help_request_phone")) == (True, None)
    unclear = await answer("help_request_consent", "để xem đã")
    assert unclear.names == ["utter_help_request_consent_again"]


# ----------------------------------------------------------------------------- summary, cancel


async def test_the_summary_reads_every_field_back_with_a_button_per_field() -> None:
    said = await act(ActionAskHelpRequestConfirm(), message("", slots=FILLED))
    for shown in ("Lương thực", "hết gạo từ hôm qua", "Phường Đông Kinh", "12 Lê Lợi",
                  "Số người: 4", "0912 345 678"):  # fmt: skip
        assert shown in said.text
    titles = [b["title"] for b in said.buttons()]
    assert titles[0] == "Gửi yêu cầu" and titles[-1] == "Hủy"
    assert sum(t.startswith("Sửa ") for t in titles) == 6


async def test_editing_one_field_asks_only_that_one_again() -> None:
    text, edit = press("edit_place")
    said = await answer("help_request_confirm", text, entities=edit, slots=FILLED)
    assert said.slot("help_request_place") is None and said.slot("help_request_confirm") is None
    after = FILLED | {e["name"]: e["value"] for e in said.events if e["event"] == "slot"}
    required = DOMAIN["forms"][FORM]["required_slots"]
    # Rasa's form asks the first missing slot: the place, then the summary again.
    assert [s for s in required if after.get(s) is None] == [
        "help_request_place",
        "help_request_confirm",
    ]


@pytest.mark.parametrize("typed", ["hủy", "Thôi", "/stop", "dừng lại", "HUY", "button"])
@pytest.mark.parametrize(
    "slot", ["help_request_needs", "help_request_phone", "help_request_confirm"]
)
async def test_cancel_at_any_question(typed: str, slot: str) -> None:
    entities = {}
    if typed == "button":
        typed, entities = press("cancel")
    said = await answer(slot, typed, entities=entities, slots=FILLED)
    assert said.slot("help_request_confirm") == "cancelled"
    assert {"event": "active_loop", "name": None} in [
        {k: e.get(k) for k in ("event", "name")} for e in said.events
    ]


async def test_cancelled_stores_nothing_and_says_so(content_db: str) -> None:
    slots = {**FILLED, "help_request_confirm": "cancelled"}
    said = await act(ActionSubmitHelpRequest(), message("hủy", slots=slots, after=FORM, loop=False))
    assert said.names == ["utter_help_request_cancelled"]
    assert "chưa được gửi" in said.text and "tôi cần giúp đỡ" in said.text
    assert said.slot("help_request_key") is None and stored(content_db) == 0


# ----------------------------------------------------------------------------- filing


async def test_sent_once_stored_once_however_often_confirmed(content_db: str) -> None:
    text, send = press("send")
    first = await act(
        ActionSubmitHelpRequest(),
        message(text, entities=send, slots=FILLED, after=FORM, loop=False),
    )
    assert first.names == ["utter_help_request_filed"]
    code = first.messages[0]["code"]
    assert code.startswith("HT-") and code in first.text and "yêu cầu của tôi" in first.text
    again = await act(
        ActionSubmitHelpRequest(), message(text, entities=send, slots=FILLED, loop=False)
    )
    assert again.names == ["utter_help_request_replayed"] and code in again.text
    assert stored(content_db) == 1
    with sessions(content_db)() as session:
        row = session.scalar(select(HelpRequest))
        assert row is not None
        assert (row.commune_code, row.phone, row.people_count, row.needs) == (
            5977,
            "0912345678",
            4,
            ("food",),
        )


async def test_a_late_edit_button_stores_nothing(content_db: str) -> None:
    text, edit = press("edit_place")
    said = await act(
        ActionSubmitHelpRequest(), message(text, entities=edit, slots=FILLED, loop=False)
    )
    assert said.names == ["utter_help_request_nothing_to_send"] and stored(content_db) == 0


async def test_a_repeat_for_the_same_need_is_linked(content_db: str) -> None:
    text, send = press("send")
    first = await act(
        ActionSubmitHelpRequest(),
        message(text, entities=send, slots=FILLED, after=FORM, loop=False),
    )
    repeat = {**FILLED, "help_request_key": "form-key-2"}
    said = await act(
        ActionSubmitHelpRequest(),
        message(text, entities=send, slots=repeat, after=FORM, loop=False),
    )
    assert said.names == ["utter_help_request_linked"]
    assert first.messages[0]["code"] in said.text


async def test_an_emergency_description_files_an_emergency(content_db: str) -> None:
    slots = {**FILLED, "help_request_description": "mẹ tôi 80 tuổi khó thở, spo2 89"}
    await act(ActionSubmitHelpRequest(), message("gửi", slots=slots, after=FORM, loop=False))
    with sessions(content_db)() as session:
        row = session.scalar(select(HelpRequest))
        assert row is not None and row.urgency == "emergency"
        assert "danger_signs" in row.urgency_reasons and "elderly" in row.urgency_reasons


# ----------------------------------------------------------------------------- start


async def test_after_an_emergency_triage_the_need_is_prefilled_and_115_first() -> None:
    triaged = {"text": "bố tôi khó thở, spo2 88", "at": utcnow().isoformat()}
    said = await act(
        ActionStartHelpRequest(),
        message("/request_help", intent="request_help", slots={"symptoms_triage": triaged},
                loop=False),
    )  # fmt: skip
    assert said.texts[0].startswith("⚠️ Nếu chưa gọi, bạn hãy gọi ngay 115")
    assert said.slot("help_request_needs") == ["oxygen_transport"]
    assert len(said.slot("help_request_key")) == 32
    assert said.events[-1] == {"event": "followup", "name": FORM, "timestamp": None}


async def test_an_old_triage_prefills_nothing() -> None:
    old = {"text": "bố tôi khó thở", "at": (utcnow() - timedelta(days=2)).isoformat()}
    said = await act(
        ActionStartHelpRequest(),
        message("/request_help", intent="request_help", slots={"symptoms_triage": old},
                loop=False),
    )  # fmt: skip
    assert said.names == ["utter_help_request_start"]
    assert said.slot("help_request_needs") is None


async def test_each_form_gets_a_new_key_and_forgets_the_last_one() -> None:
    said = await act(
        ActionStartHelpRequest(),
        message("nhà tôi hết gạo rồi", intent="request_help", slots=FILLED, loop=False),
    )
    assert said.slot("help_request_key") not in (None, FILLED["help_request_key"])
    assert said.slot("help_request_phone") is None
    assert said.slot("help_request_needs_picked") == ["food"]  # "hết gạo", chosen already
    assert responses()["utter_help_request_start"][0]["text"] == said.texts[0]


# ----------------------------------------------------------------------------- status


async def test_status_for_the_owner_on_any_channel_and_nobody_else(content_db: str) -> None:
    text, send = press("send")
    filed = await act(
        ActionSubmitHelpRequest(),
        message(text, entities=send, slots=FILLED, after=FORM, loop=False),
    )
    code = filed.messages[0]["code"]
    with sessions(content_db)() as session:
        owner = account_for(session=session, channel="webchat", external_id="alice")
        other = account_for(session=session, channel="telegram", external_id="77")
        other.person_id = owner.person_id  # the same person on Telegram
        account_for(session=session, channel="telegram", external_id="99")  # a stranger
        session.commit()
        requests.change_status(session=session, code=code, to=IN_PROGRESS, version=1)
        requests.record_message(
            session=session, code=code, text="Chiều nay tổ dân phố mang gạo tới.", actor="op"
        )

    async def ask(text: str, sender: str) -> Said:
        tr = message(text, intent="check_request_status", sender=sender, loop=False)
        return await act(ActionTellRequestStatus(), tr)

    typed_code = code.lower().replace("-", " ")  # "ht 26 000001"
    for said in (
        await ask(f"mã {typed_code} sao rồi", "telegram:77"),
        await ask("yêu cầu của tôi", "webchat:alice"),
    ):
        assert said.names == ["utter_help_request_status", "utter_help_request_status_message"]
        assert code in said.text and "cán bộ đang xử lý" in said.text
        assert "Chiều nay tổ dân phố mang gạo tới." in said.text
    theirs = await ask(f"yêu cầu {code} sao rồi", "telegram:99")
    unknown_code = code[:-1] + ("9" if code[-1] != "9" else "8")
    unknown = await ask(f"yêu cầu {unknown_code} sao rồi", "telegram:99")
    assert theirs.names == unknown.names == ["utter_help_request_status_unknown_code"]
    assert theirs.text.replace(code, "X") == unknown.text.replace(unknown_code, "X")
    nothing = await ask("yêu cầu của tôi", "telegram:99")
    assert nothing.names == ["utter_help_request_status_none"]
