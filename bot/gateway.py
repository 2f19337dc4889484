"""Inbound → Rasa → outbound: store, deduplicate, answer in order, keep the message log.

Every channel hands its parsed messages to ``Gateway.handle``. The inbound message is committed
before anything slow happens, so nothing is lost; a redelivery (same channel message id) gets
the replies already made instead of a second answer. One person's messages are answered in the
order they arrived (a lock per sender), different people concurrently. When Rasa does not
answer, the message is marked pending, the person gets one short busy notice, and the worker
(``retry_pending``) answers it later.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import system_messages
from bot import text as vi
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.storage import conversations as log
from connectors.base import IncomingMessage, OutgoingMessage

logger = logging.getLogger(__name__)

BUSY_NOTICE = "busy"  # data["system"] of the busy notice, so it is sent once per outage


class Gateway:
    """The one path from any channel to the assistant and back."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        rasa: RasaClient,
        max_nlu_chars: int = 1000,
        outbound_status: Callable[[str], str] | None = None,
    ) -> None:
        self.sessions = sessions
        self.rasa = rasa
        self.max_nlu_chars = max_nlu_chars
        # The web chat's replies are "sent" once stored (the page fetches them); other
        # channels' replies wait in the queue for their sender.
        self.outbound_status = outbound_status or (
            lambda channel: log.SENT if channel == "webchat" else log.QUEUED
        )
        # One lock per person, dropped by the GC once nobody holds or waits for it.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, sender_id: str) -> asyncio.Lock:
        lock = self._locks.get(sender_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[sender_id] = lock
        return lock

    async def handle(self, incoming: IncomingMessage) -> list[log.Message]:
        """Store ``incoming`` once, answer it, and return the replies made now, in order.

        Older messages of the same person still pending are answered first, so replies keep
        the order in which the person wrote.
        """
        async with self._lock(incoming.sender_id):
            return await self._handle_locked(incoming)

    async def _handle_locked(self, incoming: IncomingMessage) -> list[log.Message]:
        with self.sessions() as session:
            account = log.account_for(
                session=session, channel=incoming.channel, external_id=incoming.sender
            )
            existing = log.find_inbound(
                session=session, account_id=account.id, channel_message_id=incoming.message_id
            )
            if existing is not None:
                logger.info("redelivery of %s %s", incoming.channel, incoming.message_id)
                return log.replies_to(session=session, message_id=existing.id)
            account.last_inbound_at = datetime.now(UTC)
            account.reachable = True
            inbound = log.Message(
                account_id=account.id,
                channel=incoming.channel,
                direction=log.INBOUND,
                channel_message_id=incoming.message_id,
                text=incoming.text,
                data={"kind": incoming.kind, "payload": incoming.payload, **incoming.data},
                status=log.RECEIVED,
            )
            session.add(inbound)
            try:
                session.commit()
            except IntegrityError:  # the same message stored by a concurrent delivery
                session.rollback()
                return []
            replies: list[log.Message] = []
            for older in log.pending_inbound(session=session, account_id=account.id):
                replies += await self._answer(session, older, incoming.sender_id)
                if older.status == log.PENDING:  # still down: this one waits behind it
                    inbound.status = log.PENDING
                    session.commit()
                    return replies
            return replies + await self._answer(session, inbound, incoming.sender_id)

    async def _answer(
        self, session: Session, inbound: log.Message, sender_id: str
    ) -> list[log.Message]:
        """Ask Rasa about a stored inbound message and store its replies (one transaction)."""
        payload = inbound.data.get("payload")
        words = payload or vi.clean(inbound.text)
        if not payload and not vi.has_words(words):
            inbound.status = log.IGNORED
            notice = "empty" if not words else "no_words"
            replies = [OutgoingMessage(text=system_messages.text(notice))]
            return self._store_replies(session, inbound, replies, system=notice)

        notices: list[OutgoingMessage] = []
        if len(words) > self.max_nlu_chars:
            words = words[: self.max_nlu_chars]
            notices.append(OutgoingMessage(text=system_messages.text("trimmed")))
        inbound.attempts += 1
        try:
            replies = await self.rasa.converse(sender_id, words)
        except RasaUnavailable as exc:
            logger.warning("message %s pending: %s", inbound.id, exc)
            inbound.status = log.PENDING
            if self._busy_notice_sent(session, inbound):
                session.commit()
                return []
            busy = [OutgoingMessage(text=system_messages.text(BUSY_NOTICE))]
            return self._store_replies(session, inbound, busy, system=BUSY_NOTICE)
        inbound.status = log.ANSWERED
        return self._store_replies(session, inbound, notices + replies)

    def _busy_notice_sent(self, session: Session, inbound: log.Message) -> bool:
        """Whether this outage was already announced: the last reply was the busy notice."""
        last = log.last_outbound(session=session, account_id=inbound.account_id)
        return last is not None and last.data.get("system") == BUSY_NOTICE

    def _store_replies(
        self,
        session: Session,
        inbound: log.Message,
        replies: list[OutgoingMessage],
        system: str | None = None,
    ) -> list[log.Message]:
        rows = [
            log.Message(
                account_id=inbound.account_id,
                channel=inbound.channel,
                direction=log.OUTBOUND,
                text=reply.text,
                data={
                    "buttons": [{"title": b.title, "payload": b.payload} for b in reply.buttons],
                    "image_url": reply.image_url,
                    "system": system,
                },
                status=self.outbound_status(inbound.channel),
                reply_to_id=inbound.id,
            )
            for reply in replies
        ]
        session.add_all(rows)
        session.commit()
        return rows

    async def retry_pending(self) -> int:
        """Answer inbound messages left pending; stop at the first that fails again."""
        with self.sessions() as session:
            pending = [(m.id, m.account.sender_id) for m in log.pending_inbound(session=session)]
        answered = 0
        for message_id, sender_id in pending:
            async with self._lock(sender_id):
                with self.sessions() as session:
                    inbound = session.get(log.Message, message_id)
                    if inbound is None or inbound.status != log.PENDING:
                        continue
                    await self._answer(session, inbound, sender_id)
                    if inbound.status == log.PENDING:
                        return answered
                    answered += 1
        return answered
