"""Inbound → Rasa → outbound: store, deduplicate, answer in order, keep the message log.

Every channel hands its parsed messages to the gateway. ``accept`` commits the inbound message
(deduplicated by the channel's id, per sender) before anything slow happens, so a webhook can
be acknowledged at once and nothing is lost. ``answer_account`` then answers that person's
waiting messages in the order they arrived and stores the replies: the web chat's as sent
(the page fetches them), the other channels' as queued for the outbox. When Rasa does not
answer, the message stays pending, the person gets one short busy notice, and
``retry_waiting`` answers it later. A message that keeps failing while the assistant answers
other people is poisoned: after ``MAX_ANSWER_ATTEMPTS`` such failures it is given up
(``failed``, kept for staff) and the person is told once.

One person's turns run one at a time, in order, even with several app processes on one
database: each turn starts by claiming the person's oldest waiting message with one
conditional UPDATE (``claim_turn``) that fails while another live process holds a turn of
theirs; that process then answers the rest. A lock per person in the process saves the
database round trips between this process's own requests; different people run concurrently.
A process that dies mid-turn stops renewing its lease (bot.storage.leases) and its message
is answered again by the retry pass, which every process may run.
"""

from __future__ import annotations

import asyncio
import logging
import math
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import text as vi
from bot import wording
from bot.alerts import subscriptions
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.storage import conversations as log
from bot.storage.leases import Lease
from connectors.base import (
    IMAGE,
    LOCATION,
    OTHER,
    STICKER,
    Button,
    ChannelEvent,
    IncomingMessage,
    OutgoingMessage,
)
from connectors.text import split_text

logger = logging.getLogger(__name__)

BUSY_NOTICE = "busy"  # data["system"] of the busy notice, so it is sent once per outage
TOO_FAST = "too_fast"  # data["system"] of the flood notice, sent once per flood
WEBCHAT = "webchat"
# What to say to a message without words, by its kind (the rest: "empty" or "no_words").
NOTICE_BY_KIND = {IMAGE: "image", LOCATION: "location", STICKER: "no_words", OTHER: "no_words"}
UNANSWERED = "unanswered"  # data["system"] of the notice that a message was given up
# A message received this long ago and still unanswered was orphaned by a crash.
ORPHAN_AFTER = timedelta(seconds=30)
# Failures of one message, each while the assistant answered someone else, before it is
# given up. Failures during an outage (nobody answered) do not count: those messages wait.
MAX_ANSWER_ATTEMPTS = 5
# A retry pass in which this many people in a row fail and nobody is answered stops early:
# the assistant is down, and the rest wait for the next pass.
OUTAGE_AFTER = 3
# A message that is only one of these words stops announcements on every channel ("STOP",
# "HỦY", "huỷ", "/stop"; any case, with or without accents): it reaches the assistant as the
# unsubscribe intent, which an open form reads as "cancel this" instead
# (bot.helpdesk.form.CANCEL_COMMANDS), so a form's "hủy" still cancels the form.
STOP_WORDS = (("stop",), ("huy",))
STOP_COMMAND = "/stop"
UNSUBSCRIBE = "/unsubscribe_alerts"


class Gateway:
    """The one path from any channel to the assistant and back."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        rasa: RasaClient,
        max_nlu_chars: int = 1000,
        text_limits: dict[str, int] | None = None,
        on_queued: Callable[[], None] | None = None,
        lease: Lease | None = None,
    ) -> None:
        self.sessions = sessions
        # The owner put on this gateway's turn claims; the app shares one per process.
        self.lease = lease or Lease(sessions=sessions)
        self.rasa = rasa
        self.max_nlu_chars = max_nlu_chars
        self.text_limits = text_limits or {}  # channel → longest text it accepts
        self.on_queued = on_queued or (lambda: None)  # wakes the outbox
        # One lock per person, dropped by the GC once nobody holds or waits for it.
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        # How many messages the assistant has answered in this process, and that count when
        # each still-waiting message last failed: a failure counts against a message only if
        # the assistant answered someone else since (it works, so the message is the problem).
        self._answered = 0
        self._failed_at: dict[int, int] = {}

    def _lock(self, account_id: int) -> asyncio.Lock:
        lock = self._locks.get(account_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[account_id] = lock
        return lock

    async def handle(self, incoming: IncomingMessage) -> list[log.Message]:
        """Accept and answer at once (the web chat waits for its replies).

        A redelivery gets the replies already made; otherwise the replies made now, which
        include answers to this person's older messages still waiting, in order.
        """
        account_id, inbound_id = self.accept(incoming)
        if inbound_id is None:
            with self.sessions() as session:
                existing = log.find_inbound(
                    session=session, account_id=account_id, channel_message_id=incoming.message_id
                )
                return log.replies_to(session=session, message_id=existing.id) if existing else []
        return await self.answer_account(account_id)

    def accept(
        self, incoming: IncomingMessage | ChannelEvent, *, throttled: bool = False
    ) -> tuple[int, int | None]:
        """Store an inbound message or event; ``(account id, message id or None if a repeat)``.

        A ``throttled`` message (a flood from one sender) is kept in the log but not answered.
        """
        channel_message_id = (
            incoming.message_id if isinstance(incoming, IncomingMessage) else incoming.event_id
        )
        with self.sessions() as session:
            account = log.account_for(
                session=session, channel=incoming.channel, external_id=incoming.sender
            )
            account_id = account.id
            if log.find_inbound(
                session=session, account_id=account_id, channel_message_id=channel_message_id
            ):
                logger.info("repeat of %s %s", incoming.channel, channel_message_id)
                return account_id, None
            if isinstance(incoming, ChannelEvent):
                inbound = self._event(session, account, incoming)
            else:
                account.last_inbound_at = datetime.now(UTC)
                account.reachable = True
                inbound = log.Message(
                    account_id=account_id,
                    channel=incoming.channel,
                    direction=log.INBOUND,
                    channel_message_id=channel_message_id,
                    text=vi.storable(incoming.text),
                    # The channel's extras first: the gateway's own fields always win.
                    data={
                        **storable_data(incoming.data),
                        "kind": incoming.kind,
                        "payload": None
                        if incoming.payload is None
                        else vi.storable(incoming.payload),
                        "throttled": throttled,
                    },
                    status=log.IGNORED if throttled else log.RECEIVED,
                )
            session.add(inbound)
            try:
                session.commit()
            except IntegrityError:  # stored by a concurrent delivery of the same message
                session.rollback()
                return account_id, None
            return account_id, inbound.id

    def _event(
        self, session: Session, account: log.ChannelAccount, event: ChannelEvent
    ) -> log.Message:
        """The event in the log; a block or an unfollow also ends the announcements this
        account carried, in the same transaction (a redelivered event is a repeat)."""
        account.reachable = event.name == "reachable"
        logger.info("%s is now %s", account.sender_id, event.name)
        if event.reason is not None:
            ended = subscriptions.end_for_account(
                session=session, account_id=account.id, reason=event.reason, now=datetime.now(UTC)
            )
            logger.info("%s: %d subscriptions ended (%s)", account.sender_id, ended, event.reason)
        return log.Message(
            account_id=account.id,
            channel=event.channel,
            direction=log.INBOUND,
            channel_message_id=event.event_id,
            data={"kind": "event", "event": event.name},
            status=log.IGNORED,
        )

    def notify_throttled(self, account_id: int) -> None:
        """Tell a flooding sender once to slow down (not again while they keep flooding: no
        second notice until a message of theirs is taken again). Answers to their earlier
        messages may be stored between the throttled ones, so "the last reply was the notice"
        would not do."""
        with self.sessions() as session:
            if log.told_since_last_taken(session=session, account_id=account_id, system=TOO_FAST):
                return
            inbound = log.last_inbound(session=session, account_id=account_id)
            if inbound is not None:
                notice = [OutgoingMessage(text=wording.system(TOO_FAST))]
                self._store_replies(session, inbound, notice, system=TOO_FAST)

    async def answer_account(self, account_id: int) -> list[log.Message]:
        """Answer this person's waiting messages in order; the replies made, in order (none
        when another process holds their turn: it answers the rest)."""
        replies: list[log.Message] = []
        async with self._lock(account_id):
            while True:
                self.lease.keep()
                with self.sessions() as session:
                    claimed = log.claim_turn(
                        session=session,
                        account_id=account_id,
                        owner=self.lease.id,
                        now=self.lease.now(),
                    )
                    session.commit()
                    inbound = (
                        log.with_account(session=session, message_id=claimed) if claimed else None
                    )
                    if inbound is None:
                        return replies
                    replies += await self._answer(session, inbound, inbound.account.sender_id)
                    if inbound.status == log.PENDING:  # Rasa is down: the rest wait too
                        return replies

    async def _answer(
        self, session: Session, inbound: log.Message, sender_id: str
    ) -> list[log.Message]:
        """Ask Rasa about one stored inbound message and store its replies (one transaction)."""
        payload = inbound.data.get("payload") or stop_command(inbound.text)
        words = payload or vi.clean(inbound.text)
        if not payload and not vi.has_words(words):
            inbound.status, inbound.claimed_by = log.IGNORED, None
            kind = inbound.data.get("kind")
            notice = NOTICE_BY_KIND.get(str(kind)) or ("empty" if not words else "no_words")
            replies = [OutgoingMessage(text=wording.system(notice))]
            return self._store_replies(session, inbound, replies, system=notice)

        notices: list[OutgoingMessage] = []
        if len(words) > self.max_nlu_chars:
            words = words[: self.max_nlu_chars]
            notices.append(OutgoingMessage(text=wording.system("trimmed")))
        answered_before = self._failed_at.get(inbound.id, self._answered)
        session.commit()  # hand the connection back to the pool while Rasa thinks
        try:
            replies = await self.rasa.converse(sender_id, words)
        except RasaUnavailable as exc:
            inbound.claimed_by = None  # the turn ends with what this transaction stores
            return self._not_answered(session, inbound, exc, answered_before)
        # The claim goes with the answer, in one commit. A crash before keeps the claim until
        # the lease lapses; any other failure leaves it to this process's retry pass.
        inbound.claimed_by = None
        self._answered += 1
        self._failed_at.pop(inbound.id, None)
        inbound.status = log.ANSWERED
        return self._store_replies(session, inbound, notices + merge_paragraphs(replies))

    def _not_answered(
        self, session: Session, inbound: log.Message, exc: RasaUnavailable, answered_before: int
    ) -> list[log.Message]:
        """The assistant failed on this message: it waits (a busy notice unless the person's
        last reply was a notice already), or, failing again and again while others are
        answered, it is given up."""
        if self._answered > answered_before:  # others were answered: this message is the problem
            inbound.attempts += 1
        self._failed_at[inbound.id] = self._answered
        if inbound.attempts >= MAX_ANSWER_ATTEMPTS:
            return self._give_up(session, inbound, exc)
        logger.warning("message %s pending (%s failures): %s", inbound.id, inbound.attempts, exc)
        inbound.status = log.PENDING
        # Said already: busy (this outage), or that an earlier message could not be answered.
        if self._last_notice(session, inbound) in (BUSY_NOTICE, UNANSWERED):
            session.commit()
            return []
        busy = [OutgoingMessage(text=wording.system(BUSY_NOTICE))]
        return self._store_replies(session, inbound, busy, system=BUSY_NOTICE)

    def _give_up(
        self, session: Session, inbound: log.Message, exc: RasaUnavailable
    ) -> list[log.Message]:
        """Stop retrying: the message stays in the log as ``failed`` for staff, and the person
        is told once (not again for their next given-up message in a row)."""
        logger.error("message %s given up after %s failures: %s", inbound.id, inbound.attempts, exc)
        self._failed_at.pop(inbound.id, None)
        inbound.status = log.FAILED
        inbound.error = f"not answered: {exc}"[:300]
        if self._last_notice(session, inbound) == UNANSWERED:
            session.commit()
            return []
        notice = [OutgoingMessage(text=wording.system(UNANSWERED))]
        return self._store_replies(session, inbound, notice, system=UNANSWERED)

    def _last_notice(self, session: Session, inbound: log.Message) -> str | None:
        """The system notice the person was sent last, if their last reply was one."""
        last = log.last_outbound(session=session, account_id=inbound.account_id)
        system = last.data.get("system") if last is not None else None
        return str(system) if system else None

    def _store_replies(
        self,
        session: Session,
        inbound: log.Message,
        replies: list[OutgoingMessage],
        system: str | None = None,
    ) -> list[log.Message]:
        """One row per message the channel will send: long texts are split at its limit,
        the buttons go with the last piece."""
        channel = inbound.channel
        limit = self.text_limits.get(channel)
        rows: list[log.Message] = []
        for reply in replies:
            pieces = split_text(reply.text, limit) if limit else [reply.text]
            for i, piece in enumerate(pieces or [""]):
                last = i == len(pieces or [""]) - 1
                buttons = reply.buttons if last else ()
                rows.append(
                    log.Message(
                        account_id=inbound.account_id,
                        channel=channel,
                        direction=log.OUTBOUND,
                        text=piece,
                        data={
                            "buttons": [{"title": b.title, "payload": b.payload} for b in buttons],
                            "image_url": reply.image_url if last else None,
                            "system": system,
                        },
                        status=log.SENT if channel == WEBCHAT else log.QUEUED,
                        reply_to_id=inbound.id,
                    )
                )
        session.add_all(rows)
        session.commit()
        if channel != WEBCHAT and rows:
            self.on_queued()
        return rows

    async def retry_waiting(self) -> int:
        """Answer messages left pending (Rasa was down) or orphaned (a crash after storing),
        person by person, moving past anyone still not answered; a pass in which
        ``OUTAGE_AFTER`` people in a row fail and nobody is answered stops early (the
        assistant is down). Returns how many people have nothing left waiting."""
        with self.sessions() as session:
            waiting = log.accounts_waiting(
                session=session,
                received_before=datetime.now(UTC) - ORPHAN_AFTER,
                owner=self.lease.id,
                now=self.lease.now(),
            )
        done = failed_in_a_row = 0
        for account_id in waiting:
            try:
                await self.answer_account(account_id)
            except Exception as exc:  # one person's bad message must not stop the others
                logger.error("retry of account %s failed: %r", account_id, exc)
            with self.sessions() as session:
                left = log.waiting_inbound(session=session, account_id=account_id)
            if not left:
                done, failed_in_a_row = done + 1, 0
                continue
            failed_in_a_row += 1
            if failed_in_a_row >= OUTAGE_AFTER and not done:
                logger.warning("retry pass stopped: the assistant answers nobody")
                break
        return done


def stop_command(text: str | None) -> str | None:
    """The unsubscribe payload for a message that is only a stop word (see ``STOP_WORDS``)."""
    said = (text or "").strip()
    if said.lower() == STOP_COMMAND or tuple(vi.words(said)) in STOP_WORDS:
        return UNSUBSCRIBE
    return None


def merge_paragraphs(replies: list[OutgoingMessage]) -> list[OutgoingMessage]:
    """One message per answer: Rasa sends each paragraph separately, which on a channel with
    a per-chat limit (Telegram: 1/s) makes a person wait for the rest. Plain texts are joined
    into the next message with buttons, or into one message; images stay on their own (a
    caption is short)."""
    merged: list[OutgoingMessage] = []
    texts: list[str] = []

    def flush(buttons: tuple[Button, ...] = ()) -> None:
        if any(texts) or buttons:
            merged.append(OutgoingMessage("\n\n".join(t for t in texts if t), buttons))
        texts.clear()

    for reply in replies:
        if reply.image_url:
            flush()
            merged.append(reply)
            continue
        texts.append(reply.text)
        if reply.buttons:
            flush(reply.buttons)
    flush()
    return merged


def storable_data(value: Any) -> Any:
    """Channel data as both databases' JSON columns can hold it: every string made storable
    (keys too), non-finite floats dropped to None."""
    if isinstance(value, str):
        return vi.storable(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {vi.storable(str(k)): storable_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_data(v) for v in value]
    return value
