"""Rasa's SQL tracker store, made to cost the same on a conversation's 60th turn as on its first.

Rasa's own ``SQLTrackerStore`` reads and rebuilds every event of the session on each turn,
counts them again to save, and everything downstream (the policies' featurisation, the
tracker sent to the action server) grows with the session. This store (endpoints.yml:
``type: bot.assistant.tracker_store.LoaTrackerStore``) keeps the same table and rows, and:

- **keeps each person's tracker in memory** between turns (least recently used first out,
  ``cache_size`` people): a turn starts with one indexed query, the newest event id, which
  must match what this process saved last; otherwise (another Rasa process, a deletion, a
  turn that failed before saving) the tracker is read from the database as Rasa does;
- **saves only the new events**, without counting the stored ones (nor a new person's: there
  are none), each a plain INSERT rather than through the ORM's unit of work (``make
  bench-turn``: saving 3.2 → 1.5 ms a turn);
- **starts a new session after ``roll_after`` messages**, as Rasa itself does after
  ``session_expiration_time`` of silence: the same events (``action_session_start``,
  ``session_started``, every slot carried over, ``action_listen``), written after a finished
  turn, never while a form is open or after a turn that asked something (buttons, or an
  action whose answer a rule reads: ``KEEP_CONTEXT_AFTER``). The policies look at the last
  five turns at most (config.yml), so what they see of a conversation does not change; the
  older events stay in the table (the tracker API and the retention job still see them).
- on SQLite, writes with WAL and ``synchronous=NORMAL``: a commit no longer waits for two
  fsyncs; a power cut may lose the last turns' state, never corrupt the file.

Importing this module also applies ``bot.assistant.speedups`` (two fixed costs of a turn).
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections import OrderedDict
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

from bot.assistant import speedups

speedups.apply()

logger = logging.getLogger(__name__)

CACHE_SIZE = 1000  # people whose tracker a Rasa process keeps in memory (tens of kB each)
ROLL_AFTER = 12  # messages in a session before it is renewed (the policies read 5 turns)
# Actions after which a rule reads the person's next words as the answer (stories/: rules
# that start with an action). A session is never renewed right after them.
KEEP_CONTEXT_AFTER = frozenset({"action_offer_subscription", "action_ask_forget_me"})

# What a tracker from this store remembers: how many of its events are in the table, and the
# id of the newest row (set on the tracker object; Rasa passes the same object to ``save``).
STORED = "_loa_stored_events"
LAST_ID = "_loa_last_event_id"


class LoaTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` with a tracker cache, saves without a count, and renewed sessions."""

    engine: Any  # made by SQLTrackerStore.__init__

    def __init__(
        self,
        *args: Any,
        cache_size: int = CACHE_SIZE,
        roll_after: int = ROLL_AFTER,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.cache_size = int(cache_size)
        self.roll_after = int(roll_after)
        self._cache: OrderedDict[str, DialogueStateTracker] = OrderedDict()
        self._insert = self.SQLEvent.__table__.insert()
        engine = self.engine
        if engine.dialect.name == "sqlite":
            # SQLAlchemy 1.4 opens and closes a connection per session on a SQLite file, and
            # closing the last WAL connection checkpoints (fsync): keep a few open instead.
            engine.dispose()
            self.engine = sa.create_engine(
                engine.url,
                poolclass=QueuePool,
                pool_size=2,
                connect_args={"check_same_thread": False},
            )
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            self.sessionmaker = sessionmaker(bind=self.engine)
            try:  # `loa run` sets it before Rasa starts (bot/supervisor.py); kept in the file
                with self.engine.connect() as connection:
                    connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            except sa.exc.OperationalError as exc:  # another Rasa process has it open
                logger.warning("tracker store: WAL not set here: %s", exc)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The person's tracker for the current session: from memory when no other writer
        has added to it since this process saved it, else from the table."""
        cached = self._cache.pop(sender_id, None)  # the turn owns it until it is saved
        with self.session_scope() as session:
            if cached is not None:
                newest = session.execute(
                    sa.select(sa.func.max(self.SQLEvent.id)).where(
                        self.SQLEvent.sender_id == sender_id
                    )
                ).scalar()
                if newest is not None and newest == getattr(cached, LAST_ID, None):
                    return cached
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
        if not rows or self.domain is None:
            return None
        tracker = DialogueStateTracker.from_dict(
            sender_id, [json.loads(row.data) for row in rows], self.domain.slots
        )
        setattr(tracker, STORED, len(rows))
        setattr(tracker, LAST_ID, rows[-1].id)
        return tracker

    async def create_tracker(
        self, sender_id: str, append_action_listen: bool = True
    ) -> DialogueStateTracker:
        """Rasa's, without counting the stored events when saving: Rasa creates a tracker only
        after retrieving found no events for the person, so none of its events are stored."""
        tracker = self.init_tracker(sender_id)
        if append_action_listen:
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        if self.domain is not None:  # (without one, retrieving returns None even with rows)
            setattr(tracker, STORED, 0)
        await self.save(tracker)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events added since the tracker was read, and renew the session when it is
        long and the turn is over."""
        if self.event_broker is not None:  # publishing reads the stored tracker again
            self._cache.pop(tracker.sender_id, None)
            await super().save(tracker)
            return
        stored = getattr(tracker, STORED, None)
        with self.session_scope() as session:
            if stored is None:  # a tracker this store did not read
                stored = self._event_query(
                    session, tracker.sender_id, fetch_events_from_all_sessions=False
                ).count()
            new = list(itertools.islice(tracker.events, stored, None))
            renewal = self._renewal(tracker)
            last_id = getattr(tracker, LAST_ID, None)
            for event in new + renewal:  # Core inserts: the ORM's unit of work cost more
                inserted = session.execute(self._insert, self._row(tracker.sender_id, event))
                last_id = inserted.inserted_primary_key[0]
            session.commit()
        if renewal:
            tracker = DialogueStateTracker.from_dict(
                tracker.sender_id, [event.as_dict() for event in renewal], self.domain.slots
            )
            setattr(tracker, STORED, len(renewal))
        else:
            setattr(tracker, STORED, len(tracker.events))
        if last_id is None or _session_restarted_inside(tracker):
            return  # read from the table next time: only the newest session is wanted
        setattr(tracker, LAST_ID, last_id)
        self._cache[tracker.sender_id] = tracker
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _renewal(self, tracker: DialogueStateTracker) -> list[Event]:
        """The events of a new session carrying every slot over, when this one has had
        ``roll_after`` messages and the finished turn left nothing to answer; else none."""
        if tracker.active_loop_name or tracker.latest_action_name != ACTION_LISTEN_NAME:
            return []
        events = _current_session(tracker)
        if sum(isinstance(e, UserUttered) for e in events) < self.roll_after:
            return []
        turn = list(itertools.takewhile(lambda e: not isinstance(e, UserUttered), events[::-1]))
        asked = any(isinstance(e, BotUttered) and e.data.get("buttons") for e in turn)
        actions = {e.action_name for e in turn if isinstance(e, ActionExecuted)}
        if asked or actions & KEEP_CONTEXT_AFTER:
            return []
        now = time.time()
        carried = [
            SlotSet(slot.name, slot.value, timestamp=now)
            for slot in tracker.slots.values()
            if slot.has_been_set
        ]
        logger.debug("session of %s renewed after %d events", tracker.sender_id, len(events))
        return [
            ActionExecuted(ACTION_SESSION_START_NAME, timestamp=now),
            SessionStarted(timestamp=now),
            *carried,
            ActionExecuted(ACTION_LISTEN_NAME, timestamp=now),
        ]

    def _row(self, sender_id: str, event: Event) -> dict[str, Any]:
        """One row of Rasa's ``events`` table, filled as ``SQLTrackerStore.save`` fills it."""
        data = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }


def _current_session(tracker: DialogueStateTracker) -> list[Event]:
    events = list(tracker.events)
    starts = [i for i, e in enumerate(events) if isinstance(e, SessionStarted)]
    return events[starts[-1] :] if starts else events


def _session_restarted_inside(tracker: DialogueStateTracker) -> bool:
    """A session started after the tracker's first events (it expired during this turn)."""
    return any(isinstance(e, SessionStarted) for e in itertools.islice(tracker.events, 2, None))


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")  # other Rasa processes on the same file
    cursor.close()
