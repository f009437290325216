"""Workflow (de)serialization: specs stored once per definition version, instances store only their state."""
from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import TypeAlias
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from app.engine.workflow import timer_clock

# The task dicts of a live workflow's last save (see InstanceStateConverter._task_dicts), kept on the workflow.
_TASK_DICTS = "_complaintflow_task_dicts"
_FINISHED = TaskState.FINISHED_MASK

# A parsed (or restored) process: the top-level process of a definition version, or one it calls.
ProcessSpec: TypeAlias = BpmnProcessSpec
# A definition version's process and the processes it calls, by process id, as load_specs restores them.
ProcessSpecs = tuple[ProcessSpec, dict[str, ProcessSpec]]
# A live workflow (what the engine steps; only this package touches its insides).
Workflow: TypeAlias = BpmnWorkflow


class InstanceStateConverter(BpmnWorkflowConverter):
    """Like SpiffWorkflow's converter, but leaves the spec out: it lives in the definition version's row.

    The spec is about half the bytes of a finished complaint's state and would otherwise be rewritten on
    every step; the parsed spec objects are put back from the cache on load.
    """

    def to_dict(self, workflow):
        # As WorkflowConverter.to_dict (SpiffWorkflow 3.2.0), but every task dict comes through _task_dicts.
        cache = getattr(workflow, _TASK_DICTS, None) or {}
        fresh: dict = {}
        dct = self._workflow_dict(workflow, cache, fresh)
        dct["subprocesses"] = {}
        for task_id, subprocess in workflow.subprocesses.items():
            sub = self._workflow_dict(subprocess, cache, fresh)
            sub["parent_task_id"] = str(subprocess.parent_task_id)
            sub["spec"] = subprocess.spec.name
            sub["typename"] = self.registry.typenames[type(subprocess)]
            dct["subprocesses"][str(task_id)] = sub
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        setattr(workflow, _TASK_DICTS, fresh)
        return dct

    def _workflow_dict(self, workflow: BpmnWorkflow, cache: dict, fresh: dict) -> dict:
        registry = self.registry
        return {
            "data": registry.convert(registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": self._task_dicts(workflow.tasks, cache, fresh),
            "root": str(workflow.task_tree.id),
        }

    def _task_dicts(self, tasks: dict, cache: dict, fresh: dict) -> dict:
        """The tasks' dicts, reusing those of finished tasks from the previous save of this live workflow.

        A finished task (completed, cancelled, error) under a finished parent no longer changes, except for new
        children (runner._rearm adds one under a completed boundary split); its dict (ids, state, internal data
        and its data as a delta to its parent's) is reused as long as its state, state change time, children
        and both data objects are the same. Scripts copy task data on write (scripting.py), so no later task
        mutates a finished task's data in place. A workflow fresh from the database starts with the dicts it
        was read from (from_dict), so a cold step too converts only what is still moving. The result is what
        SpiffWorkflow's own converter writes (tests/engine/test_state_serialization.py)."""
        convert = self.registry.convert
        out = {}
        for task_id, task in tasks.items():
            key = _finished_key(task, tasks)
            if key is None:
                out[str(task_id)] = convert(task)
                continue
            item = cache.get(task_id)
            if item is None or item[0] != key:
                item = (key, str(task_id), convert(task))
            fresh[task_id] = item
            out[item[1]] = item[2]
        return out

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        if spec is None:
            raise ValueError("instance state carries no spec: pass the cached spec of its definition version")
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        dct["tasks"] = _parents_first(dct["tasks"])
        for sub_dict in dct["subprocesses"].values():
            sub_dict["tasks"] = _parents_first(sub_dict["tasks"])
        task_dicts, subprocess_dicts = dct["tasks"], dict(dct["subprocesses"])
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        # The stored dicts of the finished tasks are what the next save would convert them to again: keep them.
        cache: dict = {}
        _remember(workflow.tasks, task_dicts, cache)
        for task_id, sub_dict in subprocess_dicts.items():
            subprocess = workflow.subprocesses.get(UUID(task_id))
            if subprocess is not None:
                _remember(subprocess.tasks, sub_dict["tasks"], cache)
        setattr(workflow, _TASK_DICTS, cache)
        return workflow


def _parents_first(task_dicts: dict) -> dict:
    """The task dicts with every parent before its children. SpiffWorkflow restores a task's data as a delta to
    its parent's, looking the parent up among the tasks restored so far: a child stored before its parent gets
    no data at all. Steps keep the tree order, but a migration puts a new boundary split above a waiting task
    (workflow/migrate.py), stored after it: the task's data (a draft's letter facts) came back empty."""
    seen: set[str] = set()
    for task_id, task in task_dicts.items():
        parent = task.get("parent")
        if parent is not None and parent not in seen and parent in task_dicts:
            break
        seen.add(task_id)
    else:
        return task_dicts   # the usual case: one pass, no copy
    ordered: dict = {}
    pending = [task_id for task_id, task in task_dicts.items()
               if task.get("parent") is None or task.get("parent") not in task_dicts]
    while pending:
        task_id = pending.pop(0)
        if task_id in ordered or task_id not in task_dicts:
            continue
        ordered[task_id] = task_dicts[task_id]
        pending.extend(task_dicts[task_id].get("children", ()))
    for task_id, task in task_dicts.items():   # unreachable from a root (never written so): keep, last
        ordered.setdefault(task_id, task)
    return ordered


def forget_saved_dicts(workflow: BpmnWorkflow) -> None:
    """The next save converts every task afresh: after a change the keys of _finished_key do not see (a
    migration re-points finished tasks at another version's specs)."""
    setattr(workflow, _TASK_DICTS, {})


def _finished_key(task, tasks):
    """What a finished task's dict depends on, or None while the task (or its parent) may still change."""
    state = task._state
    if not state & _FINISHED:
        return None
    parent = tasks.get(task._parent) if task._parent is not None else None
    if parent is not None and not parent._state & _FINISHED:
        return None
    return (state, task.last_state_change, tuple(task._children), id(task.data),
            id(parent.data) if parent is not None else None)


def _remember(tasks: dict, dicts: dict, cache: dict) -> None:
    for task_id, task in tasks.items():
        key = _finished_key(task, tasks)
        if key is not None:
            text_id = str(task_id)
            cache[task_id] = (key, text_id, dicts[text_id])


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = InstanceStateConverter
    registry = BpmnWorkflowSerializer.configure(config)
    timer_clock.register(registry)   # timers restored on the step's clock, written under SpiffWorkflow's names
    # Money and dates must survive a save: SpiffWorkflow only knows datetime, timedelta and UUID.
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]), "Decimal")
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]), "date")
    return BpmnWorkflowSerializer(registry)


SERIALIZER = _make_serializer()


def dump_specs(spec: ProcessSpec, subprocess_specs: Mapping[str, ProcessSpec]) -> str:
    registry = SERIALIZER.registry
    return json.dumps({"spec": registry.convert(spec),
                       "subprocess_specs": {name: registry.convert(s) for name, s in subprocess_specs.items()}})


def load_specs(serialized: str) -> ProcessSpecs:
    dct = json.loads(serialized)
    registry = SERIALIZER.registry
    return registry.restore(dct["spec"]), {name: registry.restore(s) for name, s in dct["subprocess_specs"].items()}


def dump_state(workflow: BpmnWorkflow) -> str:
    return SERIALIZER.serialize_json(workflow)


def load_state(serialized: str, spec: ProcessSpec, subprocess_specs: Mapping[str, ProcessSpec]) -> BpmnWorkflow:
    dct = json.loads(serialized)
    SERIALIZER.migrate(dct)
    return SERIALIZER.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
