"""Channel credentials that change at run time (Zalo OA's access and refresh tokens)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from bot.storage.base import Base, UTCDateTime, utcnow
from connectors.zalo_oa.tokens import Tokens


class ChannelToken(Base):
    """The current tokens of one channel; the refresh token is single-use, so it is saved
    the moment a new one arrives."""

    __tablename__ = "channel_tokens"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DbTokenStore:
    """A ``TokenStore`` in the database, seeded once from the settings' initial tokens."""

    def __init__(
        self, *, sessions: sessionmaker[Session], channel: str, initial: Tokens | None
    ) -> None:
        self.sessions = sessions
        self.channel = channel
        self.initial = initial

    def load(self) -> Tokens | None:
        with self.sessions() as session:
            row = session.get(ChannelToken, self.channel)
            if row is None:
                if self.initial is not None:
                    self._write(session, self.initial)
                return self.initial
            return Tokens(row.access_token, row.refresh_token, row.expires_at.timestamp())

    def save(self, tokens: Tokens) -> None:
        with self.sessions() as session:
            self._write(session, tokens)

    def _write(self, session: Session, tokens: Tokens) -> None:
        row = session.get(ChannelToken, self.channel) or ChannelToken(channel=self.channel)
        row.access_token = tokens.access_token
        row.refresh_token = tokens.refresh_token
        row.expires_at = datetime.fromtimestamp(tokens.expires_at, UTC)
        session.add(row)
        session.commit()
