"""Send to Telegram with python-telegram-bot's ``Bot``; map its errors to a SendResult.

Docs: https://core.telegram.org/bots/api#sendmessage and https://core.telegram.org/bots/faq
("My bot is hitting limits").
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.request import BaseRequest

from connectors.base import (
    IncomingMessage,
    OutgoingMessage,
    SendResult,
    channel_id,
    share_phone_detail,
)
from connectors.http import NEVER_SENT
from connectors.telegram.request import AiohttpRequest

MAX_TEXT_LENGTH = 4096  # sendMessage text, 1-4096 characters after entity parsing
MAX_CAPTION_LENGTH = 1024  # sendPhoto caption
MAX_CALLBACK_DATA = 64  # callback_data, 1-64 bytes
PER_SECOND = 30  # about 30 messages per second across all chats (FAQ)
CHAT_INTERVAL = 1.0  # about one message per second in one chat (FAQ)
# Bad requests that mean the chat itself is gone, not that the message was wrong.
_UNREACHABLE = ("chat not found", "user not found", "peer_id_invalid")

logger = logging.getLogger(__name__)


def make_bot(token: str, api_base_url: str, *, request: BaseRequest | None = None) -> Bot:
    """A PTB ``Bot`` for ``token`` at ``api_base_url``: the real API's root, or a fake's. Its
    requests go through aiohttp (``connectors.telegram.request``) unless ``request`` says."""
    request = request or AiohttpRequest(connection_pool_size=64, connect_timeout=5, read_timeout=15)
    return Bot(token, base_url=f"{api_base_url.rstrip('/')}/bot", request=request)


class TelegramChannel:
    """Sends through a PTB ``Bot`` (pass one built with ``base_url`` to use a fake)."""

    name = "telegram"
    max_text_length = MAX_TEXT_LENGTH
    reply_window: timedelta | None = None

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def aclose(self) -> None:
        """Close the bot's connections (``Bot.shutdown`` does nothing for a bot that was never
        initialised, and sending needs no initialising: no getMe at start)."""
        await self.bot.request.shutdown()

    async def send(self, recipient: str, message: OutgoingMessage) -> SendResult:
        try:
            if message.image_url:
                sent = await self.bot.send_photo(
                    chat_id=int(recipient),
                    photo=message.image_url,
                    caption=message.text[:MAX_CAPTION_LENGTH] or None,
                    reply_markup=keyboard(message),
                )
            else:
                sent = await self.bot.send_message(
                    chat_id=int(recipient), text=message.text, reply_markup=keyboard(message)
                )
        except RetryAfter as exc:
            return SendResult(ok=False, retryable=True, retry_after=_seconds(exc), error=str(exc))
        except Forbidden as exc:  # blocked, deactivated, never started the bot
            return SendResult(ok=False, reachable=False, blocked=True, error=str(exc))
        except BadRequest as exc:
            gone = any(marker in str(exc).lower() for marker in _UNREACHABLE)
            return SendResult(ok=False, reachable=not gone, error=str(exc))
        except TimedOut as exc:
            # A connect timeout never reached Telegram; a read timeout may have delivered it.
            never_sent = isinstance(exc.__cause__, NEVER_SENT)
            return SendResult(
                ok=False, retryable=never_sent, uncertain=not never_sent, error=str(exc)
            )
        except InvalidToken as exc:  # our configuration, not the message: keep it queued
            logger.error("telegram token refused: %s", exc)
            return SendResult(ok=False, retryable=True, retry_after=60, error=str(exc))
        except TelegramError as exc:  # NetworkError: 5xx or the connection failed
            return SendResult(ok=False, retryable=True, error=str(exc))
        return SendResult(ok=True, channel_message_id=channel_id(sent.message_id))

    async def acknowledge(self, message: IncomingMessage) -> None:
        """Stop a pressed button's loading spinner in the Telegram app."""
        callback_query_id = message.data.get("callback_query_id")
        if not callback_query_id:
            return
        try:
            await self.bot.answer_callback_query(str(callback_query_id))
        except Exception as exc:  # cosmetic: never worth more than a log line
            logger.info("answerCallbackQuery failed: %s", exc)


def keyboard(message: OutgoingMessage) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    """Buttons as an inline keyboard, one per row; payloads too long for callback data are
    sent as their title, which the assistant understands as text.

    With a share-phone button, the buttons are a reply keyboard instead (the contact button
    exists only there, https://core.telegram.org/bots/api#keyboardbutton): the share button
    asks Telegram for the person's number (first row), each other button sends its title as
    text, and the keyboard hides once used."""
    if not message.buttons:
        return None
    shares = [share_phone_detail(b.payload) is not None for b in message.buttons]
    if any(shares):
        ordered = sorted(zip(shares, message.buttons, strict=True), key=lambda pair: not pair[0])
        return ReplyKeyboardMarkup(
            [[KeyboardButton(b.title, request_contact=share)] for share, b in ordered],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    rows = []
    for button in message.buttons:
        data = button.payload
        if not data or len(data.encode()) > MAX_CALLBACK_DATA:
            data = button.title[: MAX_CALLBACK_DATA // 4]
        rows.append([InlineKeyboardButton(button.title, callback_data=data)])
    return InlineKeyboardMarkup(rows)


def _seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
