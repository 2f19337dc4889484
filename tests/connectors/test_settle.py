"""The rig's ``settle`` waits for the webhooks' answers under way: every "nothing reached Rasa"
claim in the webhook tests rests on it, so it must not return early."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from tests.channels_rig import TELEGRAM_SECRET, fixture, rig


def test_settle_waits_for_an_answer_still_under_way(
    database_url: str, session_factory: sessionmaker[Session]
) -> None:
    with rig(database_url, session_factory) as app:
        app.rasa.delay = 1.0  # Rasa thinks for a second before it records the message
        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
        assert app.post("/webhooks/telegram", fixture("telegram_text.json"), headers).is_success
        app.settle()
        assert [r["message"] for r in app.rasa.received] == ["số đường dây nóng"]
