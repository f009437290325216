"""Driving one workflow: start, fire timers, complete a user task, and one snapshot of what it waits for.

Pure SpiffWorkflow, no database: the step (services/steps.py) loads a workflow, calls these functions, takes one
snapshot and persists the rows from it.
The guards here close SpiffWorkflow traps that otherwise corrupt a case silently (see tests/engine).
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition  # the class our parser builds
from SpiffWorkflow.util.task import TaskState

from app.engine.core.errors import Conflict, NotFound
from app.engine.core.times import parse_instant
from app.engine.workflow.performers import performer_lane

if TYPE_CHECKING:
    from SpiffWorkflow.task import Task

    from app.engine.workflow.scripting import SandboxedScriptEngine
    from app.engine.workflow.serialization import ProcessSpec

# Hard cap on loop iterations: past a tree depth of ~1000 SpiffWorkflow's iterators stop looking and the
# workflow reports itself completed while mid-loop. Long before that we refuse to go on (see tests).
MAX_TREE_DEPTH = 800
# Engine passes per advance for timers that become due during the steps (a zero-length cycle timer must not spin).
MAX_TIMER_PASSES = 20


@dataclass(frozen=True)
class WaitingTimer:
    task_id: str
    element_id: str
    name: str
    due_at: datetime | None      # None: the expression failed and SpiffWorkflow would never fire it
    host_task_id: str | None      # the task (or subprocess) the boundary timer is attached to
    values: Mapping[str, object] = field(default_factory=dict)   # its evaluated properties (sla, slaClockStart)


@dataclass(frozen=True)
class ReadyTask:
    task_id: str
    element_id: str
    title: str
    lane: str | None                # whose roles work on it: the performer's lane (performers.performer_lane)
    properties: Mapping[str, str]   # the diagram's spiffworkflow:property values, as written
    data: Mapping                   # the task's live data (read it before the workflow moves on)
    hosts: tuple[str, ...] = ()     # the task and every subprocess task enclosing it: whose timers bound it
    values: Mapping[str, object] = field(default_factory=dict)   # the evaluated expression properties


@dataclass(frozen=True)
class Snapshot:
    """What one walk of the tree after a step finds: all a save compares its rows against."""

    ready: tuple[ReadyTask, ...]        # ready user tasks, in the engine's order
    timers: tuple[WaitingTimer, ...]    # waiting timers with their due times
    completed: frozenset[str]           # ids of completed user tasks and fired timers
    depth: int                          # deepest ready or waiting task
    finished: bool                      # the process has nothing left to do
    # Timers that fired since ``fired_since`` (the step's start): among them those armed and fired in the same
    # step (a deadline already past when its task began), which never waited and so have no row yet.
    fired: tuple[WaitingTimer, ...] = ()


def start(spec: ProcessSpec, subprocess_specs: Mapping[str, ProcessSpec], script_engine: SandboxedScriptEngine,
          data: Mapping) -> BpmnWorkflow:
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
    # Data on the root task is inherited by the start event and flows from there.
    workflow.task_tree.data.update(dict(data))
    advance(workflow)
    return workflow


def advance(workflow: BpmnWorkflow) -> None:
    """Run engine steps until the workflow waits.

    This is SpiffWorkflow's do_engine_steps (run ready engine tasks until none is left, then refresh the
    timers), repeated only when that refresh made a timer ready: a timer that became due during the steps runs
    too. Every pass walks the whole tree, so no pass is run for nothing (the step used to run a second
    do_engine_steps on every advance). ``_do_engine_steps`` is the loop body of do_engine_steps in the pinned
    SpiffWorkflow 3.2.0."""
    for _ in range(MAX_TIMER_PASSES):
        while workflow._do_engine_steps():
            pass
        waiting = [(task, task.state) for task in workflow.event_manager.tasks.values()]
        workflow.refresh_timers()
        if all(task.state == state for task, state in waiting):
            return


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


def reschedule_timer(workflow: BpmnWorkflow, task_id: str, due_at: datetime) -> None:
    """Move a waiting timer to ``due_at`` (an extended deadline). SpiffWorkflow keeps the due time it computed
    in the timer task's ``event_value``; the save then brings the Timer row in line from the snapshot."""
    task = _find(workflow, task_id)
    if task is None or task.state != TaskState.WAITING or not _is_timer(task):
        raise Conflict("The deadline is no longer waiting; it cannot be moved")
    task._set_internal_data(event_value=due_at.isoformat())


def catch_message(workflow: BpmnWorkflow, name: str, payload: Mapping) -> bool:
    """Deliver a BPMN message (e.g. ``extension_requested``) to whatever waits for it, then run until the
    workflow waits. False when nothing in the workflow was waiting for it (nothing changed)."""
    event = BpmnEvent(MessageEventDefinition(name), dict(payload))
    catchers = [t for t in workflow.event_manager.tasks.values() if t.task_spec.catches(t, event)]
    if workflow.event_manager.catch(event, internal=False) == 0:
        return False
    for task in catchers:
        _rearm(task)
    advance(workflow)
    return True


def _rearm(task: Task) -> None:
    """A non-interrupting boundary event may be triggered again while its host runs (BPMN), e.g. a further
    extension; SpiffWorkflow 3.2.0 consumes it after one catch. Put a fresh waiting copy beside it, under the
    same boundary split, so the host's completion still cancels it (see tests/engine/test_deadlines.py)."""
    spec = task.task_spec
    if not isinstance(spec, BoundaryEvent) or spec.cancel_activity or task.parent is None:
        return
    host = next((t for t in task.parent.children if not isinstance(t.task_spec, BoundaryEvent)), None)
    if host is None or host.has_state(TaskState.FINISHED_MASK):
        return
    fresh = task.parent._add_child(spec, TaskState.MAYBE)   # predicted: _update builds its children too
    spec._update(fresh)


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
    """The ready user tasks alone (the in-memory bench and tests); a step uses ``snapshot``."""
    return list(snapshot(workflow).ready)


def snapshot(workflow: BpmnWorkflow, *, evaluate: Iterable[str] = (), known: Collection[str] = (),
             evaluate_timers: Iterable[str] = (), known_timers: Collection[str] = (),
             fired_since: float | None = None) -> Snapshot:
    """Walk the task tree once (subprocesses included) and return everything a save needs.

    ``evaluate`` names the task properties that are expressions (e.g. ``assignedDepartment``); they are
    evaluated in each ready task's data, except for the tasks in ``known`` (their rows already hold the value);
    likewise ``evaluate_timers`` for waiting timers not in ``known_timers`` (e.g. ``sla``, ``slaClockStart``).
    ``fired_since`` (SpiffWorkflow's own state-change time, the machine's): completed timers not in
    ``known_timers`` that changed state since then are listed in ``fired``, with the same properties.
    Refuses (Conflict) a tree deeper than MAX_TREE_DEPTH, where SpiffWorkflow's own iterators go blind.
    """
    evaluate, evaluate_timers = tuple(evaluate), tuple(evaluate_timers)
    ready, timers, completed, fired = [], [], set(), []
    deepest, unfinished = 0, False
    subprocesses = workflow.subprocesses
    # (task, depth, ids of the subprocess tasks enclosing it), depth first in SpiffWorkflow's own order.
    stack: list[tuple[Task, int, tuple[str, ...]]] = [(workflow.task_tree, 0, ())]
    while stack:
        task, depth, enclosing = stack.pop()
        state = task.state
        if not enclosing and state & TaskState.NOT_FINISHED_MASK:
            unfinished = True
        if state & TaskState.PREDICTED_MASK:
            continue  # a predicted task has only predicted descendants
        spec = task.task_spec
        if state == TaskState.READY or state == TaskState.WAITING:
            deepest = max(deepest, depth)
            if state == TaskState.READY and spec.manual:
                ready.append(_ready_task(workflow, task, enclosing, evaluate, known))
            elif state == TaskState.WAITING and _is_timer(task):
                timers.append(_waiting_timer(workflow, task, evaluate_timers, known_timers))
        elif state == TaskState.COMPLETED and (spec.manual or _is_timer(task)):
            completed.add(str(task.id))
            if (fired_since is not None and not spec.manual and task.last_state_change >= fired_since
                    and str(task.id) not in known_timers):
                fired.append(_waiting_timer(workflow, task, evaluate_timers))
        stack.extend((child, depth + 1, enclosing) for child in reversed(task.children))
        subprocess = subprocesses.get(task.id)
        if subprocess is not None:  # visited before the task's own children, as SpiffWorkflow does
            stack.append((subprocess.task_tree, depth + 1, (*enclosing, str(task.id))))
    if deepest > MAX_TREE_DEPTH:
        raise Conflict(f"This case has looped too often (task tree depth {deepest} > {MAX_TREE_DEPTH}); "
                       "the engine cannot track it reliably any more. Close it and open a new case.")
    return Snapshot(ready=tuple(ready), timers=tuple(timers), completed=frozenset(completed), depth=deepest,
                    finished=not unfinished, fired=tuple(fired))


def _ready_task(workflow: BpmnWorkflow, task: Task, enclosing: tuple[str, ...], evaluate: tuple[str, ...],
                known: Collection[str]) -> ReadyTask:
    spec = task.task_spec
    extensions = getattr(spec, "extensions", None) or {}
    properties = dict(extensions.get("properties", {}))
    task_id = str(task.id)
    values = {}
    if task_id not in known:
        values = {name: workflow.script_engine.evaluate(task, properties[name])
                  for name in evaluate if properties.get(name)}
    return ReadyTask(task_id=task_id, element_id=spec.bpmn_id, title=spec.bpmn_name or spec.bpmn_id,
                     lane=performer_lane(properties, spec.lane), properties=properties, data=task.data,
                     hosts=(task_id, *enclosing), values=values)


def _waiting_timer(workflow: BpmnWorkflow, task: Task, evaluate: tuple[str, ...] = (),
                   known: Collection[str] = ()) -> WaitingTimer:
    host = _host_of(task)
    values = {}
    if evaluate and str(task.id) not in known:
        properties = (getattr(task.task_spec, "extensions", None) or {}).get("properties", {})
        values = {name: workflow.script_engine.evaluate(task, properties[name])
                  for name in evaluate if properties.get(name)}
    return WaitingTimer(task_id=str(task.id), element_id=task.task_spec.bpmn_id,
                        name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                        due_at=_parse_event_value(task._get_internal_data("event_value")),
                        host_task_id=str(host.id) if host else None, values=values)


def evaluate(workflow: BpmnWorkflow, task_id: str, expression: str) -> object:
    task = _find(workflow, task_id)
    return workflow.script_engine.evaluate(task, expression)


def task_data(workflow: BpmnWorkflow, task_id: str) -> dict:
    task = _find(workflow, task_id)
    return dict(task.data) if task is not None else {}


def is_completed(workflow: BpmnWorkflow) -> bool:
    return workflow.is_completed()


def _find(workflow: BpmnWorkflow, task_id: str) -> Task | None:
    try:
        return workflow.get_task_from_id(UUID(str(task_id)))
    except Exception:
        return None


def _is_timer(task: Task) -> bool:
    spec = task.task_spec
    return isinstance(spec, CatchingEvent) and isinstance(getattr(spec, "event_definition", None),
                                                          TimerEventDefinition)


def _host_of(timer_task: Task) -> Task | None:
    """A boundary event hangs under a split together with the task it is attached to."""
    parent = timer_task.parent
    if parent is None:
        return None
    for sibling in parent.children:
        if sibling is not timer_task and not isinstance(sibling.task_spec, CatchingEvent):
            return sibling
    return None


def _parse_event_value(value: object) -> datetime | None:
    if not value:
        return None
    try:
        parsed = TimerEventDefinition.parse_time_or_duration(value) if isinstance(value, str) else None
    except Exception:
        return None
    return parse_instant(parsed) if isinstance(parsed, datetime) else None
