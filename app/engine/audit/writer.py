"""The one audit writer: every row of ``audit_events`` is built here (tests/engine/test_audit_writer.py fails if
another module constructs an ``AuditEvent``), so the hash chain of a later issue has one place to hook into.

An event says who acted (``actor``: the name, ``actor_id``: the user), when (``at``: the step's clock, the one
instant a step uses for everything it writes), on which complaint and process instance, what it changed
(``before`` / ``after``: the values as they were and as they became) and the rest of what happened (``detail``).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from app.engine.audit import personal
from app.engine.core.actors import ANONYMOUS, Actor
from app.engine.models import AuditEvent

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork


def record(unit: UnitOfWork | Session, actor: Actor, action: str, *, at: datetime | None = None,
           complaint_id: int | None = None, instance_id: int | None = None, before: Mapping[str, object] | None = None,
           after: Mapping[str, object] | None = None, **detail: object) -> AuditEvent:
    """Add one event to the unit of work's session (it commits or rolls back with the change it records).

    ``unit``: the unit of work, or the step's session (a service task's); ``at`` is then required, since a
    session has no clock. Without ``at`` the unit of work's clock gives the time: only for commands that are not
    steps (sign-in, claim, deployment, export). Personal values (audit/personal.py) are kept apart from the row."""
    if isinstance(unit, Session):
        if at is None:
            raise TypeError("record(session, ...) needs the step's instant: at=")
        session, names = unit, personal.names_of(unit)
    else:
        session, at = unit.session, at or unit.now()
        names = personal.use(session, unit.settings)
    _check_actor(actor, action)
    event = AuditEvent(occurred_at=at, actor=actor.username, actor_id=actor.user_id, action=action,
                       complaint_id=complaint_id, instance_id=instance_id, detail=dict(detail),
                       before=dict(before) if before is not None else None,
                       after=dict(after) if after is not None else None)
    session.add(event)
    # Personal values leave the row before it is ever flushed, so the chain only ever sees their commitments.
    personal.seal(session, event, names)
    return event


def _check_actor(actor: Actor, action: str) -> None:
    # A person always acts as their user: an event without actor_id is the system's (or a failed sign-in's),
    # never someone whose id was lost on the way (the old service-task and warning writers lost it).
    if actor.user_id is None and "system" not in actor.roles and actor != ANONYMOUS:
        raise ValueError(f"audit event {action!r}: actor {actor.username!r} has no user id and is not a system "
                         "actor")
