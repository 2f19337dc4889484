"""The desk's workers in the running app: an emergency alert reaches the fake Telegram once,
also after a restart; overdue requests are escalated to a supervisor; auto-assignment gives
a waiting request to the operator on shift."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.helpdesk import HelpRequest
from bot.storage.staff import OPERATOR, SUPERVISOR, StaffUser
from tests.channels_rig import rig, wait_for
from tests.desk_rig import CHEAP, KY_LUA, Clock, add_staff, file_request

DATABASES = ("sqlite", "postgresql")
FAST = {"desk_watch_seconds": 0.1, "desk_autoassign_seconds": 0.1, **CHEAP}


def on_telegram(factory: sessionmaker[Session], username: str, chat: str) -> None:
    with factory.begin() as session:
        session.execute(
            update(StaffUser)
            .where(StaffUser.username == username)
            .values(on_shift=True, telegram_chat_id=chat)
        )


def test_an_emergency_is_alerted_once_across_a_restart(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    add_staff(session_factory, "op-kyl", OPERATOR, [KY_LUA])
    on_telegram(session_factory, "op-kyl", "5001")
    clock = Clock()
    first = file_request(session_factory, "telegram:1", KY_LUA, level="emergency")
    overrides = {**FAST, "desk_autoassign_seconds": 0}
    with rig(database_url, session_factory, now=clock, **overrides) as app:
        sent = wait_for(lambda: app.telegram.sent)
        assert [(m["chat_id"], first in m["text"]) for m in sent] == [(5001, True)]
    second = file_request(session_factory, "telegram:2", KY_LUA, level="emergency")
    with rig(database_url, session_factory, now=clock, **overrides) as restarted:
        # By the time the second request's alert is out, the restarted watcher has passed
        # over the first one too: it stays quiet about it.
        sent = wait_for(lambda: restarted.telegram.sent)
        assert [(m["chat_id"], second in m["text"]) for m in sent] == [(5001, True)]
        assert not any(first in m["text"] for m in restarted.telegram.sent)


def test_an_overdue_request_is_escalated_to_the_supervisor_on_telegram(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    add_staff(session_factory, "sup", SUPERVISOR)
    on_telegram(session_factory, "sup", "6001")
    code = file_request(session_factory, "telegram:3", KY_LUA, level="high")
    clock = Clock()
    clock.advance(minutes=61)  # a high request is owed a first answer within the hour
    with rig(database_url, session_factory, now=clock, **FAST) as app:
        (sent,) = wait_for(lambda: app.telegram.sent)
    assert sent["chat_id"] == 6001
    assert f"• {code} (ưu tiên, Phường Kỳ Lừa): chưa có ai trả lời người dân" in sent["text"]


def test_auto_assignment_gives_a_waiting_request_to_the_operator_on_shift(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    operator = add_staff(session_factory, "op-kyl", OPERATOR, [KY_LUA])
    add_staff(session_factory, "op-off", OPERATOR, [KY_LUA])  # not on shift
    on_telegram(session_factory, "op-kyl", "7001")
    code = file_request(session_factory, "telegram:4", KY_LUA)

    def assignee() -> int | None:
        with session_factory() as session:
            query = select(HelpRequest.assignee_id).where(HelpRequest.code == code)
            return session.scalar(query)

    with rig(database_url, session_factory, now=Clock(), **FAST):
        assert wait_for(assignee) == operator
