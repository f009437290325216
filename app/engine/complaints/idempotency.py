"""A retried submission never makes two complaints: the ``Idempotency-Key`` of a registration.

A channel integration (the bank's app, its website, a social-media connector) that lost the answer to its POST
sends it again with the same key. The first request holds the key (a row, unique per caller and key) in the same
transaction as the complaint it makes; a retry within the window (config/security.toml ``[api]``) gets that
complaint back instead of a new one. Two copies racing each other: on PostgreSQL the second one's insert waits for
the first transaction and then finds the key taken; on SQLite writers are serialised (BEGIN IMMEDIATE), so the
second one finds the row at once. Either way it answers with the first one's complaint. The same key on a
different body is refused: the client has a bug, and guessing which request it meant would lose one.

Follows the IETF draft "The Idempotency-Key HTTP Header Field": the key is the client's, scoped to the caller.
"""
from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.engine.core.errors import Conflict, InvalidSubmission
from app.engine.models import Complaint, IdempotencyKey

if TYPE_CHECKING:
    from app.engine.core.actors import Actor
    from app.engine.runtime import UnitOfWork

HEADER = "Idempotency-Key"
MAX_LENGTH = 255


def fingerprint(data: dict) -> str:
    """The request's digest: the same JSON body in any key order gives the same value."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_key(key: str) -> str:
    """A key is 1 to 255 visible ASCII characters (a UUID is usual); anything else is refused, naming the header."""
    if not key or len(key) > MAX_LENGTH or not all(0x21 <= ord(c) <= 0x7E for c in key):
        raise InvalidSubmission({HEADER: [f"Give 1 to {MAX_LENGTH} visible ASCII characters, such as a UUID"]})
    return key


def hold(uow: UnitOfWork, actor: Actor, key: str, data: dict) -> tuple[IdempotencyKey | None, Complaint | None]:
    """Take ``key`` for this registration, or find the complaint an earlier request with it made.

    Returns ``(held, None)`` when the caller goes on to register (then ``made(held, complaint)``), or
    ``(None, complaint)`` when the key already made ``complaint`` (the caller answers with it)."""
    digest = fingerprint(data)
    now = uow.now()
    window = uow.settings.api.idempotency_window
    existing = _find(uow, actor, key)
    if existing is not None and existing.created_at <= now - window:
        uow.session.delete(existing)  # past the window: the key may name a new submission
        uow.session.flush()
        existing = None
    if existing is None:
        row = IdempotencyKey(caller=actor.username, key=key, fingerprint=digest, created_at=now)
        try:
            with uow.session.begin_nested():
                uow.session.add(row)
                uow.session.flush()
            return row, None
        except IntegrityError:
            # A copy of this request committed first (PostgreSQL: our insert waited for it): answer with its work.
            existing = _find(uow, actor, key)
            if existing is None:
                raise Conflict("Another request with the same Idempotency-Key is being processed; "
                               "try again in a moment") from None
    if existing.fingerprint != digest:
        raise InvalidSubmission({HEADER: [("This key was already used for a different request: send a new key "
                                           "for a new complaint")]})
    complaint = uow.session.get(Complaint, existing.complaint_id) if existing.complaint_id else None
    if complaint is None:  # cannot happen: the key and its complaint are written in one transaction
        raise Conflict("The request with this Idempotency-Key did not complete; send it with a new key")
    return None, complaint


def made(uow: UnitOfWork, held: IdempotencyKey, complaint: Complaint) -> None:
    held.complaint_id = complaint.id


def purge(uow: UnitOfWork, complaint_id: int) -> int:
    """Forget the keys that made ``complaint_id`` (retention anonymises it: nothing of the request is kept)."""
    rows = list(uow.session.scalars(select(IdempotencyKey).where(IdempotencyKey.complaint_id == complaint_id)))
    for row in rows:
        uow.session.delete(row)
    return len(rows)


def _find(uow: UnitOfWork, actor: Actor, key: str) -> IdempotencyKey | None:
    return uow.session.scalar(select(IdempotencyKey).where(IdempotencyKey.caller == actor.username,
                                                           IdempotencyKey.key == key))
