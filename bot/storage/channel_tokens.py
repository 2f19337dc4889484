"""Channel credentials that change at run time (Zalo OA's access and refresh tokens)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.clock import utcnow
from bot.storage.base import Base, UTCDateTime


class ChannelToken(Base):
    """The current tokens of one channel; the refresh token is single-use, so it is saved
    the moment a new one arrives."""

    __tablename__ = "channel_tokens"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def get(*, session: Session, channel: str) -> ChannelToken | None:
    """The stored tokens of ``channel``, if any."""
    return session.get(ChannelToken, channel)


def put(
    *, session: Session, channel: str, access_token: str, refresh_token: str, expires_at: datetime
) -> None:
    """Store (replace) the tokens of ``channel`` and commit: durable when this returns."""
    row = session.get(ChannelToken, channel) or ChannelToken(channel=channel)
    row.access_token = access_token
    row.refresh_token = refresh_token
    row.expires_at = expires_at
    session.add(row)
    session.commit()
