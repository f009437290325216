"""Users, API tokens and authentication."""
from __future__ import annotations

import functools
import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import contains_eager
from werkzeug.security import check_password_hash, generate_password_hash

from app.engine import audit
from app.engine.core.actors import SYSTEM, Actor
from app.engine.core.errors import InvalidSubmission, NotFound
from app.engine.core.times import is_real_time_zone
from app.engine.identity import sessions
from app.engine.models import ApiToken, Department, User

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.engine.runtime import UnitOfWork


def _hash_method() -> str:
    # Tests may choose a cheaper method; production uses werkzeug's default (scrypt).
    return os.environ.get("COMPLAINTFLOW_PASSWORD_HASH", "scrypt")


def actor_for(user: User) -> Actor:
    return Actor(username=user.username, user_id=user.id, roles=frozenset(user.roles or ()),
                 department=user.department)


@dataclass(frozen=True)
class SignInRecord:
    """What checking a password needs, read in a short transaction so the slow hash runs outside it."""

    password_hash: str
    actor: Actor | None  # None: no such active user; the hash is then the dummy one


def sign_in_record(uow: UnitOfWork, username: str) -> SignInRecord:
    user = uow.session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        return SignInRecord(_dummy_hash(_hash_method()), None)
    return SignInRecord(user.password_hash, actor_for(user))


def check_password(record: SignInRecord, password: str) -> Actor | None:
    """The hash is verified whether or not the user exists, so an unknown name costs what a wrong password does
    (otherwise the answer time tells which usernames exist: 2 ms against 94 ms with scrypt)."""
    matches = verify_password(record.password_hash, password)
    return record.actor if matches and record.actor is not None else None


def authenticate_password(uow: UnitOfWork, username: str, password: str) -> Actor | None:
    return check_password(sign_in_record(uow, username), password)


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


@functools.cache
def _dummy_hash(method: str) -> str:
    # Same method and parameters as real hashes, of a password nobody knows.
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


# --- API tokens ---------------------------------------------------------------------------------------------

DEFAULT_TOKEN_DAYS = 90
LAST_USE_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most this often per token


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def authenticate_token(uow: UnitOfWork, token: str) -> Actor | None:
    """The token's user, unless the token is unknown, revoked or expired or the user deactivated."""
    # Token and user in one round trip: this runs before every API request.
    found = uow.session.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                                .where(ApiToken.token_hash == _token_hash(token),
                                       ApiToken.revoked_at.is_(None))).first()
    now = uow.now()
    if found is None:
        return None
    row, user = found
    if not user.active or (row.expires_at is not None and row.expires_at <= now):
        return None
    # A write on every request would serialize all of an integration's calls on this row; a minute is enough
    # to tell which tokens are in use.
    if row.last_used_at is None or now - row.last_used_at >= LAST_USE_RESOLUTION:
        row.last_used_at = now
    return actor_for(user)


def create_token(uow: UnitOfWork, username: str, name: str, *, days: int = DEFAULT_TOKEN_DAYS) -> str:
    """Create an API token for a user, valid for ``days``; the plain token is returned once and never stored."""
    return issue_token(uow, username, name, days=days)[1]


def issue_token(uow: UnitOfWork, username: str, name: str, *, days: int = DEFAULT_TOKEN_DAYS) -> tuple[ApiToken, str]:
    if days < 1:
        raise InvalidSubmission({"days": ["A token must be valid for at least one day"]})
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user named {username!r}")
    token = "cf_" + secrets.token_urlsafe(32)
    now = uow.now()
    row = ApiToken(user_id=user.id, name=name, token_hash=_token_hash(token), created_at=now,
                   expires_at=now + timedelta(days=days))
    uow.session.add(row)
    uow.session.flush()
    return row, token


def list_tokens(uow: UnitOfWork, username: str | None = None) -> list[ApiToken]:
    """Every token (revoked and expired included, oldest first), with its user loaded."""
    query = select(ApiToken).join(ApiToken.user).options(contains_eager(ApiToken.user)).order_by(ApiToken.id)
    if username is not None:
        query = query.where(User.username == username)
    return list(uow.session.scalars(query))


def revoke_token(uow: UnitOfWork, token_id: int) -> ApiToken:
    """Revoke a token for good; revoking it again keeps the first revocation time."""
    row = uow.session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"No API token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = uow.now()
        uow.session.flush()
    return row


def upsert_department(uow: UnitOfWork, code: str, name: str) -> None:
    department = uow.session.get(Department, code)
    if department is None:
        uow.session.add(Department(code=code, name=name))
    else:
        department.name = name


def upsert_user(uow: UnitOfWork, username: str, password: str, *, display_name: str, roles: list[str],
                department: str | None = None, email: str | None = None) -> User:
    """Create the user, or reset an existing one to exactly this: password, roles, and active again. A new
    password ends the user's sessions (whoever knew the old one is signed out)."""
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, created_at=uow.now(), password_hash="")
        uow.session.add(user)
    elif not verify_password(user.password_hash, password):
        uow.session.flush()
        sessions.end_others(uow, SYSTEM, user, keep=None, reason=sessions.PASSWORD_CHANGED)
    user.display_name, user.roles, user.department, user.email = display_name, list(roles), department, email
    user.password_hash = generate_password_hash(password, method=_hash_method())
    user.active = True
    uow.session.flush()
    return user


SUPPORTED_LOCALES = ("en", "zh_CN")


# session.info key: the active users, read once per transaction (active_users).
_ACTIVE_USERS = "complaintflow.active_users"


def active_users(session: Session) -> list[User]:
    """Every active user, by id, read once per transaction: a scheduler batch notifies the people of many cases
    and a step's service tasks look them up several times; who is active does not change inside a step."""
    users = session.info.get(_ACTIVE_USERS)
    if users is None:
        users = session.info[_ACTIVE_USERS] = list(
            session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)))
    return users


def active_user(uow: UnitOfWork, user_id: int) -> User | None:
    """The user behind a browser session, or None once deactivated (the session then ends)."""
    user = uow.session.get(User, user_id)
    return user if user is not None and user.active else None


def set_preferences(uow: UnitOfWork, actor: Actor, *, locale: str | None = None, timezone: str | None = None) -> User:
    """Save the actor's language and/or time zone; None leaves a setting as it is."""
    user = active_user(uow, actor.user_id) if actor.user_id else None
    if user is None:
        raise NotFound(f"No active user {actor.username!r}")
    if locale is not None:
        if locale not in SUPPORTED_LOCALES:
            raise InvalidSubmission({"locale": [f"Choose one of: {', '.join(SUPPORTED_LOCALES)}"]})
        user.locale = locale
    if timezone is not None:
        if not is_real_time_zone(timezone):  # an IANA place: not "Factory" or "localtime", which break pages
            raise InvalidSubmission({"timezone": ["Unknown time zone"]})
        user.timezone = timezone
    uow.session.flush()
    return user


def change_password(uow: UnitOfWork, actor: Actor, password: str, *, keep_session: int | None = None) -> int:
    """The actor's new password; every other session of theirs ends (``keep_session``: the browser that changed
    it stays signed in). Returns how many sessions ended."""
    user = active_user(uow, actor.user_id) if actor.user_id else None
    if user is None:
        raise NotFound(f"No active user {actor.username!r}")
    if not password:
        raise InvalidSubmission({"password": ["A password is required"]})
    user.password_hash = generate_password_hash(password, method=_hash_method())
    audit.record(uow, actor, "password_changed")
    return sessions.end_others(uow, actor, user, keep=keep_session, reason=sessions.PASSWORD_CHANGED)


def reset_password(uow: UnitOfWork, by: Actor, username: str, password: str) -> int:
    """An administrator's reset of someone's password (``complaintflow users set-password``): every session of
    theirs ends, since whoever knew the old one may be signed in with it. Returns how many sessions ended."""
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user named {username!r}")
    if not password:
        raise InvalidSubmission({"password": ["A password is required"]})
    user.password_hash = generate_password_hash(password, method=_hash_method())
    audit.record(uow, by, "password_reset", user=username)
    return sessions.end_others(uow, by, user, keep=None, reason=sessions.PASSWORD_CHANGED)


def deactivate_user(uow: UnitOfWork, by: Actor, username: str) -> User:
    """An administrator's deactivation: the user can no longer sign in, and every session of theirs ends."""
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user named {username!r}")
    if user.active:
        user.active = False
        audit.record(uow, by, "user_deactivated", user=username)
    sessions.end_others(uow, by, user, keep=None, reason=sessions.DEACTIVATED)
    uow.session.flush()
    return user
