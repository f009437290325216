from __future__ import annotations

from typing import TYPE_CHECKING

from app.engine.core.actors import Actor
from app.engine.models import AuditEvent

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork


def record(uow: UnitOfWork, actor: Actor, action: str, *, complaint_id=None, instance_id=None, occurred_at=None,
           **detail) -> AuditEvent:
    """``occurred_at``: the step's clock when a step records (one instant for everything it writes)."""
    event = AuditEvent(occurred_at=occurred_at or uow.now(), actor=actor.username, actor_id=actor.user_id, action=action,
                       complaint_id=complaint_id, instance_id=instance_id, detail=detail)
    uow.session.add(event)
    return event
