"""Sign-in and sign-out of the pages, in the audit trail. The API's per-request credentials (HTTP Basic, bearer
tokens) are not recorded: every call would be an event, and its effects are recorded by the service it calls.

A failed sign-in has no user: it is recorded for the anonymous actor with the name that was tried (never the
password), in a unit of work of its own, since the request that carries it fails."""
from __future__ import annotations

from typing import TYPE_CHECKING

from app.engine import audit
from app.engine.core.actors import ANONYMOUS, Actor

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork

# A name typed into the sign-in form can be anything, of any length: the trail keeps enough to recognise it.
MAX_TRIED_NAME = 100


def signed_in(uow: UnitOfWork, actor: Actor, *, address: str | None = None) -> None:
    audit.record(uow, actor, "signed_in", address=address)


def sign_in_failed(uow: UnitOfWork, username: str, *, address: str | None = None) -> None:
    audit.record(uow, ANONYMOUS, "sign_in_failed", username=username[:MAX_TRIED_NAME], address=address)


def signed_out(uow: UnitOfWork, actor: Actor, *, address: str | None = None) -> None:
    audit.record(uow, actor, "signed_out", address=address)
