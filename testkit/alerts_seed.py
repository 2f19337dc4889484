"""Subscribers and approved broadcasts for the delivery tests and the broadcast benchmark:
written with bulk inserts (100,000 subscribers in seconds), straight into the tables the
delivery worker reads. The approved broadcast is made directly, as the officers' side would
leave it (status approved, text rendered)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot import places
from bot.storage.alerts import APPROVED, ONE_OFF, Broadcast, Subscription
from bot.storage.conversations import ChannelAccount, Person

LANG_SON = 20
BATCH = 5000


@dataclass(frozen=True)
class Seeded:
    people: int
    communes: tuple[int, ...]
    first_chat: int  # chat ids first_chat … first_chat + people - 1


def subscribers(
    factory: sessionmaker[Session],
    n: int,
    *,
    province: int = LANG_SON,
    channel: str = "telegram",
    first_chat: int = 1_000_000,
    whole_province_every: int = 10,
    now: datetime | None = None,
) -> Seeded:
    """``n`` people, one ``channel`` account each (chat id ``first_chat + i``, wrote an hour
    ago), subscribed round-robin to the province's communes — every ``whole_province_every``-th
    to the whole province instead."""
    now = now or datetime.now(UTC)
    communes = tuple(place.code for place in places.units_in(province))
    people_t: sa.Table = Person.__table__  # type: ignore[assignment]
    accounts_t: sa.Table = ChannelAccount.__table__  # type: ignore[assignment]
    subs_t: sa.Table = Subscription.__table__  # type: ignore[assignment]
    with factory.begin() as session:
        start = {
            t.name: (session.scalar(sa.select(sa.func.max(t.c.id))) or 0) + 1
            for t in (people_t, accounts_t, subs_t)
        }
        for lo in range(0, n, BATCH):
            batch = range(lo, min(n, lo + BATCH))
            pid = [start["people"] + i for i in batch]
            aid = [start["channel_accounts"] + i for i in batch]
            session.execute(
                people_t.insert(),
                [{"id": p, "created_at": now} for p in pid],
            )
            session.execute(
                accounts_t.insert(),
                [
                    {
                        "id": a,
                        "person_id": p,
                        "channel": channel,
                        "external_id": str(first_chat + i),
                        "reachable": True,
                        "last_inbound_at": now - timedelta(hours=1),
                        "created_at": now,
                    }
                    for i, p, a in zip(batch, pid, aid, strict=True)
                ],
            )
            rows = []
            for i, p, a in zip(batch, pid, aid, strict=True):
                commune = None if i % whole_province_every == 0 else communes[i % len(communes)]
                key = f"c{commune}" if commune is not None else f"p{province}"
                rows.append(
                    {
                        "id": start["alert_subscriptions"] + i,
                        "person_id": p,
                        "account_id": a,
                        "area_key": key,
                        "province_code": province,
                        "commune_code": commune,
                        "consent_at": now,
                        "created_at": now,
                    }
                )
            session.execute(subs_t.insert(), rows)
        if session.get_bind().dialect.name == "postgresql":
            for name in start:  # explicit ids: move the sequences past them
                session.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'),"
                        f" (SELECT max(id) FROM {name}))"
                    )
                )
    with factory() as session:
        session.execute(sa.text("ANALYZE"))
        session.commit()
    return Seeded(n, communes, first_chat)


def approved_broadcast(
    session: Session,
    *,
    areas: list[tuple[int, int | None]],
    text: str = "Thông báo: tỉnh chuyển sang cấp độ 2. Mời bà con theo dõi hướng dẫn.",
    urgent: bool = False,
    now: datetime | None = None,
) -> Broadcast:
    """An approved one-off broadcast for ``areas`` [(province, commune or None)]; flushed."""
    now = now or datetime.now(UTC)
    row = Broadcast(
        kind=ONE_OFF,
        status=APPROVED,
        areas=[{"province_code": p, "commune_code": c} for p, c in areas],
        title=text[:60],
        template=text,
        text=text,
        urgent=urgent,
        created_at=now,
        updated_at=now,
        approved_at=now,
    )
    session.add(row)
    session.flush()
    return row
