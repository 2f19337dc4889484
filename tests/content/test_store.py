"""What is current: validity to the minute in Viet Nam's time, areas, history."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.content import areas, files, store
from bot.storage.content import AreaLevel
from tests.content.sample import HOME, small

DATABASES = ("sqlite", "postgresql")
VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def loaded(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with session_factory.begin() as session:
        files.load(small(), session=session, prefer_province=HOME)
    return session_factory


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2021, 12, 31, 23, 59, tzinfo=VN), ["closed-f0"]),  # last day included
        (datetime(2022, 1, 1, 0, 0, tzinfo=VN), []),  # expired at midnight, Viet Nam time
        (datetime(2021, 6, 30, 23, 59, tzinfo=VN), []),  # not yet in force
    ],
)
def test_a_scheme_is_open_exactly_within_its_dates(
    loaded: sessionmaker[Session], at: datetime, expected: list[str]
) -> None:
    with loaded() as session:
        found = store.schemes(session=session, area=None, at=at, group="f0_f1")
        assert [s.key for s in found.open] == expected


def test_levels_history_and_the_level_in_force_over_time(loaded: sessionmaker[Session]) -> None:
    province = areas.from_key("p:20")
    with loaded() as session:
        at_2020 = store.levels(session=session, area=province, at=datetime(2020, 6, 1, tzinfo=VN))
        at_2022 = store.levels(session=session, area=province, at=datetime(2022, 6, 1, tzinfo=VN))
        assert [r.level.level for r in at_2020 + at_2022 if r.level] == [1, 2]
        kept = session.scalars(  # every level the province had is kept: its history
            select(AreaLevel.key)
            .where(AreaLevel.province_code == 20, AreaLevel.commune_code.is_(None))
            .order_by(AreaLevel.valid_from.desc())
        )
        assert list(kept) == ["ls-2", "ls-1"]


def test_a_zone_is_closed_from_its_start_until_its_last_day(loaded: sessionmaker[Session]) -> None:
    ward = areas.from_key("c:5986")
    assert ward is not None

    def names(at: datetime) -> list[str]:
        with loaded() as session:
            return [z.name for z in store.zones(session=session, area=ward, at=at).active]

    assert names(datetime(2020, 1, 1, 23, 59, tzinfo=VN)) == []
    assert "Phố đã hết hạn" in names(datetime(2020, 3, 1, 23, 59, tzinfo=VN))
    assert "Phố đã hết hạn" not in names(datetime(2020, 3, 2, 0, 0, tzinfo=VN))
    assert "Chợ cũ" not in names(datetime(2020, 3, 1, tzinfo=VN))  # lifted


def test_an_empty_database_is_empty(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        assert store.is_empty(session=session)
