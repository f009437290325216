"""Timers on the step's clock. SpiffWorkflow 3.2.0 arms and checks timer events against ``datetime.now()``, the
machine's clock; a step runs on its own (``steps.now``, the runtime's Clock that tests move): a case whose clock is
behind the machine's would see every deadline as long past and escalate at once (issue 26), one ahead would wait
for the machine to catch up. These subclasses make the same decisions as SpiffWorkflow's, on the step's clock: the
one the workflow's script engine carries (``SandboxedScriptEngine.clock``).

The parser builds SpiffWorkflow's own classes; ``use_step_clock`` swaps them for these on every parsed spec, and
``register`` makes the serializer restore them (and write them) under SpiffWorkflow's own type names, so stored
specs and states are unchanged either way.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)

if TYPE_CHECKING:
    from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
    from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
    from SpiffWorkflow.task import Task


def step_now(task: Task) -> datetime:
    """The clock of the step running ``task``'s workflow; the machine's for a script engine without one (a bare
    workflow driven outside a step, as some engine tests do)."""
    clock = getattr(task.workflow.script_engine, "clock", None)
    return clock.now() if clock is not None else datetime.now(UTC)


def _due(task: Task, due: datetime) -> bool:
    # Due *by* the step's clock, as the engine's timer rows are (steps._fire_due_timers): one rule for both.
    if due <= step_now(task):
        task._set_internal_data(event_fired=True)
    return bool(task._get_internal_data("event_fired", False))


class StepClockTimeDate(TimeDateEventDefinition):
    """A timer at a date and time (our SLA timers: ``sla_due_at(...)``), due by the step's clock."""

    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            my_task._set_internal_data(event_value=event_value)
        return _due(my_task, TimerEventDefinition.parse_time_or_duration(event_value))


class StepClockDuration(DurationTimerEventDefinition):
    """A timer after a duration, counted from the step that armed it, due by the step's clock."""

    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            duration = TimerEventDefinition.parse_iso_duration(expression)
            start = step_now(my_task)
            event_value = (start + TimerEventDefinition.get_timedelta_from_start(duration, start)).isoformat()
            my_task._set_internal_data(event_value=event_value)
        return _due(my_task, TimerEventDefinition.get_datetime(event_value))


class StepClockCycle(CycleTimerEventDefinition):
    """A recurring timer: its first time (when the expression gives none) and each repetition on the step's clock."""

    def cycle_complete(self, my_task):
        # As SpiffWorkflow 3.2.0's, with the step's clock for "now".
        now = step_now(my_task)
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            cycles, start, duration = _recurring_interval(expression, now)
            event_value = {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= now:
                event_value["next"] = (next_event + timedelta(seconds=event_value["duration"])).isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


def _recurring_interval(expression: str, now: datetime) -> tuple[int, datetime, timedelta]:
    """SpiffWorkflow's parse of ``R<n>/<start>/<duration>`` (and the other forms), but an interval without a start
    or an end starts one interval after the step's ``now`` instead of the machine's."""
    components = expression.upper().replace("--", "/").strip("R").split("/")
    if len(components) == 2 and components[1].startswith("P"):
        cycles = int(components[0]) if components[0] else -1
        duration = TimerEventDefinition.get_timedelta_from_start(
            TimerEventDefinition.parse_iso_duration(components[1]), now)
        return cycles, now + duration, duration
    return TimerEventDefinition.parse_iso_recurring_interval(expression)


# SpiffWorkflow's class -> ours. Subclasses: every isinstance check (SpiffWorkflow's, migrate.py's) still holds.
_ON_STEP_CLOCK: dict[type, type] = {
    TimeDateEventDefinition: StepClockTimeDate,
    DurationTimerEventDefinition: StepClockDuration,
    CycleTimerEventDefinition: StepClockCycle,
}


def use_step_clock(*specs: BpmnProcessSpec) -> None:
    """Make the timers of freshly parsed ``specs`` decide on the step's clock (they add no state: the objects stay,
    only their class changes)."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            for each in (definition, *getattr(definition, "event_definitions", ())):  # a multiple event's parts
                ours = _ON_STEP_CLOCK.get(type(each))
                if ours is not None:
                    each.__class__ = ours


def register(registry: DefaultRegistry) -> None:
    """Write our timer classes under SpiffWorkflow's type names and restore those names as ours (registered after
    SpiffWorkflow's own, so the restore of ``TimeDateEventDefinition`` etc. builds the step-clock classes)."""
    for theirs, ours in _ON_STEP_CLOCK.items():
        TimerConditionalEventDefinitionConverter(ours, registry, theirs.__name__)
