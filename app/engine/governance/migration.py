"""Moving running instances to a newer version of their process (process owners).

SpiffWorkflow's state refers to task specs by *name* (the BPMN id; ``'<id> [child]'`` for multi-instance
children; an embedded subprocess's tasks by its own spec's names). SpiffWorkflow 3.2.0 has a migration helper
(``SpiffWorkflow.bpmn.util.diff``: ``diff_workflow`` and ``migrate_workflow``), which rebuilds the changed
tasks of a live workflow. We keep a stricter rule that a reviewer can state in one sentence: an instance can
move when every task its state refers to exists in the new version's specs, and every active task (ready,
waiting, started) keeps a spec of the same kind: then the saved state loads against the new spec unchanged.
Anything else is reported with the reason and left where it is.

A migration is one step of the instance (process/steps.py, ``MoveToVersion``): the row re-pointed at the new
version, the state loaded with the new spec, timers due by the step's clock fired first, the engine run until
it waits, one snapshot saved, the instance's lock version checked on flush. One unit of work per instance (the
adapter loops), so a conflict on one case never undoes another's move.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.engine import audit
from app.engine.access import permissions
from app.engine.access.permissions import TableSource
from app.engine.core.actors import Actor
from app.engine.core.errors import Conflict, InvalidSubmission, NotFound
from app.engine.models import ProcessDefinition, ProcessInstance
from app.engine.process import steps

if TYPE_CHECKING:
    from app.engine.runtime import UnitOfWork
    from app.engine.workflow.serialization import ProcessSpecs

# SpiffWorkflow 3.2.0 task states (TaskState): the ones that still have something to do.
_ACTIVE_STATES = {8: "waiting", 16: "ready", 32: "started"}
_FINISHED_STATES = {64: "completed", 256: "cancelled", 128: "error"}
_PREDICTED_STATES = {1, 2, 4}   # MAYBE, LIKELY, FUTURE: planned, not yet reached


@dataclass(frozen=True)
class Candidate:
    instance_id: int
    complaint_id: int | None
    from_version: int
    active: tuple[str, ...]          # element ids of the active tasks (what the case is waiting at)
    reasons: tuple[str, ...] = ()    # why it cannot move; empty = movable

    @property
    def movable(self) -> bool:
        return not self.reasons


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
    """The running instances of older versions of ``process_id``: which can move to ``version`` (default: the
    newest) and which cannot, and why. Ids and element ids only: process owners read no case file."""
    _require(uow, actor)
    target = target_definition(uow, process_id, version)
    new_specs = _specs(uow, target.id)
    rows = uow.session.execute(
        select(ProcessInstance.id, ProcessInstance.complaint_id, ProcessInstance.state, ProcessDefinition.id,
               ProcessDefinition.version)
        .join(ProcessDefinition, ProcessInstance.definition_id == ProcessDefinition.id)
        .where(ProcessDefinition.process_id == process_id, ProcessDefinition.version < target.version,
               ProcessInstance.status == "running")
        .order_by(ProcessInstance.id))
    candidates = [check(state, _specs(uow, old_id), new_specs, instance_id=iid, complaint_id=cid,
                        from_version=old_version)
                  for iid, cid, state, old_id, old_version in rows]
    return {"process_id": process_id, "target_version": target.version, "target_id": target.id,
            "movable": [c for c in candidates if c.movable], "unmovable": [c for c in candidates if not c.movable]}


def check(state: str, old_specs: ProcessSpecs, new_specs: ProcessSpecs, *, instance_id: int = 0,
          complaint_id: int | None = None,
          from_version: int = 0) -> Candidate:
    """Can this saved state load against ``new_specs`` with every active task keeping its kind?"""
    dct = json.loads(state)
    old_spec, old_subs = old_specs
    new_spec, new_subs = new_specs
    reasons: list[str] = []
    active: list[str] = []

    def walk(tasks: dict, old_task_specs: dict, new_task_specs: dict | None, where: str) -> None:
        for task in tasks.values():
            name, state_value = task["task_spec"], task["state"]
            is_active = state_value in _ACTIVE_STATES
            element = name.removesuffix(" [child]")
            old = old_task_specs.get(name)
            if is_active and _is_element(old):
                active.append(element)
            new = None if new_task_specs is None else new_task_specs.get(name)
            if new is None and state_value in _PREDICTED_STATES and new_task_specs is not None:
                continue  # a planned step the new version drops: pruned on migration, re-planned by the engine
            if new is None:
                if is_active:
                    reasons.append(f"it is {_ACTIVE_STATES[state_value]} at {element}{where}, which the new "
                                   "version removed")
                elif _is_element(old):
                    done = _FINISHED_STATES.get(state_value, "planned")
                    reasons.append(f"its history has {element}{where} ({done}), which the new version removed")
                else:
                    reasons.append(f"its state refers to {name}{where}, which the new version does not have")
            elif is_active and old is not None and type(old) is not type(new):
                reasons.append(f"{element}{where} is a {_kind(old)} in its version but a {_kind(new)} in the new "
                               "one")

    walk(dct["tasks"], old_spec.task_specs, new_spec.task_specs, "")
    for sub in dct.get("subprocesses", {}).values():
        spec_name = sub.get("spec")
        old_sub, new_sub = old_subs.get(spec_name), new_subs.get(spec_name)
        if new_sub is None:
            reasons.append(f"it runs the subprocess {spec_name}, which the new version does not have")
        walk(sub["tasks"], old_sub.task_specs if old_sub else {}, new_sub.task_specs if new_sub else None,
             f" (in {spec_name})")
    return Candidate(instance_id=instance_id, complaint_id=complaint_id, from_version=from_version,
                     active=tuple(dict.fromkeys(active)), reasons=tuple(dict.fromkeys(reasons)))


def migrate_instance(uow: UnitOfWork, actor: Actor, instance_id: int, target_id: int) -> steps.Outcome:
    """Move one instance to the version ``target_id`` as one step; refuses (InvalidSubmission) if it cannot."""
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
    candidate = check(row.state, _specs(uow, old.id), _specs(uow, target.id), instance_id=row.id)
    if not candidate.movable:
        raise InvalidSubmission({"": list(candidate.reasons)}, f"Instance {instance_id} cannot move: "
                                + "; ".join(candidate.reasons))
    now = uow.now()
    audit.record(uow, actor, "instance_migrated", at=now, complaint_id=row.complaint_id, instance_id=row.id,
                 before={"definition_id": old.id, "version": old.version},
                 after={"definition_id": target.id, "version": target.version},
                 process_id=target.process_id, from_version=old.version, to_version=target.version,
                 active=list(candidate.active))
    # One step of the instance, on the one path: timers due by the step's clock fire first, as for any step.
    command = steps.MoveToVersion(definition_id=target.id, state=prune_planned(row.state, _specs(uow, target.id)))
    outcome = steps.run_step(uow, actor, instance_id, command, now=now)
    assert outcome is not None  # only a claiming step (the scheduler's) can find the row taken
    return outcome


def prune_planned(state: str, new_specs: ProcessSpecs) -> str:
    """Drop the planned (predicted) tasks whose spec the new version no longer has, with their planned
    descendants: they were SpiffWorkflow's forecast of the old diagram, and the engine plans the new one's
    children again when their parent runs."""
    dct = json.loads(state)
    new_spec, new_subs = new_specs

    def prune(tasks: dict, task_specs: dict) -> None:
        doomed = [tid for tid, t in tasks.items() if t["state"] in _PREDICTED_STATES
                  and t["task_spec"] not in task_specs]
        while doomed:
            tid = doomed.pop()
            task = tasks.pop(tid, None)
            if task is None:
                continue
            doomed.extend(task.get("children", ()))
            parent = tasks.get(task.get("parent"))
            if parent is not None and tid in parent.get("children", []):
                parent["children"].remove(tid)

    prune(dct["tasks"], new_spec.task_specs)
    for sub in dct.get("subprocesses", {}).values():
        spec = new_subs.get(sub.get("spec"))
        if spec is not None:
            prune(sub["tasks"], spec.task_specs)
    return json.dumps(dct)


def _specs(uow: UnitOfWork, definition_id: int) -> ProcessSpecs:
    def serialized() -> str:
        return uow.session.execute(select(ProcessDefinition.spec_json)
                                   .where(ProcessDefinition.id == definition_id)).scalar_one()
    return uow.runtime.specs.get(definition_id, serialized)


def _is_element(spec: object) -> bool:
    # Engine-made specs (Start, End, "<id>.BoundaryEventSplit", ...) have no BPMN name a reader knows.
    return spec is not None and getattr(spec, "bpmn_id", None) is not None


def _kind(spec: object) -> str:
    return type(spec).__name__.removesuffix("Task").removesuffix("Spec") or type(spec).__name__
