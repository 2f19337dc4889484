"""Send Zalo OA consultation messages (tin tư vấn) over httpx; map Zalo's error codes.

Docs: developers.zalo.me — "Gửi tin Tư vấn" (POST /v3.0/oa/message/cs, header access_token)
and the API error code list. Zalo answers HTTP 200 with {"error": N} even on failure.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx

from connectors.base import (
    Button,
    IncomingMessage,
    OutgoingMessage,
    SendResult,
    channel_id,
    share_phone_detail,
)
from connectors.http import failed_request
from connectors.zalo_oa.tokens import TokenRefreshFailed, ZaloTokens

MAX_TEXT_LENGTH = 2000  # consultation text limit (tin tư vấn dạng văn bản)
MAX_BUTTONS = 5  # buttons under one consultation message
CARD_TITLE_LENGTH, CARD_SUBTITLE_LENGTH = 100, 500  # request_user_info element limits
PER_SECOND = 60  # about 4,000 requests a minute per app (error -32 beyond)
CHAT_INTERVAL = 0.2
RETRYABLE = {-32, -100}  # rate limit, temporary server error
TOKEN_ERRORS = {-216, -220, -124}  # invalid or expired access token: refresh once and retry
UNREACHABLE = {-213, -217, -227, -230, -232, -244}  # not a follower, refuses, window closed…
QUOTA = {-210, -211, -218}  # over the limit or out of quota: try much later
QUOTA_RETRY_SECONDS = 3600
# Consultation messages need an interaction in the last 7 days; within 48 h they are free,
# after that billed (Zalo OA pricing, 2026).
REPLY_WINDOW = timedelta(days=7)
FREE_WINDOW = timedelta(hours=48)

logger = logging.getLogger(__name__)


class ZaloOAChannel:
    """Consultation messages to one person; ``base_url`` is the API root (a fake in tests)."""

    name = "zalo_oa"
    max_text_length = MAX_TEXT_LENGTH
    reply_window: timedelta | None = REPLY_WINDOW

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        tokens: ZaloTokens,
        base_url: str,
        share_phone_image_url: str = "",
    ) -> None:
        self.client = client
        self.tokens = tokens
        self.url = base_url.rstrip("/") + "/v3.0/oa/message/cs"
        # The picture Zalo requires on a request-for-user-information card (a public .png or
        # .jpg); "": no card is sent, and people type their number.
        self.share_phone_image_url = share_phone_image_url

    async def send(self, recipient: str, message: OutgoingMessage) -> SendResult:
        """The message; then, when it had a share-phone button, Zalo's card asking for the
        person's information (the card cannot carry the message's other buttons). The card is
        a convenience: its failure is logged, and the message's result is the answer."""
        shares = [b for b in message.buttons if share_phone_detail(b.payload) is not None]
        if shares:
            message = replace(message, buttons=tuple(b for b in message.buttons if b not in shares))
        result = await self._send(recipient, _message(message))
        if shares and result.ok and self.share_phone_image_url:
            card = _share_card(shares[0], self.share_phone_image_url)
            asked = await self._send(recipient, card)
            if not asked.ok:
                logger.warning("zalo oa share-phone card not sent: %s", asked.error)
        return result

    async def _send(self, recipient: str, content: dict[str, Any]) -> SendResult:
        body = {"recipient": {"user_id": recipient}, "message": content}
        try:
            token = await self.tokens.access_token()
            answer = await self._post(token, body)
            if answer.get("error") in TOKEN_ERRORS:
                token = (await self.tokens.refresh(stale=token)).access_token
                answer = await self._post(token, body)
        except TokenRefreshFailed as exc:
            return SendResult(ok=False, retryable=True, retry_after=300, error=str(exc))
        except httpx.HTTPError as exc:
            return failed_request(exc)
        except ValueError as exc:  # a 5xx page from a proxy, not Zalo's JSON
            return SendResult(ok=False, retryable=True, error=f"unreadable answer: {exc}")
        return _result(answer)

    async def _post(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(
            self.url, json=body, headers={"access_token": token}, timeout=15
        )
        if response.status_code >= 500:
            raise ValueError(f"HTTP {response.status_code}")
        answer: dict[str, Any] = response.json()
        return answer

    async def acknowledge(self, message: IncomingMessage) -> None:
        """Nothing to do once a message is stored."""


def window(last_inbound_at: datetime | None, now: datetime) -> str:
    """Where a person stands: "free" (within 48 h), "billed" (within 7 days) or "closed"."""
    if last_inbound_at is None or now - last_inbound_at > REPLY_WINDOW:
        return "closed"
    return "free" if now - last_inbound_at <= FREE_WINDOW else "billed"


def _message(message: OutgoingMessage) -> dict[str, Any]:
    """Text, with buttons that send their payload back hidden (oa.query.hide) or an image."""
    body: dict[str, Any] = {"text": message.text}
    if message.image_url:
        body["attachment"] = {
            "type": "template",
            "payload": {
                "template_type": "media",
                "elements": [{"media_type": "image", "url": message.image_url}],
            },
        }
    elif message.buttons:
        buttons = [
            {"title": b.title[:100], "type": "oa.query.hide", "payload": b.payload or b.title}
            for b in message.buttons[:MAX_BUTTONS]
        ]
        body["attachment"] = {"type": "template", "payload": {"buttons": buttons}}
        if extra := message.buttons[MAX_BUTTONS:]:  # the rest as choices the person can type
            body["text"] += "\n" + "\n".join(f"• {b.title}" for b in extra)
    return body


def _share_card(button: Button, image_url: str) -> dict[str, Any]:
    """Zalo's request for user information: a card whose button lets the person share their
    name and phone number with the OA (answered by the ``user_submit_info`` event)."""
    element = {
        "title": button.title[:CARD_TITLE_LENGTH],
        "subtitle": (share_phone_detail(button.payload) or button.title)[:CARD_SUBTITLE_LENGTH],
        "image_url": image_url,
    }
    return {
        "attachment": {
            "type": "template",
            "payload": {"template_type": "request_user_info", "elements": [element]},
        }
    }


def _result(answer: dict[str, Any]) -> SendResult:
    code = answer.get("error")
    error = f"{code}: {answer.get('message')}"
    if code == 0:
        data = answer.get("data")
        message_id = data.get("message_id") if isinstance(data, dict) else None
        return SendResult(ok=True, channel_message_id=channel_id(message_id))
    if code in RETRYABLE:
        return SendResult(ok=False, retryable=True, retry_after=5, error=error)
    if code in QUOTA:
        return SendResult(ok=False, retryable=True, retry_after=QUOTA_RETRY_SECONDS, error=error)
    if code in UNREACHABLE:
        return SendResult(ok=False, reachable=False, error=error)
    return SendResult(ok=False, error=error)
