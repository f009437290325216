"""Moving running instances to a newer version of their process (process owners).

SpiffWorkflow decides what can move and moves it: its diff aligns the old version's task specs with the new
ones and its migrate re-points the live workflow and plans its ready and waiting branches again
(app/engine/workflow/migrate.py says what it does, what we refuse and what we put back). Here: who may, which
instances are candidates, the dry run and one step per instance.

The dry run (``preview``) plans every running instance of an older version on a copy of its stored state and
writes nothing: which can move, which cannot and why, which waiting deadlines a move re-arms, which boundary
timers the new version adds to the task a case is at (armed, due when) and which it removes (stopped). A migration
(``migrate_instance``) is one step of the instance (process/steps.py, ``MoveToVersion``): the workflow loaded
as for any step (cached or not, the same state), timers due by the step's clock fired first under the old
version, the workflow moved, re-armed deadlines saved, the engine run until it waits, one snapshot saved with
one ``instance_migrated`` audit event, the instance's lock version checked on flush. One unit of work per
instance (the adapter loops), so a conflict on one case never undoes another's move.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.engine.access import permissions
from app.engine.access.permissions import TableSource
from app.engine.core.actors import Actor
from app.engine.core.errors import Conflict, NotFound
from app.engine.models import Complaint, DeadlineExtension, ProcessDefinition, ProcessInstance, Timer, UserTask
from app.engine.process import steps
from app.engine.workflow import migrate
from app.engine.workflow.serialization import load_state

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.engine.runtime import UnitOfWork
    from app.engine.workflow.migrate import Refusal
    from app.engine.workflow.serialization import ProcessSpecs


@dataclass(frozen=True)
class Candidate:
    instance_id: int
    complaint_id: int | None
    from_version: int
    active: tuple[str, ...]              # element ids of the active tasks (what the case is waiting at)
    refusals: tuple[Refusal, ...] = ()   # why it cannot move; empty = movable
    rearm: tuple[str, ...] = ()          # element ids of the waiting deadlines the move re-arms
    # Boundary timers the new version adds to the task the case is at (element id, due time) and waiting ones it
    # removes from it (element ids): the move arms the former and stops the latter.
    arm: tuple[tuple[str, datetime | None], ...] = ()
    stop: tuple[str, ...] = ()

    @property
    def movable(self) -> bool:
        return not self.refusals

    @property
    def timer_changes(self) -> tuple[str, ...]:
        """What the move does to the case's timers besides re-arming, one line each."""
        return (*(f"will arm {element} due {due.isoformat() if due else 'never (its expression fails)'}"
                  for element, due in self.arm),
                *(f"will stop {element}" for element in self.stop))

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(str(r) for r in self.refusals)


def may_migrate(source: TableSource, actor: Actor) -> bool:
    return permissions.may(source, actor, "instance.migrate")


def _require(uow: UnitOfWork, actor: Actor) -> None:
    permissions.require(uow, actor, "instance.migrate", "Only process owners migrate running instances")


def target_definition(uow: UnitOfWork, process_id: str, version: int | None = None) -> ProcessDefinition:
    query = select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
    query = query.where(ProcessDefinition.version == version) if version else \
        query.order_by(ProcessDefinition.version.desc()).limit(1)
    definition = uow.session.scalars(query).first()
    if definition is None:
        raise NotFound(f"Process {process_id!r} has no version {version or ''}".strip())
    return definition


def preview(uow: UnitOfWork, actor: Actor, process_id: str, version: int | None = None) -> dict:
    """The dry run: the running instances of older versions of ``process_id``, which can move to ``version``
    (default: the newest) and which cannot, and why. Each state is read from its row (never the live-workflow
    cache, which a step takes) and planned on a copy: nothing is written. Ids and element ids only: process
    owners read no case file."""
    _require(uow, actor)
    target = target_definition(uow, process_id, version)
    new_specs = _specs(uow, target.id)
    rows = uow.session.execute(
        select(ProcessInstance.id, ProcessInstance.complaint_id, ProcessInstance.state, ProcessDefinition.id,
               ProcessDefinition.version)
        .join(ProcessDefinition, ProcessInstance.definition_id == ProcessDefinition.id)
        .where(ProcessDefinition.process_id == process_id, ProcessDefinition.version < target.version,
               ProcessInstance.status == "running")
        .order_by(ProcessInstance.id)).all()
    extended = _extended_timers(uow, [r[0] for r in rows])
    ready = _ready_times(uow, [r[0] for r in rows])
    now = uow.now()
    candidates = []
    for iid, cid, state, old_id, old_version in rows:
        workflow = load_state(state, *_specs(uow, old_id))
        plan = migrate.plan(workflow, new_specs, extended=extended.get(iid, frozenset()))
        rearm = tuple(dict.fromkeys(plan.rearm.values()))
        case = uow.session.get(Complaint, cid) if cid else None  # its calendar and forwarding deadline
        arming = migrate.arm(workflow, new_specs, plan, dry_run=True, ready_at=_since(ready.get(iid, {}), now),
                             engine_at=partial(steps.expression_engine, uow, complaint=case)) if plan.movable else ()
        candidates.append(Candidate(instance_id=iid, complaint_id=cid, from_version=old_version,
                                    active=plan.active, refusals=plan.refusals, rearm=rearm,
                                    arm=tuple((a.element_id, a.due_at) for a in arming),
                                    stop=tuple(dict.fromkeys(plan.stop.values()))))
    return {"process_id": process_id, "target_version": target.version, "target_id": target.id,
            "movable": [c for c in candidates if c.movable], "unmovable": [c for c in candidates if not c.movable]}


def migrate_instance(uow: UnitOfWork, actor: Actor, instance_id: int, target_id: int) -> steps.Outcome:
    """Move one instance to the version ``target_id`` as one step of the instance (its one audit event is
    written there); refuses (InvalidSubmission, with the reasons) if it cannot move."""
    _require(uow, actor)
    target = uow.session.get(ProcessDefinition, target_id)
    if target is None:
        raise NotFound(f"Definition version {target_id} does not exist")
    row = uow.session.get(ProcessInstance, instance_id)
    if row is None:
        raise NotFound(f"Process instance {instance_id} does not exist")
    old = uow.session.get(ProcessDefinition, row.definition_id)
    if old is None:
        raise NotFound(f"Definition version {row.definition_id} does not exist")
    if row.status != "running" or old.process_id != target.process_id or old.version >= target.version:
        raise Conflict(f"Instance {instance_id} is not a running instance of an older version of "
                       f"{target.process_id} (it is on v{old.version}, {row.status})")
    extended = _extended_timers(uow, [instance_id]).get(instance_id, frozenset())
    command = steps.MoveToVersion(definition_id=target.id, extended=extended)
    outcome = steps.run_step(uow, actor, instance_id, command, now=uow.now())
    assert outcome is not None  # only a claiming step (the scheduler's) can find the row taken
    return outcome


def _extended_timers(uow: UnitOfWork, instance_ids: list[int]) -> dict[int, frozenset[str]]:
    """The waiting timers (SpiffWorkflow ids) whose deadline an applied extension moved, by instance."""
    if not instance_ids:
        return {}
    found: dict[int, set[str]] = {}
    for iid, task_id in uow.session.execute(
            select(Timer.instance_id, Timer.spiff_task_id)
            .join(DeadlineExtension, DeadlineExtension.timer_id == Timer.id)
            .where(Timer.instance_id.in_(instance_ids), Timer.state == "waiting",
                   DeadlineExtension.state == "applied")):
        found.setdefault(iid, set()).add(task_id)
    return {iid: frozenset(ids) for iid, ids in found.items()}


def _ready_times(uow: UnitOfWork, instance_ids: list[int]) -> dict[int, dict[str, datetime]]:
    """When each ready task became ready (SpiffWorkflow id: its row's creation), by instance: the clock a timer
    the new version attaches to it counts from."""
    found: dict[int, dict[str, datetime]] = {}
    if instance_ids:
        for iid, task_id, created in uow.session.execute(
                select(UserTask.instance_id, UserTask.spiff_task_id, UserTask.created_at)
                .where(UserTask.instance_id.in_(instance_ids), UserTask.state == "ready")):
            found.setdefault(iid, {})[task_id] = created
    return found


def _since(ready: dict[str, datetime], now: datetime) -> Callable[[str], datetime]:
    return lambda task_id: ready.get(task_id, now)


def _specs(uow: UnitOfWork, definition_id: int) -> ProcessSpecs:
    def serialized() -> str:
        return uow.session.execute(select(ProcessDefinition.spec_json)
                                   .where(ProcessDefinition.id == definition_id)).scalar_one()
    return uow.runtime.specs.get(definition_id, serialized)
