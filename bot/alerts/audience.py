"""Who a broadcast is for: the subscribers of its areas, one delivery row per person.

A broadcast for a province reaches the subscribers of the province and of every commune in it;
a broadcast for a commune reaches that commune's subscribers. A person subscribed to several of
the areas (a commune and its province) is one recipient. The delivery rows are made by one
``INSERT … SELECT`` that skips rows already there, so making them again — after a crash, or by a
second worker at the same moment — adds nobody twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, false, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.alerts.subscriptions import AreaCode
from bot.storage.alerts import PENDING, Broadcast, Delivery, Subscription
from bot.storage.conversations import ChannelAccount


def areas_of(broadcast: Broadcast) -> list[AreaCode]:
    """The broadcast's areas as codes."""
    return [AreaCode(a["province_code"], a.get("commune_code")) for a in broadcast.areas]


def matches(areas: Iterable[AreaCode]) -> ColumnElement[bool]:
    """Subscriptions to any of ``areas`` or to a unit inside one of them."""
    provinces = sorted({a.province_code for a in areas if a.commune_code is None})
    communes = sorted({a.commune_code for a in areas if a.commune_code is not None})
    clauses: list[ColumnElement[bool]] = []
    if provinces:
        clauses.append(Subscription.province_code.in_(provinces))
    if communes:
        clauses.append(Subscription.commune_code.in_(communes))
    return or_(*clauses) if clauses else false()


def recipients(areas: Iterable[AreaCode]) -> Select[int, int]:
    """(person_id, account_id): each current subscriber once, on the account of their first
    matching subscription."""
    return (
        select(Subscription.person_id, func.min(Subscription.account_id).label("account_id"))
        .where(matches(list(areas)), Subscription.ended_at.is_(None))
        .group_by(Subscription.person_id)
    )


def reachable_now(
    account: type[ChannelAccount], windows: Mapping[str, timedelta], now: datetime
) -> ColumnElement[bool]:
    """An account the channel would take a message for now: not blocked, and inside the
    channel's reply window where it has one (Zalo OA: the person wrote in the last 7 days)."""
    inside = [
        or_(account.channel != channel, account.last_inbound_at >= now - window)
        for channel, window in windows.items()
    ]
    return and_(account.reachable.is_(True), *inside)


@dataclass(frozen=True)
class Counts:
    """What the desk shows before approval: people, per channel and per commune, and how many
    no channel can reach right now."""

    total: int = 0
    per_channel: dict[str, int] = field(default_factory=dict)
    per_commune: dict[int | None, int] = field(default_factory=dict)  # None: whole province
    unreachable: int = 0


def count(
    *,
    session: Session,
    areas: Iterable[AreaCode],
    windows: Mapping[str, timedelta],
    now: datetime,
) -> Counts:
    """Count the recipients of ``areas`` without making any row."""
    areas = list(areas)
    chosen = recipients(areas).subquery()
    per_channel = Counter[str]()
    for channel, n in session.execute(
        select(ChannelAccount.channel, func.count())
        .join(chosen, chosen.c.account_id == ChannelAccount.id)
        .group_by(ChannelAccount.channel)
    ):
        per_channel[channel] = n
    per_commune = Counter[int | None]()
    for commune, n in session.execute(
        select(Subscription.commune_code, func.count(func.distinct(Subscription.person_id)))
        .where(matches(areas), Subscription.ended_at.is_(None))
        .group_by(Subscription.commune_code)
    ):
        per_commune[commune] = n
    other = ChannelAccount.__table__.alias("other")
    some_way = (
        select(literal(1))
        .select_from(other)
        .where(
            other.c.person_id == chosen.c.person_id,
            reachable_now(other.c, windows, now),  # type: ignore[arg-type]
        )
        .exists()
    )
    unreachable = session.scalar(select(func.count()).select_from(chosen).where(~some_way)) or 0
    return Counts(
        total=sum(per_channel.values()),
        per_channel=dict(per_channel),
        per_commune=dict(per_commune),
        unreachable=unreachable,
    )


def materialize(
    *, session: Session, broadcast: Broadcast, now: datetime, chunk: int | None = None
) -> int:
    """Make the broadcast's missing delivery rows (``pending``); how many were added.

    With ``chunk``, only the next ``chunk`` people (in person order, after the last one who
    has a row): a province's 100,000 rows take seconds to make, and the first messages should
    not wait for the last rows. Marks the audience ready once nobody is left; the caller
    commits. Safe to repeat and to run in two processes at once: rows already there are skipped
    by the unique (broadcast, person) key."""
    wanted = recipients(areas_of(broadcast))
    if chunk is not None:
        last = session.scalar(
            select(func.max(Delivery.person_id)).where(Delivery.broadcast_id == broadcast.id)
        )
        if last is not None:
            wanted = wanted.where(Subscription.person_id > last)
        wanted = wanted.order_by(Subscription.person_id).limit(chunk)
    chosen = wanted.subquery()
    source = select(
        literal(broadcast.id),
        chosen.c.person_id,
        chosen.c.account_id,
        ChannelAccount.channel,
        literal(PENDING),
        literal(0),
        literal(now, type_=Delivery.created_at.type),
    ).join(ChannelAccount, ChannelAccount.id == chosen.c.account_id)
    columns = ["broadcast_id", "person_id", "account_id", "channel", "status", "attempts"]
    columns.append("created_at")
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(Delivery)
        .from_select(columns, source.where(literal(True)))  # SQLite: WHERE before ON CONFLICT
        .on_conflict_do_nothing(index_elements=["broadcast_id", "person_id"])
        .returning(Delivery.id)  # psycopg reports no row count for INSERT … SELECT
    )
    added = len(session.execute(statement).all())
    if chunk is None or added < chunk:  # fewer than asked for: that was everyone
        broadcast.audience_ready_at = broadcast.audience_ready_at or now
    return added
