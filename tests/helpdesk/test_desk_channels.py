"""The desk and the real channel path: a desk reply delivered by the outbox to the fake
Telegram, and emergency alerts to staff through the Telegram connector (fake over HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.helpdesk import desk, emergency
from bot.outbox import Outbox
from bot.storage import conversations as log
from bot.storage.helpdesk import EMERGENCY, HelpRequest
from bot.storage.staff import INSPECTOR, OPERATOR, SUPERVISOR, StaffUser
from connectors.telegram.outbound import TelegramChannel
from testkit.fakes import telegram as tg
from testkit.fakes.server import serve
from tests.helpdesk.conftest import COMMUNE, OTHER_COMMUNE

DATABASES = ("sqlite", "postgresql")
AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def fake_telegram() -> Iterator[tuple[tg.FakeTelegram, TelegramChannel]]:
    fake = tg.FakeTelegram()
    with serve(fake.app()) as url:
        bot = Bot(tg.TOKEN, base_url=f"{url}/bot", request=HTTPXRequest(read_timeout=10))
        yield fake, TelegramChannel(bot)


def request_row(factory: sessionmaker[Session], code: str) -> HelpRequest:
    with factory() as session:
        row = session.scalar(select(HelpRequest).where(HelpRequest.code == code))
        assert row is not None
        session.refresh(row, ["need_rows"])
        return row


async def test_a_desk_reply_reaches_the_person_on_telegram_once(
    new_staff: Callable[..., StaffUser],
    file_request: Callable[..., str],
    session_factory: sessionmaker[Session],
    fake_telegram: tuple[tg.FakeTelegram, TelegramChannel],
) -> None:
    fake, channel = fake_telegram
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    code = file_request(sender="telegram:4242")
    with session_factory() as session:
        desk.reply(session, an, code, "Tối nay có người mang thuốc đến.", now=AT)
    outbox = Outbox(sessions=session_factory, channels={"telegram": channel}, limiters={})
    for _ in range(2):  # a second pass sends nothing again
        outbox.start_due()
        await outbox.drain()
    assert [(m["chat_id"], m["text"]) for m in fake.sent] == [
        (
            4242,
            f"Cán bộ đường dây nóng trả lời về yêu cầu hỗ trợ {code} của bạn:\n\n"
            "Tối nay có người mang thuốc đến.",
        ),
    ]
    with session_factory() as session:
        statuses = session.scalars(
            select(log.Message.status).where(log.Message.direction == log.OUTBOUND)
        ).all()
    assert statuses == [log.SENT]


def test_who_gets_an_emergency_alert(
    new_staff: Callable[..., StaffUser],
    file_request: Callable[..., str],
    session_factory: sessionmaker[Session],
) -> None:
    new_staff("on", OPERATOR, communes=[COMMUNE], on_shift=True, telegram_chat_id="101")
    new_staff("off", OPERATOR, communes=[COMMUNE], on_shift=False, telegram_chat_id="102")
    new_staff("far", OPERATOR, communes=[OTHER_COMMUNE], on_shift=True, telegram_chat_id="103")
    new_staff("nochat", OPERATOR, communes=[COMMUNE], on_shift=True)
    new_staff("boss", SUPERVISOR, on_shift=True, telegram_chat_id="104")
    new_staff("sleeping", SUPERVISOR, on_shift=False, telegram_chat_id="105")
    new_staff("checker", INSPECTOR, communes=[COMMUNE], on_shift=True, telegram_chat_id="106")
    new_staff("left", OPERATOR, communes=[COMMUNE], on_shift=True, telegram_chat_id="107",
              active=False)  # fmt: skip
    urgent = request_row(session_factory, file_request(level=EMERGENCY))
    calm = request_row(session_factory, file_request(level="high"))
    with session_factory() as session:
        assert [s.username for s in emergency.staff_to_alert(session, urgent)] == ["on", "boss"]
        assert emergency.staff_to_alert(session, calm) == []


async def test_the_alert_goes_out_on_telegram_without_personal_data(
    new_staff: Callable[..., StaffUser],
    file_request: Callable[..., str],
    session_factory: sessionmaker[Session],
    fake_telegram: tuple[tg.FakeTelegram, TelegramChannel],
) -> None:
    fake, channel = fake_telegram
    fake.blocked.add(202)
    new_staff("on", OPERATOR, communes=[COMMUNE], on_shift=True, telegram_chat_id="201")
    new_staff("blocked", SUPERVISOR, on_shift=True, telegram_chat_id="202")
    code = file_request(level=EMERGENCY, needs=["oxygen_transport", "medicine"], at=AT)
    row = request_row(session_factory, code)
    with session_factory() as session:
        done = await emergency.send_emergency_alerts(
            session, row, channel, "https://loa.example.vn/"
        )
    assert done == emergency.Alerted(sent=["on"], failed=["blocked"])
    (alert,) = fake.sent
    assert alert["chat_id"] == 201
    text = alert["text"]
    assert code in text and "Phường Bến Thành" in text
    assert "thuốc, chăm sóc y tế, bình oxy, xe cấp cứu" in text
    assert "15:00 02/03/2026" in text  # Vietnam time
    assert f"https://loa.example.vn/desk/requests/{code}" in text
    assert "0912345678" not in text and "12 Lê Lợi" not in text


def test_the_alert_for_a_renamed_unit_still_names_its_code() -> None:
    row = HelpRequest(
        code="HT-26-000009",
        commune_code=1,  # no such unit today
        people_count=2,
        created_at=AT + timedelta(hours=1),
    )
    assert "Địa bàn: 1\n" in emergency.alert_text(row, "http://x")
