"""Sign-in and sign-out of the pages, in the audit trail, each with its browser session (identity/sessions.py).
The API's per-request credentials (HTTP Basic, bearer tokens) are not recorded: every call would be an event,
and its effects are recorded by the service it calls.

A failed sign-in has no user: it is recorded for the anonymous actor with the name that was tried (never the
password), in a unit of work of its own, since the request that carries it fails."""
from __future__ import annotations

from typing import TYPE_CHECKING

from app.engine import audit
from app.engine.core.actors import ANONYMOUS, Actor
from app.engine.core.errors import NotFound
from app.engine.identity import sessions
from app.engine.models import User

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

# A name typed into the sign-in form can be anything, of any length: the trail keeps enough to recognise it.
MAX_TRIED_NAME = 100


def signed_in(uow: UnitOfWork, actor: Actor, *, address: str | None = None,
              user_agent: str | None = None) -> sessions.Started:
    """Record the sign-in and start its session: a new session id, whatever the browser had before."""
    if actor.user_id is None:
        raise NotFound(f"No user {actor.username!r}")
    audit.record(uow, actor, "signed_in", address=address)
    return sessions.start(uow, actor.user_id, user_agent=user_agent, address=address)


def sign_in_failed(uow: UnitOfWork, username: str, *, address: str | None = None) -> None:
    audit.record(uow, ANONYMOUS, "sign_in_failed", username=username[:MAX_TRIED_NAME], address=address)


def signed_out(uow: UnitOfWork, actor: Actor, *, session: int | None = None, address: str | None = None) -> None:
    """End the browser's session (a copy of its cookie is refused from now on) and record the sign-out."""
    if session is not None:
        sessions.end(uow, session, sessions.SIGNED_OUT)
    audit.record(uow, actor, "signed_out", address=address)


def signed_out_elsewhere(uow: UnitOfWork, actor: Actor, *, keep: int | None) -> int:
    """"Sign out other sessions": end every open session of the actor but this browser's (``keep``)."""
    user = uow.session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise NotFound(f"No user {actor.username!r}")
    return sessions.end_others(uow, actor, user, keep=keep)
