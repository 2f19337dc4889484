"""Helpers for the desk's tests: cheap Argon2 settings, a clock the test moves, staff accounts,
and a browser (an ``httpx.Client``) that signs in."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from bot import settings as settings_module
from bot.alerts import subscriptions
from bot.alerts.subscriptions import AreaCode
from bot.helpdesk import requests
from bot.helpdesk import staff as accounts
from bot.helpdesk.urgency import Urgency
from bot.storage.conversations import account_for
from bot.storage.helpdesk import NORMAL
from bot.web.desk.auth import COOKIE

# Argon2 at its cheapest: the production cost (~50 ms and 64 MiB a hash) would make the
# suite slow; ``test_production_hashing_parameters_are_the_defaults`` checks the defaults.
CHEAP = {"desk_argon2_time_cost": 1, "desk_argon2_memory_kib": 8, "desk_argon2_parallelism": 1}
CHEAP_POLICY = accounts.Policy(time_cost=1, memory_kib=8, parallelism=1)
PASSWORD = "correct horse battery"
KY_LUA, TAM_THANH, HUU_LUNG = 6187, 5986, 6385  # Lạng Sơn wards and a commune (2025 codes)
LANG_SON = 20  # the province (2025 code)
START = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


class Clock:
    """The desk's ``now``: stands still until the test moves it."""

    def __init__(self, start: datetime = START) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def desk_settings(database_url: str, **overrides: object) -> settings_module.Settings:
    cfg = replace(
        settings_module.Settings(),
        database_url=database_url,
        rasa_url="http://127.0.0.1:9",  # the desk never calls Rasa
        webchat_secret="test-desk-webchat-secret",
        **CHEAP,  # type: ignore[arg-type]
    )
    return replace(cfg, **overrides)  # type: ignore[arg-type]


def add_staff(
    factory: sessionmaker[Session],
    username: str,
    role: str,
    communes: Iterable[int] = (),
    *,
    display_name: str = "",
    password: str = PASSWORD,
    now: datetime = START,
) -> int:
    """A committed staff account; its id."""
    with factory.begin() as session:
        user = accounts.add_user(
            session=session,
            policy=CHEAP_POLICY,
            username=username,
            display_name=display_name or username,
            role=role,
            password=password,
            communes=communes,
            now=now,
        )
        return user.id


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token a page's forms carry."""
    found = CSRF_FIELD.search(page.text)
    assert found, "the page has no form with a csrf field"
    return found.group(1)


def sign_in(browser: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    """Open the sign-in form and post it, as a browser does; the response to the post."""
    form = browser.get("/desk/login")
    return browser.post(
        "/desk/login",
        data={"csrf": csrf_of(form), "username": username, "password": password},
    )


@contextmanager
def signed_in_browser(
    base_url: str, username: str, password: str = PASSWORD
) -> Iterator[httpx.Client]:
    """A new browser, signed in as ``username``, for the block."""
    with httpx.Client(base_url=base_url, timeout=60, headers={"accept": "text/html"}) as browser:
        answer = sign_in(browser, username, password)
        assert answer.status_code == 303, answer.text
        assert COOKIE in browser.cookies
        yield browser


@contextmanager
def browser_as(base_url: str, username: str | None) -> Iterator[httpx.Client]:
    """A browser signed in as ``username``, or one with no session at all (None)."""
    if username is None:
        with httpx.Client(base_url=base_url, timeout=10, headers={"accept": "text/html"}) as nobody:
            yield nobody
    else:
        with signed_in_browser(base_url, username) as signed:
            yield signed


def file_request(
    factory: sessionmaker[Session],
    sender: str,
    commune_code: int,
    *,
    description: str = "Hết gạo.",
    level: str = NORMAL,
    phone: str | None = None,
    at: datetime = START,
) -> str:
    """A help request from ``sender`` (``telegram:1``) in a commune; its code."""
    channel, _, external_id = sender.partition(":")
    with factory() as session:
        account = account_for(session=session, channel=channel, external_id=external_id)
        session.commit()
        filed = requests.create(
            session=session,
            account_id=account.id,
            client_key=f"form-{sender}",
            request=requests.draft(
                needs=["food"],
                description=description,
                commune_code=commune_code,
                address_detail="Số 5 ngõ 12" if phone else None,
                people_count=1,
                phone=phone,
                consent=phone is not None,
            ),
            level=Urgency(level),
            at=at,
        )
        return filed.request.code


def subscriber(
    factory: sessionmaker[Session],
    sender: str,
    *areas: AreaCode,
    last_inbound: datetime | None = START,
    reachable: bool = True,
    at: datetime = START,
) -> int:
    """A person subscribed from ``sender`` (``zalo_oa:7``) to ``areas``, who last wrote at
    ``last_inbound`` (the Zalo OA window) and whom the channel can (not) reach; the person's id."""
    channel, _, external_id = sender.partition(":")
    with factory.begin() as session:
        account = account_for(session=session, channel=channel, external_id=external_id)
        account.last_inbound_at = last_inbound
        account.reachable = reachable
        session.flush()
        subscriptions.subscribe(session=session, account_id=account.id, areas=areas, now=at)
        return account.person_id
