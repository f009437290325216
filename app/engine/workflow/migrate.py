"""Moving a live workflow to another version of its process, with SpiffWorkflow's own diff and migrate
(``SpiffWorkflow.bpmn.util.diff`` in the pinned 3.2.0).

What SpiffWorkflow does. ``diff_workflow`` aligns every task spec of the old version with one of the new: by BPMN
id, else by its place between aligned neighbours (a renamed task), and lists the workflow's tasks whose spec the
new version removed or changed, for the process and for each subprocess it runs. ``migrate_workflow`` re-points
every task of the tree at its aligned spec and resets the branch of each ready and waiting task: its planned
descendants are dropped and planned again from the new diagram, its data is taken again from its parent, and a
waiting event's value (a timer's due time) is computed again from the new expression. Task ids do not change, so
the task and timer rows of the case stay its rows.

What we refuse (``plan``), each with a reason a process owner can read: a task the case is at (ready, waiting,
running) whose element the new version removed, or renamed (ids are stable: rows, audit trail and extensions name
them), or turned into another kind of element; a finished task of its history whose element was removed (the
saved state would name a spec the new version lacks); a running multi-instance, subprocess or call activity
whose definition changed beyond names, documentation, lanes and properties, or whose next step was removed (its
planned path is not reset by SpiffWorkflow); a subprocess it runs that the new version lacks; a waiting deadline
the new version changes after it was extended (re-arming it would drop what the customer was told); a changed
cycle timer.

Boundary events of the task a case is at (ready, or a running subprocess). SpiffWorkflow re-points the task but
not the boundary split above it: a split the new version adds is never reached (the join after the task fails
when the task completes) and one it removes leaves the history naming a removed spec. So: a boundary event the
new version REMOVES from that task is stopped (its waiting task dropped, the split spliced out when none is
left; ``Plan.stop``), and one it ADDS is armed (``arm``, after the move has run: a split put above the task,
the event waiting beside it, a timer's due time from the new expression on the clock of when the task became
ready, so an already due one fires on the scheduler's next pass, as any due timer, never inside the move).

What we put back after SpiffWorkflow's reset (``migrate``): a ready multi-instance item keeps its data (the reset
would replace it by the parent's, losing the item it works on); a waiting timer the new version does not change
keeps its due time (an extension, or a clock that started before the move); a timer it changes is re-armed
from the same clock start (its row's, for an expression that reads the step's clock) under the new expression.
The planned path after a running task is planned again from the new diagram, as the reset does for ready ones.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from app.engine.core.errors import DomainError, InvalidSubmission
from app.engine.workflow.runner import _is_timer as is_timer
from app.engine.workflow.runner import _parse_event_value as parse_event_value
from app.engine.workflow.serialization import SERIALIZER, forget_saved_dicts

if TYPE_CHECKING:
    from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
    from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.specs.base import TaskSpec

    from app.engine.workflow.scripting import SandboxedScriptEngine
    from app.engine.workflow.serialization import ProcessSpecs

_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
_HOSTS = TaskState.READY | TaskState.STARTED   # the tasks a case is at that boundary events can be attached to
_PLANNED = TaskState.PREDICTED_MASK | TaskState.FUTURE
_STATES = {TaskState.WAITING: "waiting", TaskState.READY: "ready", TaskState.STARTED: "running",
           TaskState.COMPLETED: "completed", TaskState.CANCELLED: "cancelled", TaskState.ERROR: "failed"}
# What may change on a running task (a subprocess, a multi-instance, a call activity): its path onwards is planned
# again (migrate), but its loop and the process it runs must stay as they were.
_RUNNING_MAY_CHANGE = frozenset({"bpmn_name", "description", "documentation", "lane", "extensions", "prescript",
                                 "postscript", "inputs", "outputs", "io_specification", "data_input_associations",
                                 "data_output_associations"})
# What makes a waiting timer's deadline another one: its expression or its properties (sla, slaClockStart).
_DEADLINE = frozenset({"event_definition", "extensions"})
# What adding or removing the boundary split above a task changes on it (the split and join are its neighbours).
_BOUNDARY_WIRING = frozenset({"inputs", "outputs"})


@dataclass(frozen=True)
class Refusal:
    """Why an instance cannot move: ``code`` (pages translate by it), the element, its state, the subprocess it is
    in (None: the process itself) and a detail (a kind, attributes, a new name, an error)."""

    code: str
    element: str
    state: str = ""
    process: str | None = None
    detail: str = ""

    def __str__(self) -> str:
        where = f" (in {self.process})" if self.process else ""
        element, state, detail = self.element, self.state, self.detail
        text = {
            "removed_active": f"it is {state} at {element}{where}, which the new version removed",
            "renamed_active": f"it is {state} at {element}{where}, which the new version removed ({detail} takes "
                              "its place)",
            "removed_history": f"its history has {element}{where} ({state}), which the new version removed",
            "changed_kind": f"{element}{where} is {state} and the new version makes it a {detail}",
            "changed_running": f"{element}{where} is running and the new version changes its {detail}",
            "subprocess_removed": f"it runs the subprocess {element}, which the new version does not have",
            "deadline_extended": f"its deadline {element}{where} was extended and the new version changes it: "
                                 "re-arming it would drop the extension",
            "cycle_timer": f"its cycle timer {element}{where} changed: cycle timers are not re-armed",
            "step_fails": f"the new version fails at {element}{where}: {detail}",
            "not_moved": f"{element}{where} ({state}) has no counterpart in the new version",
        }
        return text.get(self.code, f"{self.code}: {element}{where}")


@dataclass(frozen=True)
class Plan:
    """What moving a workflow to the new specs would do, decided from SpiffWorkflow's diff alone (a dry run:
    nothing is changed). ``rearm``: the waiting timers whose deadline the new version changes (id: element).
    ``arm``: the boundary events the new version adds to a task the case is at (the task's id: the events' spec
    names). ``stop``: its waiting boundary events the new version removes (id: element)."""

    active: tuple[str, ...]
    refusals: tuple[Refusal, ...]
    rearm: Mapping[str, str]
    arm: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    stop: Mapping[str, str] = field(default_factory=dict)
    _diffs: dict[UUID | None, tuple[SpecDiff, WorkflowDiff]] = field(default_factory=dict, repr=False,
                                                                      compare=False)

    @property
    def movable(self) -> bool:
        return not self.refusals


@dataclass(frozen=True)
class Rearmed:
    """A waiting timer re-armed under the new version: its id, element and due times before and after."""

    task_id: str
    element_id: str
    due_before: datetime | None
    due_after: datetime | None
    values: Mapping[str, object] = field(default_factory=dict)   # its evaluated properties (sla, slaClockStart)


@dataclass(frozen=True)
class Armed:
    """A boundary timer the new version adds to a task the case is at, armed (or, in a dry run, to be armed):
    its id (empty in a dry run), element, name, host task, due time, the instant its clock started (when the host
    became ready) and its evaluated properties."""

    task_id: str
    element_id: str
    name: str
    host_task_id: str
    due_at: datetime | None
    started_at: datetime
    values: Mapping[str, object] = field(default_factory=dict)


def plan(workflow: BpmnWorkflow, new_specs: ProcessSpecs, *, extended: Collection[str] = ()) -> Plan:
    """Diff ``workflow`` against ``new_specs`` and decide. ``extended``: ids of its waiting timers whose deadline
    was extended (their due time is no longer the expression's)."""
    new_spec, new_subs = new_specs
    # SpiffWorkflow's diff_workflow, keeping the SpecDiffs: they say *what* changed on a spec (its WorkflowDiff
    # only that it did), and a deadline is re-armed only when its expression or properties changed.
    diffs: dict[UUID | None, tuple[SpecDiff, WorkflowDiff]] = {}
    refusals: list[Refusal] = []
    for sub_id, each in ((None, workflow), *workflow.subprocesses.items()):
        new = new_spec if sub_id is None else new_subs.get(each.spec.name)
        if new is None:
            refusals.append(Refusal("subprocess_removed", each.spec.name))
            continue
        spec_diff = SpecDiff(SERIALIZER.registry, each.spec, new)
        diffs[sub_id] = (spec_diff, WorkflowDiff(each, spec_diff))
    rearm: dict[str, str] = {}
    arm: dict[str, tuple[str, ...]] = {}
    stop: dict[str, str] = {}
    for sub_id, (spec_diff, diff) in diffs.items():
        process = None if sub_id is None else workflow.subprocesses[sub_id].spec.name
        exempt = _boundary_changes(diff, process, refusals, arm, stop)
        _decide(spec_diff, diff, process, refusals, rearm, exempt)
    for task_id in rearm:
        if task_id in extended:
            task = workflow.get_task_from_id(UUID(task_id))
            refusals.append(Refusal("deadline_extended", _element(task), "waiting", _process_of(task)))
    active = [_element(t) for t in workflow.get_tasks(state=_ACTIVE) if t.task_spec.bpmn_id is not None]
    return Plan(active=tuple(dict.fromkeys(active)), refusals=tuple(dict.fromkeys(refusals)), rearm=rearm,
                arm=arm, stop=stop, _diffs=diffs)


def _boundary_changes(diff: WorkflowDiff, process: str | None, refusals: list[Refusal],
                      arm: dict[str, tuple[str, ...]], stop: dict[str, str]) -> set[Task]:
    """The boundary events the new version adds to or removes from each task the case is at (see the module's
    docstring); returns the removed tasks this handles: the stopped events, and each split spliced out (its spec
    removed and nothing under it but the task and stopped events)."""
    exempt: set[Task] = set()
    for task, new in diff.alignment.items():
        if new is None or new.name != task.task_spec.name or not task.has_state(_HOSTS) \
                or isinstance(task.task_spec, BoundaryEvent):
            continue
        old_split = task.parent if task.parent is not None and isinstance(task.parent.task_spec,
                                                                          BoundaryEventSplit) else None
        new_split = _split_of(new)
        events = [t for t in old_split.children if t is not task] if old_split is not None else []
        stopped = [t for t in events if diff.alignment.get(t) is None and t.state == TaskState.WAITING]
        stop.update((str(t.id), _element(t)) for t in stopped)
        exempt.update(stopped)
        if old_split is not None and new_split is None and len(stopped) == len(events):
            exempt.add(old_split)
        present = {t.task_spec.name for t in events}
        added = [s for s in (new_split.outputs if new_split is not None else ()) if isinstance(s, BoundaryEvent)
                 and s.name not in present]
        for spec in added:
            if isinstance(getattr(spec, "event_definition", None), CycleTimerEventDefinition):
                refusals.append(Refusal("cycle_timer", spec.bpmn_id, _STATES[task.state], process))
        if added:
            arm[str(task.id)] = tuple(spec.name for spec in added)
    return exempt


def _split_of(spec: TaskSpec) -> BoundaryEventSplit | None:
    return next((s for s in spec.inputs if isinstance(s, BoundaryEventSplit)), None)


def _decide(spec_diff: SpecDiff, diff: WorkflowDiff, process: str | None, refusals: list[Refusal],
            rearm: dict[str, str], exempt: set[Task]) -> None:
    for task in diff.removed:
        if task in exempt:
            continue  # a stopped boundary event, or the split spliced out with it (_boundary_changes)
        _removed(task, process, refusals)
    for task, new in diff.alignment.items():
        if new is None or not task.has_state(_ACTIVE):
            continue
        old, state = task.task_spec, _STATES[task.state]
        if new.name != old.name:  # aligned by its place: ids are stable (rows, audit trail, extensions name them)
            refusals.append(Refusal("renamed_active", _element(task), state, process,
                                    new.name.removesuffix(" [child]")))
            continue
        changes = set(spec_diff.comparisons.get(old, ()))
        if _has_split(task) != (_split_of(new) is not None):
            changes -= _BOUNDARY_WIRING  # a boundary split added or removed: handled (_boundary_changes)
        if "typename" in changes:
            refusals.append(Refusal("changed_kind", _element(task), state, process, type(new).__name__))
        elif task.state == TaskState.STARTED and changes - _RUNNING_MAY_CHANGE:
            refusals.append(Refusal("changed_running", _element(task), state, process,
                                    ", ".join(sorted(changes - _RUNNING_MAY_CHANGE))))
        elif task.state == TaskState.WAITING and is_timer(task) and changes & _DEADLINE:
            if isinstance(new.event_definition, CycleTimerEventDefinition):
                refusals.append(Refusal("cycle_timer", _element(task), state, process))
            else:
                rearm[str(task.id)] = _element(task)


def _has_split(task: Task) -> bool:
    return task.parent is not None and isinstance(task.parent.task_spec, BoundaryEventSplit)


def _removed(task: Task, process: str | None, refusals: list[Refusal]) -> None:
    if task.has_state(_ACTIVE):
        refusals.append(Refusal("removed_active", _element(task), _STATES[task.state], process))
    elif task.has_state(TaskState.FINISHED_MASK):
        refusals.append(Refusal("removed_history", _element(task), _STATES[task.state], process))
    # A planned task goes with the branch SpiffWorkflow resets or the path we plan again (migrate).


def migrate(workflow: BpmnWorkflow, new_specs: ProcessSpecs, moving: Plan, *,
            clock_start: Callable[[str], datetime], engine_at: Callable[[datetime], SandboxedScriptEngine],
            evaluate: Iterable[str] = ()) -> tuple[Rearmed, ...]:
    """Move ``workflow`` (the one ``moving`` was planned on) to ``new_specs`` in place; return the re-armed timers
    with their properties named in ``evaluate`` evaluated. ``clock_start(task_id)``: when a waiting timer's clock
    started (its row says); ``engine_at(start)``: a script engine whose clock reads ``start``, for a re-armed
    deadline whose expression reads the clock. Raises InvalidSubmission (the reasons) if the plan refuses or
    the new version fails on this case."""
    if moving.refusals:
        raise refused(moving.refusals)
    new_spec, new_subs = new_specs
    _stop(workflow, moving)
    items = {t: (t.data, dict(t.internal_data)) for t in workflow.get_tasks(state=TaskState.READY)
             if t.parent is not None and isinstance(t.parent.task_spec, LoopTask)}
    timers = {t: (dict(t.internal_data), parse_event_value(t._get_internal_data("event_value")))
              for t in workflow.get_tasks(state=TaskState.WAITING) if is_timer(t)}
    try:
        for sub_id, (_spec_diff, diff) in moving._diffs.items():
            each = workflow if sub_id is None else workflow.subprocesses[sub_id]
            migrate_workflow(diff, each, new_spec if sub_id is None else new_subs[each.spec.name])
    except (DomainError, SpiffWorkflowException) as err:  # the reset evaluates the new version's expressions
        raise refused([Refusal("step_fails", getattr(err, "element_id", "") or "?",
                               detail=getattr(err, "message", None) or str(err))]) from err
    workflow.subprocess_specs = dict(new_subs)  # a call activity started later runs the new version's process
    _connect(workflow, (new_spec, *new_subs.values()))
    for task, (data, internal) in items.items():
        task.data, task.internal_data = data, internal
    rearmed = []
    for task, (internal, due_before) in timers.items():
        task.internal_data = internal
        if str(task.id) in moving.rearm:
            start = clock_start(str(task.id))
            engine = engine_at(start)
            rearmed.append(Rearmed(str(task.id), task.task_spec.bpmn_id, due_before, _rearm(task, start, engine),
                                   _properties(task, engine, evaluate)))
    for each in (workflow, *workflow.subprocesses.values()):
        _plan_after_running(each)
    _check_moved(workflow)
    forget_saved_dicts(workflow)  # finished tasks may now refer to a renamed spec: convert them afresh
    return tuple(rearmed)


def _stop(workflow: BpmnWorkflow, moving: Plan) -> None:
    """Drop the waiting boundary events the new version removed from the task the case is at, and the split above
    that task when nothing but the task is left under it and the new version has no split there (the task takes
    the split's place: SpiffWorkflow then plans its path again from the new diagram, without the join)."""
    splits = {}
    for task_id in moving.stop:
        task = workflow.get_task_from_id(UUID(task_id))
        workflow.event_manager.remove_task(task)
        splits[task.parent.id] = task.parent
        task.workflow._remove_task(task.id)
    for split in splits.values():
        removed = any(split in diff.removed for _spec_diff, diff in moving._diffs.values())
        if removed and len(split.children) == 1:
            [host] = split.children
            parent = split.parent
            parent._children[parent._children.index(split.id)] = host.id
            host.parent, split.children = parent, []
            split.workflow.tasks.pop(split.id)


def arm(workflow: BpmnWorkflow, new_specs: ProcessSpecs, moving: Plan, *, ready_at: Callable[[str], datetime],
        engine_at: Callable[[datetime], SandboxedScriptEngine], evaluate: Iterable[str] = (),
        dry_run: bool = False) -> tuple[Armed, ...]:
    """Attach the boundary events the new version adds to the tasks the case is at (``moving.arm``), on the moved
    ``workflow``, once the move has run; return the timers among them, armed. ``ready_at(task_id)``: when the task
    became ready, the clock a timer counts from unless its expression names its start (as a timer armed when the
    task became ready would have). Each event is put WAITING as SpiffWorkflow's split would put it, but without
    asking SpiffWorkflow's wall clock whether it is due: the Timer row the step saves decides, so a due one fires
    on the scheduler's next pass (timers first), not unannounced inside the move.

    ``dry_run``: on the unmoved workflow (the preview's copy), only say which timers would be armed, due when."""
    armed = []
    for host_id, names in moving.arm.items():
        host = workflow.get_task_from_id(UUID(host_id))
        if host is None or not host.has_state(_HOSTS):
            continue  # a deadline that fired in the move ended the task (an interrupting timer)
        start = ready_at(host_id)
        engine = engine_at(start)
        specs = _new_specs_of(host, new_specs, dry_run)
        split = None if dry_run else _split_above(host, _split_of(specs[host.task_spec.name]))
        for name in names:
            spec = specs[name]
            if split is None:
                event = host  # evaluated in the data the event will get: the task's
            else:
                # Predicted with its path, then WAITING: what the split's run does to its boundary events.
                event = Task(host.workflow, spec, split, state=TaskState.MAYBE)
                event.thread_id, event.data = host.thread_id, deepcopy(split.data)
                spec._predict(event)
                event._set_state(TaskState.WAITING)
                workflow.event_manager.add_task(event)
            if is_timer(event) or (dry_run and isinstance(spec.event_definition, TimerEventDefinition)):
                due = _due(event, spec, start, engine, store=not dry_run)
                armed.append(Armed("" if dry_run else str(event.id), spec.bpmn_id, spec.bpmn_name or spec.bpmn_id,
                                   host_id, due, start, _properties_of(spec, event, engine, evaluate)))
    if armed and not dry_run:
        forget_saved_dicts(workflow)
    return tuple(armed)


def _new_specs_of(host: Task, new_specs: ProcessSpecs, dry_run: bool) -> Mapping[str, TaskSpec]:
    if not dry_run:
        return host.workflow.spec.task_specs  # moved: the new version's
    new_spec, new_subs = new_specs
    own = host.workflow
    return (new_spec if own is own.top_workflow else new_subs[own.spec.name]).task_specs


def _split_above(host: Task, split_spec: BoundaryEventSplit | None) -> Task:
    """The completed boundary split above ``host``: the one there, or a new one put between it and its parent."""
    if split_spec is None:
        raise ValueError(f"{host.task_spec.name} has no boundary split in the new version")
    if host.parent is not None and host.parent.task_spec is split_spec:
        return host.parent
    parent = host.parent
    split = Task(host.workflow, split_spec, None, state=TaskState.COMPLETED)
    split.thread_id, split.data = host.thread_id, deepcopy(host.data)
    split.parent = parent
    parent._children[parent._children.index(host.id)] = split.id
    host.parent, split.children = split, [host]
    return split


def _due(event: Task, spec: TaskSpec, start: datetime, engine: SandboxedScriptEngine, *,
         store: bool) -> datetime | None:
    """A new boundary timer's due time from ``start`` (the same arithmetic as a re-armed one); stored on the
    event's task unless ``store`` is false (a dry run evaluates in its host's data)."""
    if store:
        return _rearm(event, start, engine)
    probe = Task(event.workflow, spec, None, state=TaskState.WAITING)
    try:
        probe.data = event.data
        return _rearm(probe, start, engine)
    finally:
        event.workflow.tasks.pop(probe.id, None)


def _properties_of(spec: TaskSpec, task: Task, engine: SandboxedScriptEngine,
                   names: Iterable[str]) -> dict[str, object]:
    properties = (getattr(spec, "extensions", None) or {}).get("properties", {})
    return {name: engine.evaluate(task, properties[name]) for name in names if properties.get(name)}


def _rearm(task: Task, start: datetime, engine: SandboxedScriptEngine) -> datetime | None:
    """The timer's due time under the new expression, from ``start`` (SpiffWorkflow would count a duration from
    its own wall clock, and the expression's clock is the step's)."""
    definition: TimerEventDefinition = task.task_spec.event_definition
    try:
        value = engine.evaluate(task, definition.expression)
        if isinstance(definition, DurationTimerEventDefinition):
            duration = TimerEventDefinition.parse_iso_duration(value)
            value = start + TimerEventDefinition.get_timedelta_from_start(duration, start)
    except (DomainError, SpiffWorkflowException, ValueError) as err:
        raise refused([Refusal("step_fails", task.task_spec.bpmn_id, "waiting", _process_of(task),
                               getattr(err, "message", None) or str(err))]) from err
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    task.internal_data.pop("event_fired", None)
    task._set_internal_data(event_value=text)
    return parse_event_value(text)


def _properties(task: Task, engine: SandboxedScriptEngine, names: Iterable[str]) -> dict[str, object]:
    properties = (getattr(task.task_spec, "extensions", None) or {}).get("properties", {})
    return {name: engine.evaluate(task, properties[name]) for name in names if properties.get(name)}


def _connect(workflow: BpmnWorkflow, specs: Iterable[BpmnProcessSpec]) -> None:
    """The callbacks SpiffWorkflow's deserializer wires, wired to the new specs, so the moved live workflow
    behaves as its saved state loaded in another process: a multi-instance item's completion merges into its
    (new) task, a subprocess's completion reaches its (new) calling task."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, LoopTask):
                item = spec.task_specs[task_spec.task_spec]
                if not item.completed_event.is_connected(task_spec.merge_child):
                    item.completed_event.connect(task_spec.merge_child)
    for sub_id, subprocess in workflow.subprocesses.items():
        host = workflow.get_task_from_id(sub_id)
        subprocess.completed_event.disconnect_all()
        subprocess.completed_event.connect(host.task_spec._on_subworkflow_completed, host)


def _plan_after_running(workflow: BpmnBaseWorkflow) -> None:
    """Plan the path after each running task again from the new diagram, as SpiffWorkflow's reset does after a
    ready or waiting one (whose reset would restart a running task): its planned children are the new outputs,
    each with its descendants predicted anew. Its own instances (a multi-instance's items) are left alone."""
    for task in workflow.get_tasks(state=TaskState.STARTED, skip_subprocesses=True):
        outputs = task.task_spec.outputs
        for child in list(task.children):
            if child.triggered or not all(d.has_state(_PLANNED) for d in child):
                continue
            if child.task_spec in outputs:
                child._drop_children(force=True)
                child.task_spec._predict(child, mask=_PLANNED)
            else:
                workflow._remove_task(child.id)
        planned = {child.task_spec for child in task.children}
        for spec in outputs:
            if spec not in planned:
                child = task._add_child(spec, TaskState.FUTURE)
                spec._predict(child, mask=_PLANNED)


def _check_moved(workflow: BpmnWorkflow) -> None:
    """Every task now refers to a spec of the new version, else its saved state would not load."""
    for each in (workflow, *workflow.subprocesses.values()):
        specs = each.spec.task_specs
        stale = [t for t in each.tasks.values() if specs.get(t.task_spec.name) is not t.task_spec]
        if stale:
            process = None if each is workflow else each.spec.name
            raise refused([Refusal("not_moved", _element(t), _STATES.get(t.state, "planned"), process)
                           for t in stale])


def refused(refusals: Iterable[Refusal]) -> InvalidSubmission:
    reasons = [str(r) for r in refusals]
    return InvalidSubmission({"": reasons}, "This instance cannot move: " + "; ".join(reasons))


def _element(task: Task) -> str:
    return (task.task_spec.bpmn_id or task.task_spec.name).removesuffix(" [child]")


def _process_of(task: Task) -> str | None:
    return None if task.workflow is task.workflow.top_workflow else task.workflow.spec.name
