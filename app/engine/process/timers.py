"""Due timers: which instances have one, and firing them on one instance. The loop over all due instances,
one transaction each, is the scheduler's (app/scheduler.py); these functions take the caller's unit of work."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from app.engine.core.actors import SCHEDULER
from app.engine.models import Timer
from app.engine.process import incidents, steps

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork


def due_instance_ids(uow: UnitOfWork, now: datetime, limit: int,
                     exclude: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """Instances with a timer due by ``now``, earliest first, leaving out those in incident backoff and
    ``exclude`` (those this run already gave up on: held by another process, or with nothing to fire)."""
    rows = uow.session.execute(
        select(Timer.instance_id).where(Timer.state == "waiting", Timer.due_at <= now,
                                        ~incidents.in_backoff(Timer.instance_id, now))
        .group_by(Timer.instance_id).order_by(func.min(Timer.due_at), Timer.instance_id)
        .limit(limit + len(exclude))).scalars()
    return [i for i in rows if i not in exclude][:limit]


def fire_due_timers_of(uow: UnitOfWork, instance_id: int, now: datetime | None = None,
                       preloaded: steps.Preloaded | None = None) -> steps.Outcome | None:
    """Fire the instance's timers due by ``now`` (one step). None when another process holds the instance.
    ``preloaded``: its first reads from ``steps.prefetch`` (the scheduler's batch, same transaction).

    A case whose step keeps failing is an incident (recorded by the caller after the rollback); the first
    step that gets through resolves it."""
    now = now or uow.now()
    outcome = steps.run_step(uow, SCHEDULER, instance_id, steps.FireTimers(), now=now, claim=True,
                             preloaded=preloaded)
    if outcome is not None and not outcome.fired:
        # Nothing was due after all (rows corrected, or fired by someone else): an incident is still over.
        outcome.incidents_resolved += incidents.resolve_open(uow, instance_id, now)
    return outcome


def next_due_at(uow: UnitOfWork, after: datetime | None = None) -> datetime | None:
    """The earliest due time of a waiting timer (one index lookup); with ``after``, the earliest later than it."""
    query = select(Timer.due_at).where(Timer.state == "waiting")
    if after is not None:
        query = query.where(Timer.due_at > after)
    return uow.session.scalar(query.order_by(Timer.due_at).limit(1))
