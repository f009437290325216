"""Driving one workflow: start, fire timers, complete a user task, and read what it waits for.

Pure SpiffWorkflow, no database: the services load a workflow, call these functions, and persist the result.
The guards here close SpiffWorkflow traps that otherwise corrupt a case silently (see tests/engine).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Mapping
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app.engine.errors import Conflict, NotFound
from app.engine.sla import parse_instant

# Hard cap on loop iterations: past a tree depth of ~1000 SpiffWorkflow's iterators stop looking and the
# workflow reports itself completed while mid-loop. Long before that we refuse to go on (see tests).
MAX_TREE_DEPTH = 800


@dataclass(frozen=True)
class WaitingTimer:
    task_id: str
    element_id: str
    name: str
    due_at: datetime | None      # None: the expression failed and SpiffWorkflow would never fire it
    host_task_id: str | None      # the task (or subprocess) the boundary timer is attached to


@dataclass(frozen=True)
class ReadyTask:
    task_id: str
    element_id: str
    title: str
    lane: str | None
    properties: Mapping[str, str]
    data: Mapping


def start(spec, subprocess_specs, script_engine, data: Mapping) -> BpmnWorkflow:
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
    # Data on the root task is inherited by the start event and flows from there.
    workflow.task_tree.data.update(dict(data))
    advance(workflow)
    return workflow


def advance(workflow: BpmnWorkflow) -> None:
    """Run engine steps until the workflow waits. do_engine_steps refreshes timers only at its end, so a timer
    that became due during the steps needs a second pass."""
    workflow.do_engine_steps()
    workflow.refresh_timers()
    workflow.do_engine_steps()
    _check_depth(workflow)


def fire_timers(workflow: BpmnWorkflow, task_ids: Iterable[str]) -> list[str]:
    """Fire the given waiting timers now, whatever SpiffWorkflow's own wall clock says; return those fired."""
    fired = []
    for task_id in task_ids:
        task = _find(workflow, task_id)
        if task is None or task.state != TaskState.WAITING or not _is_timer(task):
            continue
        task._set_internal_data(event_fired=True)
        fired.append(task_id)
    if fired:
        workflow.refresh_timers()
        advance(workflow)
    return fired


def complete_user_task(workflow: BpmnWorkflow, task_id: str, data: Mapping) -> None:
    task = _find(workflow, task_id)
    if task is None:
        raise NotFound(f"Task {task_id} is not part of this workflow")
    # task.run() does not check state: running a COMPLETED or merely predicted task corrupts the flow.
    if task.state != TaskState.READY or not task.task_spec.manual:
        raise Conflict(f"Task '{task.task_spec.bpmn_name or task.task_spec.bpmn_id}' is no longer ready "
                       f"(it is {TaskState.get_name(task.state).lower()})")
    task.data.update(dict(data))
    task.run()
    advance(workflow)


def ready_user_tasks(workflow: BpmnWorkflow) -> list[ReadyTask]:
    result = []
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        spec = task.task_spec
        extensions = getattr(spec, "extensions", None) or {}
        result.append(ReadyTask(
            task_id=str(task.id), element_id=spec.bpmn_id, title=spec.bpmn_name or spec.bpmn_id,
            lane=spec.lane, properties=dict(extensions.get("properties", {})), data=task.data))
    return result


def waiting_timers(workflow: BpmnWorkflow) -> list[WaitingTimer]:
    result = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        if not _is_timer(task):
            continue
        value = task._get_internal_data("event_value")
        due = _parse_event_value(value)
        host = _host_of(task)
        result.append(WaitingTimer(task_id=str(task.id), element_id=task.task_spec.bpmn_id,
                                   name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                                   due_at=due, host_task_id=str(host.id) if host else None))
    return result


def enclosing_task_ids(workflow: BpmnWorkflow, task_id: str) -> list[str]:
    """The task itself and every subprocess task that contains it: the hosts whose timers bound it."""
    ids, task = [], _find(workflow, task_id)
    while task is not None:
        ids.append(str(task.id))
        parent_task_id = getattr(task.workflow, "parent_task_id", None)
        task = workflow.get_task_from_id(parent_task_id) if parent_task_id else None
    return ids


def evaluate(workflow: BpmnWorkflow, task_id: str, expression: str):
    task = _find(workflow, task_id)
    return workflow.script_engine.evaluate(task, expression)


def task_data(workflow: BpmnWorkflow, task_id: str) -> dict:
    task = _find(workflow, task_id)
    return dict(task.data) if task is not None else {}


def is_completed(workflow: BpmnWorkflow) -> bool:
    return workflow.is_completed()


def is_task_completed(workflow: BpmnWorkflow, task_id: str) -> bool:
    """Completed (a user task done, a timer fired), as opposed to cancelled or gone."""
    task = _find(workflow, task_id)
    return task is not None and task.state == TaskState.COMPLETED


def _find(workflow: BpmnWorkflow, task_id: str):
    try:
        return workflow.get_task_from_id(UUID(str(task_id)))
    except Exception:  # noqa: BLE001 - SpiffWorkflow raises its own not-found type, or KeyError
        return None


def _is_timer(task) -> bool:
    spec = task.task_spec
    return isinstance(spec, CatchingEvent) and isinstance(getattr(spec, "event_definition", None),
                                                          TimerEventDefinition)


def _host_of(timer_task):
    """A boundary event hangs under a split together with the task it is attached to."""
    parent = timer_task.parent
    if parent is None:
        return None
    for sibling in parent.children:
        if sibling is not timer_task and not isinstance(sibling.task_spec, CatchingEvent):
            return sibling
    return None


def _parse_event_value(value) -> datetime | None:
    if not value:
        return None
    try:
        parsed = TimerEventDefinition.parse_time_or_duration(value) if isinstance(value, str) else None
    except Exception:  # noqa: BLE001 - an unparseable value is reported as "no due time"
        return None
    return parse_instant(parsed) if isinstance(parsed, datetime) else None


def _check_depth(workflow: BpmnWorkflow) -> None:
    deepest = max((t.depth for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)), default=0)
    if deepest > MAX_TREE_DEPTH:
        raise Conflict(f"This case has looped too often (task tree depth {deepest} > {MAX_TREE_DEPTH}); "
                       "the engine cannot track it reliably any more. Close it and open a new case.")
