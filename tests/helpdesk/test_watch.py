"""The desk's watcher: an emergency alert once per request, an escalation once per clock (and
again on a reopened request's new clock), the Telegram channel off, and the supervisors'
overdue list. Telegram is the fake over HTTP."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.helpdesk import desk, sla, watch
from bot.storage.helpdesk import EMERGENCY, HIGH, RESOLVED, RequestAlert
from bot.storage.staff import OPERATOR, SUPERVISOR, StaffUser
from connectors.telegram.outbound import TelegramChannel
from testkit.fakes import telegram as tg
from testkit.fakes.server import serve
from tests.helpdesk.conftest import COMMUNE

DATABASES = ("sqlite", "postgresql")
AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
URL = "https://desk.example.vn"


@pytest.fixture
def fake_telegram() -> Iterator[tuple[tg.FakeTelegram, TelegramChannel]]:
    fake = tg.FakeTelegram()
    with serve(fake.app()) as url:
        bot = Bot(tg.TOKEN, base_url=f"{url}/bot", request=HTTPXRequest(read_timeout=10))
        yield fake, TelegramChannel(bot)


def alerts(factory: sessionmaker[Session]) -> list[tuple[str, list[str]]]:
    with factory() as session:
        rows = session.scalars(select(RequestAlert).order_by(RequestAlert.id))
        return [(row.kind, row.sent_to) for row in rows]


async def test_an_emergency_is_alerted_once_even_across_passes(
    new_staff: Callable[..., StaffUser],
    file_request: Callable[..., str],
    session_factory: sessionmaker[Session],
    fake_telegram: tuple[tg.FakeTelegram, TelegramChannel],
) -> None:
    fake, channel = fake_telegram
    new_staff("on", OPERATOR, communes=[COMMUNE], on_shift=True, telegram_chat_id="301")
    urgent = file_request(level=EMERGENCY, at=AT)
    file_request(level=HIGH, at=AT)  # not an emergency: nobody is alerted
    for minutes in (1, 2):  # the second pass, like a restarted app, finds the record
        with session_factory() as session:
            await watch.alert_emergencies(session, channel, URL, AT + minutes * MIN)
    assert [(m["chat_id"], urgent in m["text"]) for m in fake.sent] == [(301, True)]
    assert alerts(session_factory) == [("emergency", ["on"])]


async def test_with_telegram_off_the_alert_is_recorded_and_logged(
    new_staff: Callable[..., StaffUser],
    file_request: Callable[..., str],
    session_factory: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    new_staff("on", OPERATOR, communes=[COMMUNE], on_shift=True, telegram_chat_id="301")
    code = file_request(level=EMERGENCY, at=AT)
    with caplog.at_level(logging.INFO, "bot.helpdesk.watch"), session_factory() as session:
        assert await watch.alert_emergencies(session, None, URL, AT + MIN) == [code]
        assert await watch.alert_emergencies(session, None, URL, AT + 2 * MIN) == []
    assert f"emergency {code}: Telegram is off, no staff alert sent" in caplog.messages
    assert alerts(session_factory) == [("emergency", [])]


async def test_an_overdue_request_is_escalated_once_per_clock(
    new_staff: Callable[..., StaffUser],
    file_request: Callable[..., str],
    session_factory: sessionmaker[Session],
    fake_telegram: tuple[tg.FakeTelegram, TelegramChannel],
) -> None:
    fake, channel = fake_telegram
    an = new_staff("an", OPERATOR, communes=[COMMUNE])
    new_staff("boss", SUPERVISOR, on_shift=True, telegram_chat_id="401")
    new_staff("away", SUPERVISOR, on_shift=False, telegram_chat_id="402")
    code = file_request(level=EMERGENCY, at=AT)

    async def escalate(at: datetime) -> list[str]:
        with session_factory() as session:
            late = watch.escalate(session, at)
            await watch.tell_supervisors(session, channel, late, URL)
            return [f"{o.code} {o.clock}" for o in late]

    assert await escalate(AT + 14 * MIN) == []  # the first answer is owed within 15 minutes
    assert await escalate(AT + 16 * MIN) == [f"{code} first_response"]
    assert await escalate(AT + 17 * MIN) == []  # once
    with session_factory() as session:
        desk.reply(session, an, code, "Xe cấp cứu đang đến.", now=AT + 20 * MIN)
    assert await escalate(AT + 5 * 60 * MIN) == [f"{code} resolution"]  # 4 hours to close
    with session_factory() as session:
        version = desk.detail(session, an, code, now=AT).request.version
        closed = desk.set_status(session, an, code, RESOLVED, version, "xong", AT + 301 * MIN)
        desk.set_status(session, an, code, "in_progress", closed.request.version, None,
                        AT + 302 * MIN)  # fmt: skip
    assert await escalate(AT + 330 * MIN) == [f"{code} first_response"]  # the new clock
    texts = [(m["chat_id"], m["text"]) for m in fake.sent]
    assert [chat for chat, _ in texts] == [401, 401, 401]
    assert texts[0][1].startswith("⏰ 1 yêu cầu hỗ trợ vừa quá hạn xử lý:\n")
    assert f"• {code} (khẩn cấp, Phường Bến Thành): chưa có ai trả lời người dân" in texts[0][1]
    assert f"• {code} (khẩn cấp, Phường Bến Thành): chưa xử lý xong" in texts[1][1]
    assert f"{URL}/desk" in texts[0][1]


def test_the_overdue_list_says_when_each_was_escalated(
    file_request: Callable[..., str], session_factory: sessionmaker[Session]
) -> None:
    first = file_request(level=EMERGENCY, at=AT)
    second = file_request(level=EMERGENCY, at=AT + 2 * MIN)
    with session_factory() as session:
        watch.escalate(session, AT + 16 * MIN)  # only the first is late yet
        late, total = watch.overdue_list(session, AT + 20 * MIN)
    assert total == 2
    assert [(item.overdue.code, item.escalated_at) for item in late] == [
        (first, AT + 16 * MIN),
        (second, None),
    ]
    assert late[0].place == "Phường Bến Thành"
    assert late[0].overdue.clock == sla.FIRST_RESPONSE
