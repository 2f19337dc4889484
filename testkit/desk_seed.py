"""A realistic help-desk database for the desk's benchmark: many requests spread over a
province's communes, needs, urgencies, statuses and ages, each with its person, channel
account, events and a short conversation. Written with bulk inserts (100,000 requests in a
minute or two on SQLite and PostgreSQL), straight into the tables the desk reads."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot import places
from bot.storage.conversations import ANSWERED, INBOUND, OUTBOUND, SENT
from bot.storage.helpdesk import (
    CLOSING_STATUSES,
    EMERGENCY,
    HIGH,
    IN_PROGRESS,
    NEEDS,
    NEW,
    NORMAL,
    OPEN_STATUSES,
    RequestCounter,
)

CHANNELS = ("telegram", "zalo_oa", "zalo_bot", "webchat")
# Shares seen in 2021 hotlines: mostly food, then medicine; most requests normal.
NEED_WEIGHTS = {
    "food": 45,
    "medicine": 20,
    "oxygen_transport": 4,
    "transport_home": 12,
    "money_work": 14,
    "other": 5,
}
URGENCY_WEIGHTS = {EMERGENCY: 3, HIGH: 22, NORMAL: 75}
STATUS_WEIGHTS = {
    NEW: 12,
    IN_PROGRESS: 18,
    "resolved": 55,
    "referred": 8,
    "not_eligible": 4,
    "duplicate": 3,
}
DESCRIPTIONS = (
    "Cả nhà đang cách ly tại nhà, hết gạo và thực phẩm từ hôm qua.",
    "Bố tôi bị tiểu đường, hết thuốc mà khu đang phong tỏa không ra ngoài mua được.",
    "Tôi là công nhân bị kẹt lại, hết tiền thuê trọ và tiền ăn.",
    "Mẹ tôi khó thở, cần xe đưa đi viện.",
    "Con nhỏ 8 tháng hết sữa, nhờ hỗ trợ.",
    "Cần về quê nhưng không có xe, đang ở nhà trọ.",
)


@dataclass(frozen=True)
class Seeded:
    requests: int
    communes: tuple[int, ...]
    codes: tuple[str, ...]  # a sample of codes, for the request page


def seed(
    factory: sessionmaker[Session],
    *,
    requests: int,
    province_code: int,
    now: datetime | None = None,
    seed_value: int = 7,
    batch: int = 5000,
) -> Seeded:
    """Add ``requests`` requests (and their people) to an empty desk; returns what it made."""
    rng = random.Random(seed_value)
    now = now or datetime.now(UTC)
    communes = tuple(place.code for place in places.units_in(province_code))
    # A few busy communes (a locked-down ward) get most requests: a Zipf-like spread.
    commune_weights = [1.0 / (rank + 1) for rank in range(len(communes))]
    year = now.year
    codes: list[str] = []
    with factory.begin() as session:
        bind = session.get_bind()
        tables = sa.MetaData()
        tables.reflect(bind=bind)
        people, accounts, messages = (
            tables.tables["people"],
            tables.tables["channel_accounts"],
            tables.tables["messages"],
        )
        rows, needs, events = (
            tables.tables["help_requests"],
            tables.tables["help_request_needs"],
            tables.tables["help_request_events"],
        )
        first_id = (session.scalar(sa.select(sa.func.max(rows.c.id))) or 0) + 1
        first_person = (session.scalar(sa.select(sa.func.max(people.c.id))) or 0) + 1
        first_account = (session.scalar(sa.select(sa.func.max(accounts.c.id))) or 0) + 1
        for start in range(0, requests, batch):
            chunk = range(start, min(start + batch, requests))
            batch_people: list[dict[str, Any]] = []
            batch_accounts: list[dict[str, Any]] = []
            batch_rows: list[dict[str, Any]] = []
            batch_needs: list[dict[str, Any]] = []
            batch_events: list[dict[str, Any]] = []
            batch_messages: list[dict[str, Any]] = []
            for n in chunk:
                request_id, person_id, account_id = (
                    first_id + n,
                    first_person + n,
                    first_account + n,
                )
                created = now - timedelta(minutes=rng.expovariate(1 / (60 * 24 * 3)))
                status = _pick(rng, STATUS_WEIGHTS)
                urgency = _pick(rng, URGENCY_WEIGHTS)
                chosen = sorted({_pick(rng, NEED_WEIGHTS) for _ in range(rng.choice((1, 1, 2)))})
                channel = rng.choice(CHANNELS)
                code = f"HT-{year % 100:02d}-{request_id:06d}"
                closed = created + timedelta(hours=rng.uniform(0.5, 48))
                is_closed = status in CLOSING_STATUSES
                if len(codes) < 1000 and rng.random() < 0.05:
                    codes.append(code)
                batch_people.append({"id": person_id, "created_at": created})
                batch_accounts.append(
                    {
                        "id": account_id,
                        "person_id": person_id,
                        "channel": channel,
                        "external_id": f"seed-{request_id}",
                        "reachable": True,
                        "last_inbound_at": created,
                        "created_at": created,
                    }
                )
                batch_rows.append(
                    {
                        "id": request_id,
                        "code": code,
                        "person_id": person_id,
                        "account_id": account_id,
                        "client_key": f"seed-{request_id}",
                        "description": rng.choice(DESCRIPTIONS),
                        "province_code": province_code,
                        "commune_code": rng.choices(communes, commune_weights)[0],
                        "address_detail": f"Số {rng.randint(1, 300)}, thôn {rng.randint(1, 12)}",
                        "people_count": rng.choice((1, 2, 3, 4, 4, 5, 6)),
                        "phone": f"09{rng.randint(10_000_000, 99_999_999)}",
                        "consent": True,
                        "urgency": urgency,
                        "urgency_reasons": [],
                        "status": status,
                        "status_reason": "Đã xử lý xong" if is_closed else None,
                        "version": 1,
                        "linked_to_id": None,
                        "created_at": created,
                        "updated_at": closed if is_closed else created,
                        "status_changed_at": closed if is_closed else created,
                        "assignee_id": None,
                        "first_response_at": closed if is_closed else None,
                        "closed_at": closed if is_closed else None,
                    }
                )
                batch_needs += [
                    {
                        "request_id": request_id,
                        "need": need,
                        "person_id": person_id,
                        "is_open": status in OPEN_STATUSES,
                    }
                    for need in chosen
                ]
                batch_events.append(_event(request_id, created, "created"))
                if status != NEW:
                    batch_events.append(
                        _event(
                            request_id, closed, "status", NEW, status if is_closed else IN_PROGRESS
                        )
                    )
                batch_messages += [
                    _message(account_id, channel, INBOUND, "Tôi cần giúp đỡ", created),
                    _message(account_id, channel, OUTBOUND, f"Yêu cầu của bạn: {code}", created),
                ]
            for table, values in (
                (people, batch_people),
                (accounts, batch_accounts),
                (rows, batch_rows),
                (needs, batch_needs),
                (events, batch_events),
                (messages, batch_messages),
            ):
                session.execute(table.insert(), values)
        session.merge(RequestCounter(year=year, last=first_id + requests - 1))
        if bind.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for table in (people, accounts, rows, events, messages):
                session.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"
                        f" (SELECT max(id) FROM {table.name}))"
                    )
                )
            session.execute(sa.text("ANALYZE"))
    if factory.kw["bind"].dialect.name == "sqlite":
        with factory.kw["bind"].connect() as connection:
            connection.execute(sa.text("ANALYZE"))
            connection.commit()
    return Seeded(requests, communes, tuple(codes))


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _event(
    request_id: int, at: datetime, kind: str, from_status: str | None = None, to: str | None = None
) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "at": at,
        "kind": kind,
        "from_status": from_status,
        "to_status": to,
        "text": None,
        "actor": None,
        "data": {},
    }


def _message(
    account_id: int, channel: str, direction: str, text: str, at: datetime
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "channel": channel,
        "direction": direction,
        "channel_message_id": None,
        "text": text,
        "data": {},
        "status": ANSWERED if direction == INBOUND else SENT,
        "attempts": 0,
        "created_at": at,
    }


assert set(NEED_WEIGHTS) == set(NEEDS)
