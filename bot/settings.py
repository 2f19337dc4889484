"""Every setting of Loa, read from environment variables (see DESIGN.md, "Configuration").

Each setting is one field below: its default is written there and nowhere else, and its
environment variable is named beside it. A value that cannot be read names its variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
# Channels whose sending pace can be tuned: <CHANNEL>_PER_SECOND, <CHANNEL>_CHAT_INTERVAL.
PACED_CHANNELS = ("telegram", "zalo_oa", "zalo_bot")
# The level scheme of the seed plan (Lạng Sơn, 2020): its five situations and their cadence.
SEED_SCHEME = "tinh-huong-2020"


class SettingsError(ValueError):
    """An environment variable holds a value Loa cannot use; the message names it."""


def _env(name: str) -> dict[str, Any]:
    return {"env": name}


@dataclass(frozen=True)
class Settings:
    """A snapshot of the settings; ``load()`` reads one from the environment, ``Settings()``
    is every default."""

    # Local data: the SQLite database, Rasa's tracker store, logs.
    var_dir: Path = field(default=ROOT / "var", metadata=_env("LOA_VAR_DIR"))
    database_url: str = field(default="", metadata=_env("DATABASE_URL"))  # "": var/loa.db
    host: str = field(default="127.0.0.1", metadata=_env("HOST"))
    port: int = field(default=8000, metadata=_env("PORT"))
    rasa_port: int = field(default=5005, metadata=_env("RASA_PORT"))
    rasa_url: str = field(default="", metadata=_env("RASA_URL"))  # "": Rasa on RASA_PORT here
    # Rasa servers `loa run` starts, on RASA_PORT, RASA_PORT+1, …; more than one needs a lock
    # store shared by them (RASA_LOCK_STORE_URL, Redis), else one person's turns can interleave.
    rasa_processes: int = field(default=1, metadata=_env("RASA_PROCESSES"))
    # Every Rasa server the app spreads conversations over, comma-separated (for servers run
    # elsewhere; "": RASA_URL and the next RASA_PROCESSES-1 ports). rasa_url is the first.
    rasa_urls: tuple[str, ...] = field(default=(), metadata=_env("RASA_URLS"))
    # Rasa's lock store, e.g. redis://127.0.0.1:6379/0 ("": each Rasa keeps its locks in memory).
    rasa_lock_store_url: str = field(default="", metadata=_env("RASA_LOCK_STORE_URL"))
    action_server_port: int = field(default=5055, metadata=_env("ACTION_SERVER_PORT"))
    # "": var/rasa-tracker.db
    rasa_tracker_db: str = field(default="", metadata=_env("RASA_TRACKER_DB"))
    rasa_timeout_seconds: float = field(default=20.0, metadata=_env("RASA_TIMEOUT_SECONDS"))
    # Turns the app has in one Rasa server at once; the rest wait in the app, in order (turns
    # piled up in Rasa only wait there, and one past RASA_TIMEOUT_SECONDS is work lost).
    rasa_concurrency: int = field(default=4, metadata=_env("RASA_CONCURRENCY"))
    # Longer messages are cut before NLU (the message log keeps them whole).
    max_message_chars: int = field(default=1000, metadata=_env("MAX_MESSAGE_CHARS"))
    # Seconds between passes of the worker that answers messages left pending.
    retry_interval: float = field(default=10.0, metadata=_env("RETRY_INTERVAL_SECONDS"))
    # Web chat: the key that signs its conversation cookies ("": var/webchat.key, made once).
    webchat_secret: str = field(default="", metadata=_env("WEBCHAT_SECRET"))
    # Behind a reverse proxy: the header it puts the client's address in (e.g.
    # X-Forwarded-For; its last entry is used). "": the address of the connection itself.
    trusted_proxy_header: str = field(default="", metadata=_env("TRUSTED_PROXY_HEADER"))
    # Web chat limits in front of Rasa: messages per client address per minute, new
    # conversations per address per minute, and messages per second from all web chats.
    webchat_per_address_per_minute: int = field(
        default=60, metadata=_env("WEBCHAT_PER_ADDRESS_PER_MINUTE")
    )
    webchat_new_per_address_per_minute: int = field(
        default=6, metadata=_env("WEBCHAT_NEW_PER_ADDRESS_PER_MINUTE")
    )
    webchat_nlu_per_second: float = field(default=10.0, metadata=_env("WEBCHAT_NLU_PER_SECOND"))
    # Web chat turns Rasa works on at once, for the whole site (more wait up to 5 s, then a
    # polite 429): however slow Rasa is, the web chat never holds more of its queue than this.
    webchat_rasa_concurrency: int = field(default=2, metadata=_env("WEBCHAT_RASA_CONCURRENCY"))
    # Messages one person may send per minute on Telegram and Zalo (after a burst of 10)
    # before Loa keeps the rest unanswered and says once to slow down.
    sender_per_minute: int = field(default=30, metadata=_env("SENDER_PER_MINUTE"))
    # Sites allowed to embed the chat in a frame, space-separated origins ("": none).
    embed_origins: str = field(default="", metadata=_env("EMBED_ORIGINS"))
    # The token Rasa's HTTP API requires ("": a new random one each time the stack starts).
    rasa_token: str = field(default="", metadata=_env("RASA_TOKEN"))
    # The province this deployment serves (answers and place disambiguation prefer it).
    province: str = field(default="Lạng Sơn", metadata=_env("LOA_PROVINCE"))
    # Triage: SpO2 below / breaths per minute above these → call 115 (lower for people at
    # risk: pregnant, elderly, chronic illness, children). Defaults: QĐ 4038/QĐ-BYT
    # (21/8/2021) allows home care only with SpO2 ≥ 96 % and ≤ 20 breaths/min.
    triage_spo2_below: int = field(default=96, metadata=_env("TRIAGE_SPO2_BELOW"))
    triage_spo2_below_at_risk: int = field(default=97, metadata=_env("TRIAGE_SPO2_BELOW_AT_RISK"))
    triage_breaths_above: int = field(default=25, metadata=_env("TRIAGE_BREATHS_ABOVE"))
    triage_breaths_above_at_risk: int = field(
        default=20, metadata=_env("TRIAGE_BREATHS_ABOVE_AT_RISK")
    )
    # Personal data (Decree 13/2023/NĐ-CP): a help request's phone, address, description and
    # staff texts are erased this many days after it closes (its statistics stay); message
    # texts in the log and Rasa's conversations are kept this many days.
    request_retention_days: int = field(default=30, metadata=_env("REQUEST_RETENTION_DAYS"))
    message_retention_days: int = field(default=60, metadata=_env("MESSAGE_RETENTION_DAYS"))
    # The desk's sign-in: a session lasts at most DESK_SESSION_HOURS, and ends sooner after
    # DESK_IDLE_MINUTES without a request; DESK_LOCKOUT_FAILURES wrong passwords in a row lock
    # the account for DESK_LOCKOUT_MINUTES; one address may try DESK_LOGINS_PER_MINUTE times.
    desk_session_hours: float = field(default=12.0, metadata=_env("DESK_SESSION_HOURS"))
    desk_idle_minutes: float = field(default=120.0, metadata=_env("DESK_IDLE_MINUTES"))
    desk_lockout_failures: int = field(default=5, metadata=_env("DESK_LOCKOUT_FAILURES"))
    desk_lockout_minutes: float = field(default=15.0, metadata=_env("DESK_LOCKOUT_MINUTES"))
    desk_logins_per_minute: int = field(default=10, metadata=_env("DESK_LOGINS_PER_MINUTE"))
    # Argon2id cost of the desk's password hashes; defaults: RFC 9106's second recommended
    # option (argon2-cffi's RFC_9106_LOW_MEMORY). Stored hashes are upgraded at sign-in.
    desk_argon2_time_cost: int = field(default=3, metadata=_env("DESK_ARGON2_TIME_COST"))
    desk_argon2_memory_kib: int = field(default=65536, metadata=_env("DESK_ARGON2_MEMORY_KIB"))
    desk_argon2_parallelism: int = field(default=4, metadata=_env("DESK_ARGON2_PARALLELISM"))
    telegram_bot_token: str = field(default="", metadata=_env("TELEGRAM_BOT_TOKEN"))
    telegram_webhook_secret: str = field(default="", metadata=_env("TELEGRAM_WEBHOOK_SECRET"))
    telegram_api_base_url: str = field(
        default="https://api.telegram.org", metadata=_env("TELEGRAM_API_BASE_URL")
    )
    # The public pages' "receive announcements" links: the bot's @username (t.me/<name>) and
    # the Official Account's id (zalo.me/<id>). "": the page says that channel is not set up.
    telegram_bot_username: str = field(default="", metadata=_env("TELEGRAM_BOT_USERNAME"))
    zalo_oa_id: str = field(default="", metadata=_env("ZALO_OA_ID"))
    zalo_oa_app_id: str = field(default="", metadata=_env("ZALO_OA_APP_ID"))
    zalo_oa_app_secret: str = field(default="", metadata=_env("ZALO_OA_APP_SECRET"))
    zalo_oa_secret_key: str = field(default="", metadata=_env("ZALO_OA_SECRET_KEY"))
    zalo_oa_access_token: str = field(default="", metadata=_env("ZALO_OA_ACCESS_TOKEN"))
    zalo_oa_refresh_token: str = field(default="", metadata=_env("ZALO_OA_REFRESH_TOKEN"))
    zalo_oa_api_base_url: str = field(
        default="https://openapi.zalo.me", metadata=_env("ZALO_OA_API_BASE_URL")
    )
    # The picture on Zalo OA's card asking a person to share their phone number (help
    # requests): a public .png or .jpg URL, e.g. this app's /static/share-phone.png at its
    # public address. "": no card; people type their number.
    zalo_oa_share_phone_image_url: str = field(
        default="", metadata=_env("ZALO_OA_SHARE_PHONE_IMAGE_URL")
    )
    zalo_oauth_base_url: str = field(
        default="https://oauth.zaloapp.com", metadata=_env("ZALO_OAUTH_BASE_URL")
    )
    zalo_bot_token: str = field(default="", metadata=_env("ZALO_BOT_TOKEN"))
    zalo_bot_webhook_secret: str = field(default="", metadata=_env("ZALO_BOT_WEBHOOK_SECRET"))
    zalo_bot_api_base_url: str = field(
        default="https://bot-api.zapps.me", metadata=_env("ZALO_BOT_API_BASE_URL")
    )
    # The desk's SLA, by urgency: minutes to the first answer to the person, hours to close.
    # Clocks stop when a request is closed and start again if it is reopened.
    sla_first_response_minutes_emergency: int = field(
        default=15, metadata=_env("SLA_FIRST_RESPONSE_MINUTES_EMERGENCY")
    )
    sla_first_response_minutes_high: int = field(
        default=60, metadata=_env("SLA_FIRST_RESPONSE_MINUTES_HIGH")
    )
    sla_first_response_minutes_normal: int = field(
        default=240, metadata=_env("SLA_FIRST_RESPONSE_MINUTES_NORMAL")
    )
    sla_resolution_hours_emergency: int = field(
        default=4, metadata=_env("SLA_RESOLUTION_HOURS_EMERGENCY")
    )
    sla_resolution_hours_high: int = field(default=24, metadata=_env("SLA_RESOLUTION_HOURS_HIGH"))
    sla_resolution_hours_normal: int = field(
        default=72, metadata=_env("SLA_RESOLUTION_HOURS_NORMAL")
    )
    # The desk's background work: auto-assignment every DESK_AUTOASSIGN_SECONDS (0: off);
    # emergency alerts and SLA escalations every DESK_WATCH_SECONDS. DESK_URL is the desk's
    # address as staff open it from a Telegram alert ("": this app's own address).
    desk_autoassign_seconds: float = field(default=60.0, metadata=_env("DESK_AUTOASSIGN_SECONDS"))
    desk_watch_seconds: float = field(default=30.0, metadata=_env("DESK_WATCH_SECONDS"))
    desk_url: str = field(default="", metadata=_env("DESK_URL"))
    # Alerts: the level scheme in force (a key of the content's alert_schemes), and whether the
    # author of an urgent announcement (a real-time level) may approve it alone — four eyes
    # otherwise, also for urgent ones, unless the province decides speed matters more.
    alert_scheme: str = field(default=SEED_SCHEME, metadata=_env("ALERT_SCHEME"))
    alert_self_approve_urgent: bool = field(
        default=False, metadata=_env("ALERT_SELF_APPROVE_URGENT")
    )
    # Broadcasts: non-urgent deliveries are held during quiet hours (local time, Viet Nam;
    # "off" for none) and beyond ALERT_DAILY_CAP non-urgent messages per person per local day.
    alert_quiet_hours: str = field(default="21:00-06:00", metadata=_env("ALERT_QUIET_HOURS"))
    alert_daily_cap: int = field(default=3, metadata=_env("ALERT_DAILY_CAP"))
    # The delivery worker: 1 runs one inside the app (the embedded default); production sets 0
    # and runs `loa worker` processes. A worker silent for ALERT_WORKER_LEASE_SECONDS is taken
    # for dead: what it was sending becomes uncertain. ALERT_SEND_CONCURRENCY sends in flight
    # per worker.
    embedded_worker: int = field(default=1, metadata=_env("EMBEDDED_WORKER"))
    alert_worker_lease_seconds: float = field(
        default=30.0, metadata=_env("ALERT_WORKER_LEASE_SECONDS")
    )
    alert_send_concurrency: int = field(default=64, metadata=_env("ALERT_SEND_CONCURRENCY"))
    # Overrides of the channels' own pacing, e.g. TELEGRAM_PER_SECOND=30,
    # TELEGRAM_CHAT_INTERVAL=1.0 (also ZALO_OA_…, ZALO_BOT_…); key "telegram_per_second".
    rate_limits: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Defaults that follow from other settings, filled once so every reader agrees.
        derived = {
            "database_url": f"sqlite:///{self.var_dir / 'loa.db'}",
            "rasa_tracker_db": str(self.var_dir / "rasa-tracker.db"),
        }
        for name, value in derived.items():
            if not getattr(self, name):
                object.__setattr__(self, name, value)
        self._derive_rasa_urls()
        if self.rasa_processes < 1:
            raise SettingsError(f"RASA_PROCESSES must be 1 or more, got {self.rasa_processes}")
        if self.rasa_concurrency < 1:
            raise SettingsError(f"RASA_CONCURRENCY must be 1 or more, got {self.rasa_concurrency}")
        servers = max(len(self.rasa_urls), self.rasa_processes)
        if servers > 1 and not self.rasa_lock_store_url:
            raise SettingsError(
                f"{servers} Rasa servers (RASA_PROCESSES or RASA_URLS) need a lock "
                "store they share, RASA_LOCK_STORE_URL (e.g. redis://127.0.0.1:6379/0): without "
                "one, two servers can work on one person's turns at once and interleave them"
            )
        if self.rasa_lock_store_url:
            redis_location(self.rasa_lock_store_url)  # refuses what Rasa could not use

    def _derive_rasa_urls(self) -> None:
        """rasa_url and rasa_urls from each other, RASA_PORT and RASA_PROCESSES.

        A derived value is marked (``_Derived*``) so that ``dataclasses.replace`` derives it
        again from the new settings (``replace(cfg, rasa_processes=2)``) instead of keeping
        the old one; a value that was set stays as set.
        """
        explicit = tuple(u.strip().rstrip("/") for u in self.rasa_urls if u.strip())
        if explicit and not isinstance(self.rasa_urls, _DerivedTuple):
            object.__setattr__(self, "rasa_urls", explicit)
            object.__setattr__(self, "rasa_url", explicit[0])
            return
        first: str
        if not self.rasa_url or isinstance(self.rasa_url, _DerivedStr):
            first = _DerivedStr(f"http://127.0.0.1:{self.rasa_port}")
        else:
            first = self.rasa_url.rstrip("/")
        object.__setattr__(self, "rasa_url", first)
        parts = urlsplit(first)
        port = parts.port or self.rasa_port
        others = (
            urlunsplit(parts._replace(netloc=f"{parts.hostname}:{port + i}"))
            for i in range(1, self.rasa_processes)
        )
        object.__setattr__(self, "rasa_urls", _DerivedTuple((str(first), *others)))

    @property
    def app_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def embedded_database(self) -> bool:
        """Whether the database is the embedded SQLite default (DATABASE_URL unset): a
        development or demo set-up, never a production one."""
        return self.database_url == f"sqlite:///{self.var_dir / 'loa.db'}"

    @property
    def action_server_url(self) -> str:
        return f"http://127.0.0.1:{self.action_server_port}"

    @property
    def channels_on(self) -> tuple[str, ...]:
        """The channels Loa serves: the web chat always, the others when their token is set."""
        tokens = {
            "telegram": self.telegram_bot_token,
            "zalo_oa": self.zalo_oa_access_token or self.zalo_oa_refresh_token,
            "zalo_bot": self.zalo_bot_token,
        }
        return ("webchat", *(name for name, token in tokens.items() if token))


class _DerivedStr(str):
    """A value ``Settings`` derived rather than was given (see ``_derive_rasa_urls``)."""


class _DerivedTuple(tuple[str, ...]):
    """As ``_DerivedStr``, for a tuple."""


def redis_location(url: str) -> tuple[str, int, int, str]:
    """Host, port, database number and password of a ``redis://[:password@]host[:port][/db]``
    URL (what Rasa's Redis lock store takes); SettingsError names RASA_LOCK_STORE_URL."""
    problem = f"RASA_LOCK_STORE_URL must look like redis://host:6379/0, got {url!r}"
    parts = urlsplit(url)
    try:
        port = parts.port or 6379
    except ValueError:
        raise SettingsError(problem) from None
    db = parts.path.strip("/") or "0"
    if parts.scheme != "redis" or not parts.hostname or not db.isdigit() or parts.query:
        raise SettingsError(problem)
    return parts.hostname, port, int(db), unquote(parts.password or "")


def _read(name: str, raw: str, kind: Any) -> Any:
    if kind in (int, "int"):
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if kind in (float, "float"):
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if kind in (bool, "bool"):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name} must be true or false, got {raw!r}")
    if kind in (Path, "Path"):
        return Path(raw)
    if kind in (tuple[str, ...], "tuple[str, ...]"):
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    return raw


def load(environ: dict[str, str] | None = None) -> Settings:
    """Read the settings from the environment (unset or empty: the default)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for spec in fields(Settings):
        name = str(spec.metadata.get("env", ""))
        if name and (raw := env.get(name, "").strip()):
            values[spec.name] = _read(name, raw, spec.type)
    limits = {}
    for channel in PACED_CHANNELS:
        for kind in ("per_second", "chat_interval"):
            name = f"{channel.upper()}_{kind.upper()}"
            if raw := env.get(name, "").strip():
                limits[f"{channel}_{kind}"] = _read(name, raw, float)
    return Settings(**values, rate_limits=limits)


def environ(settings: Settings) -> dict[str, str]:
    """``settings`` as the environment variables ``load`` reads back to the same settings (for
    the processes Loa starts)."""
    env: dict[str, str] = {}
    for spec in fields(Settings):
        if name := str(spec.metadata.get("env", "")):
            value = getattr(settings, spec.name)
            env[name] = ",".join(value) if isinstance(value, tuple) else str(value)
    env.update({key.upper(): str(value) for key, value in settings.rate_limits.items()})
    return env
