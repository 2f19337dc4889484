"""Every setting of Loa, read from environment variables (see DESIGN.md, "Configuration")."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _int(name: str, default: int) -> int:
    raw = _env(name)
    return int(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    """A snapshot of the environment; ``load()`` makes one."""

    var_dir: Path  # local data: the SQLite database, Rasa's tracker store, logs
    database_url: str
    host: str
    port: int
    rasa_port: int
    rasa_url: str
    action_server_port: int
    rasa_tracker_db: str
    rasa_timeout_seconds: float
    max_message_chars: int
    retry_interval: float
    province: str
    # Triage: SpO2 below / breaths per minute above these → call 115 (lower for people at
    # risk: pregnant, elderly, chronic illness, children). Defaults: QĐ 4038/QĐ-BYT
    # (21/8/2021) allows home care only with SpO2 ≥ 96 % and ≤ 20 breaths/min.
    triage_spo2_below: int = 96
    triage_spo2_below_at_risk: int = 97
    triage_breaths_above: int = 25
    triage_breaths_above_at_risk: int = 20
    telegram_bot_token: str = ""
    telegram_webhook_secret: str = ""
    telegram_api_base_url: str = "https://api.telegram.org"
    zalo_oa_app_id: str = ""
    zalo_oa_app_secret: str = ""
    zalo_oa_secret_key: str = ""
    zalo_oa_access_token: str = ""
    zalo_oa_refresh_token: str = ""
    zalo_oa_api_base_url: str = "https://openapi.zalo.me"
    zalo_oauth_base_url: str = "https://oauth.zaloapp.com"
    zalo_bot_token: str = ""
    zalo_bot_webhook_secret: str = ""
    zalo_bot_api_base_url: str = "https://bot-api.zapps.me"
    channels_on: tuple[str, ...] = field(default=("webchat",))
    # Overrides of the channels' own pacing, e.g. TELEGRAM_PER_SECOND=30,
    # TELEGRAM_CHAT_INTERVAL=1.0 (also ZALO_OA_…, ZALO_BOT_…).
    rate_limits: dict[str, float] = field(default_factory=dict)

    @property
    def app_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def action_server_url(self) -> str:
        return f"http://127.0.0.1:{self.action_server_port}"


def load() -> Settings:
    """Read the settings from the environment (defaults: everything local, SQLite under var/)."""
    rasa_port = _int("RASA_PORT", 5005)
    var = Path(_env("LOA_VAR_DIR") or ROOT / "var")
    s = Settings(
        var_dir=var,
        database_url=_env("DATABASE_URL") or f"sqlite:///{var / 'loa.db'}",
        host=_env("HOST", "127.0.0.1"),
        port=_int("PORT", 8000),
        rasa_port=rasa_port,
        rasa_url=(_env("RASA_URL") or f"http://127.0.0.1:{rasa_port}").rstrip("/"),
        action_server_port=_int("ACTION_SERVER_PORT", 5055),
        rasa_tracker_db=_env("RASA_TRACKER_DB") or str(var / "rasa-tracker.db"),
        rasa_timeout_seconds=float(_env("RASA_TIMEOUT_SECONDS", "20")),
        # Longer messages are cut before NLU (the message log keeps them whole).
        max_message_chars=_int("MAX_MESSAGE_CHARS", 1000),
        # Seconds between passes of the worker that answers messages left pending.
        retry_interval=float(_env("RETRY_INTERVAL_SECONDS", "10")),
        # The province this deployment serves (answers and place disambiguation prefer it).
        province=_env("LOA_PROVINCE", "Lạng Sơn"),
        triage_spo2_below=_int("TRIAGE_SPO2_BELOW", 96),
        triage_spo2_below_at_risk=_int("TRIAGE_SPO2_BELOW_AT_RISK", 97),
        triage_breaths_above=_int("TRIAGE_BREATHS_ABOVE", 25),
        triage_breaths_above_at_risk=_int("TRIAGE_BREATHS_ABOVE_AT_RISK", 20),
        telegram_bot_token=_env("TELEGRAM_BOT_TOKEN"),
        telegram_webhook_secret=_env("TELEGRAM_WEBHOOK_SECRET"),
        telegram_api_base_url=_env("TELEGRAM_API_BASE_URL", "https://api.telegram.org"),
        zalo_oa_app_id=_env("ZALO_OA_APP_ID"),
        zalo_oa_app_secret=_env("ZALO_OA_APP_SECRET"),
        zalo_oa_secret_key=_env("ZALO_OA_SECRET_KEY"),
        zalo_oa_access_token=_env("ZALO_OA_ACCESS_TOKEN"),
        zalo_oa_refresh_token=_env("ZALO_OA_REFRESH_TOKEN"),
        zalo_oa_api_base_url=_env("ZALO_OA_API_BASE_URL", "https://openapi.zalo.me"),
        zalo_oauth_base_url=_env("ZALO_OAUTH_BASE_URL", "https://oauth.zaloapp.com"),
        zalo_bot_token=_env("ZALO_BOT_TOKEN"),
        zalo_bot_webhook_secret=_env("ZALO_BOT_WEBHOOK_SECRET"),
        zalo_bot_api_base_url=_env("ZALO_BOT_API_BASE_URL", "https://bot-api.zapps.me"),
    )
    limits = {
        f"{channel}_{kind}": float(os.environ[f"{channel.upper()}_{kind.upper()}"])
        for channel in ("telegram", "zalo_oa", "zalo_bot")
        for kind in ("per_second", "chat_interval")
        if os.environ.get(f"{channel.upper()}_{kind.upper()}")
    }
    on = ["webchat"]
    if s.telegram_bot_token:
        on.append("telegram")
    if s.zalo_oa_access_token or s.zalo_oa_refresh_token:
        on.append("zalo_oa")
    if s.zalo_bot_token:
        on.append("zalo_bot")
    return Settings(**{**s.__dict__, "channels_on": tuple(on), "rate_limits": limits})
