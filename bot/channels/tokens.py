"""The Zalo OA token store the connector asks for, kept in the database (``channel_tokens``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.storage import channel_tokens
from connectors.zalo_oa.tokens import Tokens


class DbTokenStore:
    """A ``TokenStore`` in the database, seeded once from the settings' initial tokens; its
    refresh claim is a conditional UPDATE of the row, so processes sharing the database
    spend the single-use refresh token once."""

    def __init__(
        self, *, sessions: sessionmaker[Session], channel: str, initial: Tokens | None
    ) -> None:
        self.sessions = sessions
        self.channel = channel
        self.initial = initial

    def load(self) -> Tokens | None:
        with self.sessions() as session:
            row = channel_tokens.get(session=session, channel=self.channel)
            if row is None:
                if self.initial is not None:
                    self._write(session, self.initial)
                return self.initial
            return Tokens(row.access_token, row.refresh_token, row.expires_at.timestamp())

    def save(self, tokens: Tokens) -> None:
        with self.sessions() as session:
            self._write(session, tokens)

    def claim_refresh(self, refresh_token: str, seconds: float) -> bool:
        with self.sessions() as session:
            now = datetime.now(UTC)
            return channel_tokens.claim_refresh(
                session=session,
                channel=self.channel,
                refresh_token=refresh_token,
                now=now,
                until=now + timedelta(seconds=seconds),
            )

    def release_refresh(self, refresh_token: str) -> None:
        with self.sessions() as session:
            channel_tokens.release_refresh(
                session=session, channel=self.channel, refresh_token=refresh_token
            )

    def _write(self, session: Session, tokens: Tokens) -> None:
        channel_tokens.put(
            session=session,
            channel=self.channel,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_at=datetime.fromtimestamp(tokens.expires_at, UTC),
        )
