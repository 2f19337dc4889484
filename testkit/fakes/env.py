"""The settings that point Loa's channels at the fakes, and the secrets the fakes expect."""

from __future__ import annotations

from testkit.fakes import telegram as tg
from testkit.fakes import zalo_oa as oa

TELEGRAM_SECRET = "s3cret_Token-1"
ZALO_OA_SECRET_KEY = "TEST-oa-secret-key"
ZALO_BOT_SECRET = "zb-secret-123"


def channel_env(telegram_url: str, zalo_oa_url: str) -> dict[str, str]:
    """Environment that turns Telegram and Zalo OA on, pointed at fakes at these URLs."""
    return {
        "TELEGRAM_BOT_TOKEN": tg.TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": telegram_url,
        "ZALO_OA_APP_ID": oa.APP_ID,
        "ZALO_OA_APP_SECRET": oa.APP_SECRET,
        "ZALO_OA_SECRET_KEY": ZALO_OA_SECRET_KEY,
        "ZALO_OA_ACCESS_TOKEN": oa.ACCESS_TOKEN,
        "ZALO_OA_REFRESH_TOKEN": oa.REFRESH_TOKEN,
        "ZALO_OA_API_BASE_URL": zalo_oa_url,
        "ZALO_OAUTH_BASE_URL": zalo_oa_url,
    }
