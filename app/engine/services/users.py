"""Users, API tokens and authentication."""
from __future__ import annotations

import hashlib
import os
import secrets

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.engine.actors import Actor
from app.engine.errors import NotFound
from app.engine.models import ApiToken, Department, User


def _hash_method() -> str:
    # Tests may choose a cheaper method; production uses werkzeug's default (scrypt).
    return os.environ.get("COMPLAINTFLOW_PASSWORD_HASH", "scrypt")


def actor_for(user: User) -> Actor:
    return Actor(username=user.username, user_id=user.id, roles=frozenset(user.roles or ()),
                 department=user.department)


def authenticate_password(uow, username: str, password: str) -> Actor | None:
    user = uow.session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None or not check_password_hash(user.password_hash, password):
        return None
    return actor_for(user)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def authenticate_token(uow, token: str) -> Actor | None:
    row = uow.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token),
                                                    ApiToken.revoked_at.is_(None)))
    if row is None or not row.user.active:
        return None
    return actor_for(row.user)


def create_token(uow, username: str, name: str) -> str:
    """Create an API token for a user; the plain token is returned once and never stored."""
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user named {username!r}")
    token = "cf_" + secrets.token_urlsafe(32)
    uow.session.add(ApiToken(user_id=user.id, name=name, token_hash=_token_hash(token), created_at=uow.now()))
    return token


def upsert_department(uow, code: str, name: str) -> None:
    department = uow.session.get(Department, code)
    if department is None:
        uow.session.add(Department(code=code, name=name))
    else:
        department.name = name


def upsert_user(uow, username: str, password: str, *, display_name: str, roles: list[str],
                department: str | None = None, email: str | None = None) -> User:
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, created_at=uow.now(), password_hash="")
        uow.session.add(user)
    user.display_name, user.roles, user.department, user.email = display_name, list(roles), department, email
    user.password_hash = generate_password_hash(password, method=_hash_method())
    user.active = True
    uow.session.flush()
    return user
