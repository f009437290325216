"""Who is calling /api/v1: HTTP Basic (users and passwords) or ``Authorization: Bearer <token>``.

The credentials are checked in their own short unit of work; the view gets the resulting Actor as ``g.actor``.
Failed attempts are rate limited per account and per address (app/web/throttle.py).
"""
from __future__ import annotations

from flask import g, request
from werkzeug.datastructures import Authorization
from werkzeug.exceptions import Unauthorized

from app.engine.core.actors import Actor
from app.engine.identity import users
from app.web import current_runtime
from app.web.throttle import signin_throttle


class Unauthenticated(Unauthorized):
    """401 with the Basic challenge, realm quoted as RFC 7617 writes it (werkzeug would leave it bare)."""

    description = ("Authenticate with HTTP Basic (username and password) or 'Authorization: Bearer <token>'; "
                   "the credentials given, if any, were not accepted.")

    def get_headers(self, environ=None, scope=None):
        return [*super().get_headers(environ, scope), ("WWW-Authenticate", 'Basic realm="complaintflow"')]


def require_actor() -> None:
    """``before_request`` hook of the API blueprint: every endpoint needs an authenticated caller."""
    actor = _authenticate(request.authorization)
    if actor is None:
        raise Unauthenticated()
    g.actor = actor


def _authenticate(credentials: Authorization | None) -> Actor | None:
    check = _CHECKS.get(credentials.type) if credentials else None
    if credentials is None or check is None:
        return None  # no credentials at all is not a guess: nothing to count
    # A bearer token names no account (and 256 random bits are not guessed): it counts for the address only.
    account = (credentials.username or "") if credentials.type == "basic" else None
    throttle = signin_throttle()
    throttle.check(account)
    actor = check(credentials)
    if actor is None:
        throttle.failed(account)
    return actor


def _check_password(credentials: Authorization) -> Actor | None:
    with current_runtime().unit_of_work() as uow:
        record = users.sign_in_record(uow, credentials.username or "")
    # The slow hash runs after the transaction: on SQLite it would hold the database's write lock meanwhile.
    return users.check_password(record, credentials.password or "")


def _check_token(credentials: Authorization) -> Actor | None:
    with current_runtime().unit_of_work() as uow:
        return users.authenticate_token(uow, credentials.token or "")


_CHECKS = {"basic": _check_password, "bearer": _check_token}
