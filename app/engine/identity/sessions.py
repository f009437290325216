"""Browser sessions kept server-side: one row per sign-in, ended by sign-out, by the user's "sign out other
sessions", by a password change or deactivation, and found expired when idle too long or past its lifetime.

The browser's cookie carries only a random id (``secrets.token_urlsafe(32)``); the row keeps its sha256. Every
request of a signed-in page is checked here (``check``), so a copied cookie stops working the moment its
session ends. The durations are config/security.toml's (``Settings.sessions``). API tokens and HTTP Basic
callers have no session and are not affected.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, select, update

from app.engine import audit
from app.engine.core.actors import Actor
from app.engine.models import User, UserSession

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

# last_seen_at is written at most this often per session: a write per request would serialize a user's
# requests on the row (and on SQLite every request is a write transaction anyway); the idle timeout is in minutes.
TOUCH_RESOLUTION = timedelta(minutes=1)

# Why a session ended (user_sessions.ended_reason).
SIGNED_OUT = "signed_out"
SIGNED_OUT_ELSEWHERE = "signed_out_elsewhere"   # the user's "sign out other sessions"
PASSWORD_CHANGED = "password_changed"
DEACTIVATED = "deactivated"
IDLE = "idle"
LIFETIME = "lifetime"

MAX_USER_AGENT = 300
MAX_ADDRESS = 64


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Started:
    row_id: int
    session_id: str  # the cookie's secret: returned once, stored only as its hash


@dataclass(frozen=True)
class Checked:
    """The outcome of checking a request's session: its user and row, or why it is refused (``reason``: one of
    the ended reasons above, or ``unknown``: no such session)."""

    user: User | None
    row_id: int | None
    reason: str | None = None


def start(uow: UnitOfWork, user_id: int, *, user_agent: str | None = None, address: str | None = None) -> Started:
    """A new session for a user who has just proved who they are: always a new id (no session fixation)."""
    session_id = secrets.token_urlsafe(32)
    now = uow.now()
    row = UserSession(token_hash=_hash(session_id), user_id=user_id, created_at=now, last_seen_at=now,
                      expires_at=now + uow.settings.sessions.absolute_lifetime,
                      user_agent=(user_agent or None) and user_agent[:MAX_USER_AGENT],
                      address=(address or None) and address[:MAX_ADDRESS])
    uow.session.add(row)
    uow.session.flush()
    return Started(row.id, session_id)


def check(uow: UnitOfWork, session_id: str) -> Checked:
    """The session's active user, if the session is open: not ended, used within the idle timeout, younger than
    its lifetime. A session found idle or too old (or whose user was deactivated) is ended here, for good."""
    found = uow.session.execute(select(UserSession, User).join(User, User.id == UserSession.user_id)
                                .where(UserSession.token_hash == _hash(session_id))).first()
    if found is None:
        return Checked(None, None, "unknown")
    row, user = found
    if row.ended_at is not None:
        return Checked(None, row.id, row.ended_reason or SIGNED_OUT)
    now = uow.now()
    reason = (DEACTIVATED if not user.active else LIFETIME if now >= row.expires_at
              else IDLE if now - row.last_seen_at >= uow.settings.sessions.idle_timeout else None)
    if reason is not None:
        row.ended_at, row.ended_reason = now, reason
        audit.record(uow, Actor(username=user.username, user_id=user.id), "sessions_ended", reason=reason, count=1,
                     user=user.username)
        return Checked(None, row.id, reason)
    if now - row.last_seen_at >= TOUCH_RESOLUTION:
        row.last_seen_at = now
    return Checked(user, row.id)


def end(uow: UnitOfWork, row_id: int, reason: str = SIGNED_OUT) -> bool:
    """End one session (sign-out); False if it had already ended."""
    return _end(uow, reason, UserSession.id == row_id) > 0


def end_others(uow: UnitOfWork, by: Actor, user: User, *, keep: int | None, reason: str = SIGNED_OUT_ELSEWHERE) -> int:
    """End every open session of ``user`` but ``keep`` (None: all of them), recorded as ``by``'s doing; returns
    how many ended."""
    condition = UserSession.user_id == user.id
    if keep is not None:
        condition = condition & (UserSession.id != keep)
    count = _end(uow, reason, condition)
    if count:
        audit.record(uow, by, "sessions_ended", reason=reason, count=count, user=user.username)
    return count


def _end(uow: UnitOfWork, reason: str, condition: ColumnElement[bool]) -> int:
    result = uow.session.execute(update(UserSession).where(condition, UserSession.ended_at.is_(None))
                                 .values(ended_at=uow.now(), ended_reason=reason)
                                 .execution_options(synchronize_session="fetch"))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def open_sessions(uow: UnitOfWork, user_id: int) -> list[UserSession]:
    """The user's sessions that would still be accepted, the most recently used first."""
    now = uow.now()
    policy = uow.settings.sessions
    return list(uow.session.scalars(
        select(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None),
                                  UserSession.expires_at > now,
                                  UserSession.last_seen_at > now - policy.idle_timeout)
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())))
