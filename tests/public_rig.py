"""Helpers for the public pages' tests: the app over real HTTP on a database with the Lạng Sơn
demo content, announcements written as the officers' side leaves them, and a level set by the
``loa`` command in another process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import VIETNAM, utcnow
from bot.content import files
from bot.storage.alerts import APPROVED, ONE_OFF, Broadcast
from bot.storage.staff import COMMUNICATIONS
from bot.web.app import create_app
from testkit.fakes.server import serve
from tests.desk_rig import add_staff, desk_settings

ROOT = Path(__file__).resolve().parent.parent
KY_LUA, TAM_THANH, HUU_LUNG, DONG_DANG = 6187, 5986, 6385, 6184  # Lạng Sơn units (2025 codes)
LANG_SON = 20
HA_NOI_COMMUNE = 4  # Phường Hoàn Kiếm, Hà Nội: a commune of another province
OFFICER = "comm-public"


def load_demo(factory: sessionmaker[Session]) -> None:
    """The Lạng Sơn demo content: levels, zones, hotlines, the seed plan's scheme."""
    with factory.begin() as session:
        files.load(files.read_file(files.DEMO), session=session, prefer_province="Lạng Sơn")


@contextmanager
def public_site(
    database_url: str, now: Callable[[], datetime] = utcnow, **overrides: Any
) -> Iterator[tuple[str, Any]]:
    """The app served on a free port: (its URL, the app)."""
    cfg = desk_settings(database_url, embedded_worker=0, **overrides)
    app = create_app(cfg, now=now)
    with serve(app) as url:
        yield url, app


def announce(
    factory: sessionmaker[Session],
    *,
    areas: list[tuple[int, int | None]],
    title: str,
    text: str,
    at: datetime,
    kind: str = ONE_OFF,
    status: str = APPROVED,
) -> int:
    """A broadcast row as the officers' side leaves it (approved: text rendered); its id. A
    cancelled one was stopped after its approval (the hardest to tell from a published one)."""
    approved = status in ("approved", "done", "cancelled")
    with factory.begin() as session:
        row = Broadcast(
            kind=kind,
            status=status,
            areas=[{"province_code": p, "commune_code": c} for p, c in areas],
            title=title,
            template=text,
            text=text if approved else "",
            created_at=at - timedelta(minutes=5),
            updated_at=at,
            approved_at=at if approved else None,
        )
        session.add(row)
        session.flush()
        return row.id


def add_officer(factory: sessionmaker[Session]) -> None:
    add_staff(factory, OFFICER, COMMUNICATIONS, display_name="Nguyễn Thu Hà")


def loa_level_set(database_url: str, area: str, level: int, decision: str) -> str:
    """``loa level set`` in its own process, effective now; its output (it must succeed)."""
    effective = datetime.now(UTC).astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M")
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "level", "set", "--area", area, "--level", str(level),
         "--decision", decision, "--effective", effective, "--as", OFFICER],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout
