"""Who is calling /api/v1: HTTP Basic (users and passwords) or ``Authorization: Bearer <token>``.

The credentials are checked in their own short unit of work; the view gets the resulting Actor as ``g.actor``.
"""
from __future__ import annotations

from flask import g, request
from werkzeug.datastructures import Authorization
from werkzeug.exceptions import Unauthorized

from app.engine.actors import Actor
from app.engine.services import users
from app.web import current_runtime


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
    if check is None:
        return None
    with current_runtime().unit_of_work() as uow:
        return check(uow, credentials)


_CHECKS = {
    "basic": lambda uow, c: users.authenticate_password(uow, c.username or "", c.password or ""),
    "bearer": lambda uow, c: users.authenticate_token(uow, c.token or ""),
}
