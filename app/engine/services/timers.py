"""Firing due timers: the scheduler's entry point, safe to run from several processes at once."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from app.engine.actors import SCHEDULER
from app.engine.errors import Conflict, DomainError
from app.engine.models import Timer
from app.engine.services import instances


@dataclass
class FiringReport:
    fired: int = 0
    instances: list[int] = field(default_factory=list)
    failures: dict[int, str] = field(default_factory=dict)


def due_instance_ids(uow, now: datetime, limit: int) -> list[int]:
    rows = uow.session.execute(select(Timer.instance_id, Timer.due_at).where(
        Timer.state == "waiting", Timer.due_at <= now).order_by(Timer.due_at).limit(limit * 4)).all()
    ids: list[int] = []
    for instance_id, _ in rows:
        if instance_id not in ids:
            ids.append(instance_id)
    return ids[:limit]


def fire_due_timers(runtime, now: datetime | None = None, *, limit: int = 100) -> FiringReport:
    """Fire every timer due by ``now``, one instance per transaction, so one broken case cannot block the rest.

    On PostgreSQL the instance row is claimed with FOR UPDATE SKIP LOCKED, so several schedulers share the
    work; a step that races a user's completion loses on the lock version and is retried on the next run.
    """
    now = now or runtime.clock.now()
    report = FiringReport()
    with runtime.unit_of_work() as uow:
        candidates = due_instance_ids(uow, now, limit)
    for instance_id in candidates:
        try:
            with runtime.unit_of_work() as uow:
                loaded = instances.load_instance(uow, instance_id, SCHEDULER, lock=True, skip_locked=True)
                if loaded is None:
                    continue
                fired = instances.fire_due_timers_of(uow, loaded, now)
                if fired:
                    instances.save_instance(uow, loaded)
                    report.fired += len(fired)
                    report.instances.append(instance_id)
        except Conflict:
            continue  # someone else stepped this instance meanwhile; the next run picks up what is left
        except DomainError as err:
            report.failures[instance_id] = err.message
    return report


def next_due_at(runtime) -> datetime | None:
    with runtime.unit_of_work() as uow:
        return uow.session.scalar(select(Timer.due_at).where(Timer.state == "waiting")
                                  .order_by(Timer.due_at).limit(1))
