"""The channel wiring: the channels that are on (a token is set), with their rate limiters and
the Zalo OA token store, built from settings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.tokens import DbTokenStore
from bot.settings import Settings
from connectors.base import Channel
from connectors.ratelimit import RateLimiter
from connectors.telegram import outbound as telegram
from connectors.webchat.inbound import CHANNEL as WEBCHAT
from connectors.zalo_bot import outbound as zalo_bot
from connectors.zalo_oa import outbound as zalo_oa
from connectors.zalo_oa.tokens import Tokens, ZaloTokens

INITIAL_TOKEN_LIFETIME = 3600  # seconds: a token from the settings is refreshed within the hour


@dataclass
class Channels:
    senders: dict[str, Channel] = field(default_factory=dict)
    limiters: dict[str, RateLimiter] = field(default_factory=dict)

    @property
    def text_limits(self) -> dict[str, int]:
        return {name: channel.max_text_length for name, channel in self.senders.items()}

    def on(self, name: str) -> bool:
        return name == WEBCHAT or name in self.senders

    async def aclose(self) -> None:
        """Close the connections of senders that keep their own (Telegram's aiohttp session);
        the Zalo ones use the app's httpx client, closed with it."""
        for sender in self.senders.values():
            if isinstance(sender, telegram.TelegramChannel):
                await sender.aclose()


def build(
    settings: Settings, *, client: httpx.AsyncClient, sessions: sessionmaker[Session]
) -> Channels:
    """Senders for every channel whose token is set; the web chat needs none."""
    channels = Channels()
    s = settings
    if s.telegram_bot_token:
        bot = telegram.make_bot(s.telegram_bot_token, s.telegram_api_base_url)
        _add(
            channels, telegram.TelegramChannel(bot), telegram.PER_SECOND, telegram.CHAT_INTERVAL, s
        )
    if s.zalo_oa_access_token or s.zalo_oa_refresh_token:
        initial = Tokens(
            s.zalo_oa_access_token, s.zalo_oa_refresh_token, time.time() + INITIAL_TOKEN_LIFETIME
        )
        tokens = ZaloTokens(
            client=client,
            store=DbTokenStore(sessions=sessions, channel="zalo_oa", initial=initial),
            oauth_base_url=s.zalo_oauth_base_url,
            app_id=s.zalo_oa_app_id,
            app_secret=s.zalo_oa_app_secret,
        )
        sender = zalo_oa.ZaloOAChannel(
            client=client,
            tokens=tokens,
            base_url=s.zalo_oa_api_base_url,
            share_phone_image_url=s.zalo_oa_share_phone_image_url,
        )
        _add(channels, sender, zalo_oa.PER_SECOND, zalo_oa.CHAT_INTERVAL, s)
    if s.zalo_bot_token:
        sender_bot = zalo_bot.ZaloBotChannel(
            client=client, token=s.zalo_bot_token, base_url=s.zalo_bot_api_base_url
        )
        _add(channels, sender_bot, zalo_bot.PER_SECOND, zalo_bot.CHAT_INTERVAL, s)
    return channels


def _add(
    channels: Channels, sender: Channel, per_second: float, interval: float, s: Settings
) -> None:
    per_second = s.rate_limits.get(f"{sender.name}_per_second", per_second)
    interval = s.rate_limits.get(f"{sender.name}_chat_interval", interval)
    channels.senders[sender.name] = sender
    channels.limiters[sender.name] = RateLimiter(per_second=per_second, chat_interval=interval)
