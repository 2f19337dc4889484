"""Channel credentials that change at run time (Zalo OA's access and refresh tokens)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, update
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
    # Set while one process spends the refresh token (``claim_refresh``); others wait for the
    # new pair. Past this time the claim lapsed (its process died mid-refresh).
    refresh_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
    row.refresh_claimed_until = None  # a new pair ends the refresh that made it
    session.add(row)
    session.commit()


def claim_refresh(
    *, session: Session, channel: str, refresh_token: str, now: datetime, until: datetime
) -> bool:
    """Take the right to spend ``refresh_token`` until ``until`` and commit; False when it is
    no longer the stored one (a peer refreshed) or a peer's claim has not lapsed. One
    conditional UPDATE, so of two processes at once exactly one wins."""
    claimed = session.execute(
        update(ChannelToken)
        .where(
            ChannelToken.channel == channel,
            ChannelToken.refresh_token == refresh_token,
            ChannelToken.refresh_claimed_until.is_(None)
            | (ChannelToken.refresh_claimed_until < now),
        )
        .values(refresh_claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def release_refresh(*, session: Session, channel: str, refresh_token: str) -> None:
    """Give up a claim whose refresh failed, so the next try need not wait for it to lapse."""
    session.execute(
        update(ChannelToken)
        .where(ChannelToken.channel == channel, ChannelToken.refresh_token == refresh_token)
        .values(refresh_claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
