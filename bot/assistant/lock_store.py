"""Rasa's Redis lock store with each change of a lock made atomically, for several Rasa servers.

Loaded by the Rasa server (Python 3.10, endpoints-redis.yml), so it imports only Rasa and the
redis client Rasa ships with. Rasa 3.6's ``RedisLockStore`` issues a ticket by reading the lock
and writing it back: two servers doing so at once for one person got the same ticket number
(measured: 6 duplicates in 40 tickets issued by two processes at once) and both went ahead,
or one wrote back a ticket the other had just removed. Here every read-change-write runs in a
Redis transaction (WATCH … MULTI/EXEC) and is retried when another server changed the lock.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

T = TypeVar("T")


class AtomicRedisLockStore(RedisLockStore):
    """``lock_store: type: bot.assistant.lock_store.AtomicRedisLockStore`` with the same
    ``url`` (the host), ``port``, ``db`` and ``password`` as Rasa's ``redis`` type."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        kwargs: dict[str, Any] = dict(endpoint_config.kwargs)
        if not kwargs.get("password"):
            kwargs.pop("password", None)
        super().__init__(host=endpoint_config.url or "localhost", **kwargs)

    def _change(
        self,
        conversation_id: str,
        change: Callable[[TicketLock | None], tuple[TicketLock | None, T]],
    ) -> T:
        """Apply ``change`` to the stored lock atomically: it gets the lock (None: there is
        none) and returns the lock to store (None: delete it) and a result."""
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    stored = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(stored)) if stored else None
                    changed, result = change(lock)
                    pipe.multi()
                    if changed is not None:
                        pipe.set(key, changed.dumps())
                    else:
                        pipe.delete(key)
                    pipe.execute()
                    return result
                except redis.WatchError:  # another server changed it meanwhile: again
                    continue

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: TicketLock | None) -> tuple[TicketLock | None, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, issue)
        except Exception as exc:
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc

    def update_lock(self, conversation_id: str) -> None:
        def drop_expired(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def finish(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, finish)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove the ticket, and the lock when nobody else holds one, in one step (Rasa's
        two steps could delete a lock another server had just issued a ticket on)."""

        def finish(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, finish)
