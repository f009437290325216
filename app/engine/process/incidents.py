"""Incidents: a step that failed on one case, recorded instead of stopping everything else.

The scheduler records one after the failed step's rollback, in a transaction of its own; the case is retried
with exponential backoff (``next_retry_at``) and the incident is resolved by the first step that fires the
case's timers again. One open incident per case: a case that keeps failing updates it (attempts, last error),
it never piles up rows.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import and_, exists, select

from app.engine.access import permissions
from app.engine.core.actors import Actor
from app.engine.core.errors import ServiceTaskFailed
from app.engine.models import Incident, ProcessInstance

if TYPE_CHECKING:
    from sqlalchemy import Exists, SQLColumnExpression

    from app.engine.runtime import UnitOfWork

BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)
MESSAGE_LIMIT = 2000
E = TypeVar("E", bound=BaseException)


def backoff(attempts: int) -> timedelta:
    """1 min, 2, 4, 8 ... capped at 6 h: a broken case costs a few attempts an hour, not one per run."""
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def in_backoff(instance_id_column: SQLColumnExpression[int], now: datetime) -> Exists:
    """SQL condition: the instance has an open incident whose next retry is not yet due."""
    return exists().where(and_(Incident.instance_id == instance_id_column, Incident.state == "open",
                               Incident.next_retry_at > now))


def record_failure(uow: UnitOfWork, instance_id: int, error: BaseException, now: datetime, *,
                   kind: str | None = None) -> tuple[Incident, bool]:
    """Record (or update) the open incident of this case. Returns (incident, opened: bool)."""
    element_id, error_type, message = describe(error)
    kind = kind or ("service_task" if _find(error, ServiceTaskFailed) else "timer")
    incident = uow.session.scalars(select(Incident).where(
        Incident.instance_id == instance_id, Incident.state == "open").order_by(Incident.id).limit(1)).first()
    opened = incident is None
    if incident is None:
        complaint_id = uow.session.scalar(select(ProcessInstance.complaint_id)
                                          .where(ProcessInstance.id == instance_id))
        incident = Incident(instance_id=instance_id, complaint_id=complaint_id, state="open", attempts=0,
                            first_failed_at=now)
        uow.session.add(incident)
    incident.kind = kind
    incident.element_id = element_id
    incident.error_type = error_type
    incident.message = message
    incident.attempts += 1
    incident.last_failed_at = now
    incident.next_retry_at = now + backoff(incident.attempts)
    uow.session.flush()
    return incident, opened


def resolve_open(uow: UnitOfWork, instance_id: int, now: datetime) -> int:
    """Resolve the case's open incidents (its failing step succeeded); returns how many."""
    open_ones = uow.session.scalars(select(Incident).where(Incident.instance_id == instance_id,
                                                           Incident.state == "open")).all()
    for incident in open_ones:
        incident.state = "resolved"
        incident.resolved_at = now
        incident.next_retry_at = None
    return len(open_ones)


def list_open(uow: UnitOfWork, actor: Actor) -> list[Incident]:
    permissions.require(uow, actor, "incident.read",
                        "Only coordinators, the head of complaints and compliance see incidents")
    return list(uow.session.scalars(select(Incident).where(Incident.state == "open")
                                    .order_by(Incident.last_failed_at.desc(), Incident.id.desc())))


def describe(error: BaseException) -> tuple[str | None, str, str]:
    """(element id, error type, message) of a failed step, looking through wrapped causes for the element."""
    element_id = None
    for err in _chain(error):
        element_id = getattr(err, "element_id", None) or getattr(getattr(err, "task_spec", None), "bpmn_id", None)
        if element_id:
            break
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT - 1] + "…"
    return element_id, type(error).__name__[:100], message


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _find(error: BaseException, kind: type[E]) -> E | None:
    return next((e for e in _chain(error) if isinstance(e, kind)), None)
