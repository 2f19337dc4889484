"""Who receives which area's announcements: subscribe, unsubscribe, and what a person has.

A person subscribes from one channel account to one or more areas (communes or whole
provinces); the consent time is kept. Unsubscribing ends the rows but keeps them, so a new
"subscribe" reopens the same row with a fresh consent time. Everything here takes a session and
leaves the commit to the caller, so a subscription and the reply that confirms it are one
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.storage.alerts import ASKED, END_REASONS, Subscription, area_key
from bot.storage.conversations import ChannelAccount


@dataclass(frozen=True)
class AreaCode:
    """An area by its codes: a commune-level unit, or a whole province (``commune_code`` None)."""

    province_code: int
    commune_code: int | None = None

    @property
    def key(self) -> str:
        return area_key(self.province_code, self.commune_code)


def subscribe(
    *, session: Session, account_id: int, areas: Iterable[AreaCode], now: datetime
) -> list[Subscription]:
    """Subscribe the account's person to each area (again, if they had left it); the rows.

    Subscribing from another channel moves the area's deliveries to that channel: the person
    is most likely to read where they asked last."""
    account = session.get(ChannelAccount, account_id)
    if account is None:
        raise LookupError(f"no channel account {account_id}")
    rows: list[Subscription] = []
    for area in dict.fromkeys(areas):
        row = session.scalar(
            select(Subscription).where(
                Subscription.person_id == account.person_id, Subscription.area_key == area.key
            )
        )
        if row is None:
            row = Subscription(
                person_id=account.person_id,
                area_key=area.key,
                province_code=area.province_code,
                commune_code=area.commune_code,
                created_at=now,
                consent_at=now,
                account_id=account_id,
            )
            session.add(row)
        else:
            row.account_id = account_id
            row.consent_at = now
            row.ended_at = None
            row.end_reason = None
        rows.append(row)
    session.flush()
    return rows


def active(*, session: Session, person_id: int) -> list[Subscription]:
    """The person's current subscriptions, oldest first."""
    return list(
        session.scalars(
            select(Subscription)
            .where(Subscription.person_id == person_id, Subscription.ended_at.is_(None))
            .order_by(Subscription.id)
        )
    )


def unsubscribe(
    *,
    session: Session,
    person_id: int,
    now: datetime,
    areas: Iterable[AreaCode] | None = None,
    reason: str = ASKED,
) -> int:
    """End the person's subscriptions — to ``areas``, or all of them; how many ended."""
    if reason not in END_REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    query = update(Subscription).where(
        Subscription.person_id == person_id, Subscription.ended_at.is_(None)
    )
    if areas is not None:
        keys = [area.key for area in areas]
        if not keys:
            return 0
        query = query.where(Subscription.area_key.in_(keys))
    result = session.execute(query.values(ended_at=now, end_reason=reason))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def end_for_account(*, session: Session, account_id: int, reason: str, now: datetime) -> int:
    """The channel says this account is gone (Zalo unfollow, a block): end what was delivered
    there. Subscriptions made from another channel of the same person stay."""
    if reason not in END_REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    result = session.execute(
        update(Subscription)
        .where(Subscription.account_id == account_id, Subscription.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
