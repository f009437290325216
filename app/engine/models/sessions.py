"""Browser sessions kept server-side, and the shared counters of failed sign-in attempts."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.engine.models.base import Base


class UserSession(Base):
    """One sign-in of one browser. The cookie carries only a random id; the row keeps its sha256, so a copy of
    the table gives no cookie. A session ends (``ended_at``) at sign-out, when the user signs out their other
    sessions, changes their password or is deactivated, and when it is found idle or past its lifetime."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id_ended_at", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]         # written at most once a minute (sessions.TOUCH_RESOLUTION)
    expires_at: Mapped[datetime]           # the absolute lifetime, fixed at sign-in
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(String(40))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(String(64))


class RateLimitCounter(Base):
    """Hits of one rate-limit key, shared by every worker and node (the ``database://`` storage of the sign-in
    throttle, app/web/throttle.py). Times are microseconds since the epoch (the limiter counts in epoch
    seconds). A moving window keeps one row per instant with hits; a fixed window one row per window."""

    __tablename__ = "rate_limit_counters"
    __table_args__ = (Index("ix_rate_limit_counters_expires_at", "expires_at"),)

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(BigInteger)
