"""Timers are decided by the step's clock (the runtime's Clock), never by the machine's: a case on a clock behind
the wall clock (a back-dated case, a test clock in the past) does not escalate straight away, and one on a clock
ahead of it fires when that clock passes the due time. Issue 26."""
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from app.engine.core.clock import ManualClock
from app.engine.workflow import runner
from app.engine.workflow.parsing import parse_process
from app.engine.workflow.scripting import SandboxedScriptEngine
from app.engine.workflow.serialization import dump_specs, load_specs
from app.engine.workflow.timer_clock import StepClockCycle, StepClockDuration, StepClockTimeDate
from app.scheduler import fire_due_timers

# Each test runs warm and cold (live-workflow cache on, off): tests/conftest.py, WORKFLOW_CACHES.
pytestmark = pytest.mark.both_caches

WALL = datetime.now(UTC)
BEHIND = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)   # the test clock: months behind the machine's
AHEAD = WALL.replace(microsecond=0) + timedelta(days=400)
PROCESSES = Path(__file__).parents[2] / "processes"


@pytest.fixture(params=["behind", "ahead"])
def clock(request) -> ManualClock:
    """This module's runtimes run on a clock far from the machine's, in both directions."""
    start = BEHIND if request.param == "behind" else AHEAD
    assert abs(start - WALL) > timedelta(days=30)  # the point of the test: the two clocks disagree by weeks
    return ManualClock(start)


def _first_response(case, cid):
    [timer] = [t for t in case.timers(cid) if t.element_id == "first_response_overdue"]
    return timer


def test_a_case_on_a_clock_far_from_the_wall_clock_does_not_escalate_on_registration(case, clock):
    cid = case.register()
    complaint = case.complaint(cid)
    assert not complaint.is_overdue and complaint.escalation_level == 0
    assert case.ready_names(cid) == ["classify_complaint"]
    assert [t.state for t in case.timers(cid)] == ["waiting"] * len(case.timers(cid))
    assert case.messages(cid, "escalation") == []
    assert _first_response(case, cid).due_at == clock.now() + timedelta(hours=24)


def test_a_timer_fires_when_the_step_clock_passes_its_due_time_and_not_before(case, clock):
    cid = case.register()
    due = _first_response(case, cid).due_at
    clock.set(due - timedelta(seconds=1))
    assert fire_due_timers(case.runtime).fired == 0
    case.classify(cid)  # a step of its own that also refreshes the timers: nothing fires early in it either
    assert not case.complaint(cid).is_overdue
    assert case.ready_names(cid) == ["triage_complaint"]
    clock.set(due + timedelta(seconds=1))
    assert fire_due_timers(case.runtime).fired == 0  # classified in time: its deadline was cancelled
    assert case.complaint(cid).escalation_level == 0


def test_an_unclassified_case_escalates_once_the_step_clock_passes_the_deadline(case, clock):
    cid = case.register()
    due = _first_response(case, cid).due_at
    clock.set(due - timedelta(seconds=1))
    assert fire_due_timers(case.runtime).fired == 0
    assert case.ready_names(cid) == ["classify_complaint"]
    clock.set(due + timedelta(seconds=1))
    assert fire_due_timers(case.runtime).fired == 1
    complaint = case.complaint(cid)
    assert complaint.is_overdue and [b["sla"] for b in complaint.breached_slas] == ["first_response"]
    assert case.ready_names(cid) == ["classify_complaint", "intervene_overdue_complaint"]


def _timer_specs(spec):
    return [s.event_definition for s in spec.task_specs.values()
            if isinstance(getattr(s, "event_definition", None), TimerEventDefinition)]


def test_stored_specs_keep_spiffworkflows_type_names_and_restore_on_the_step_clock():
    """A definition deployed before this change restores with step-clock timers; one stored now reads the same."""
    files = {name: (PROCESSES / name).read_bytes() for name in ("complaint_handling.bpmn", "escalation.bpmn")}
    spec, subprocess_specs = parse_process(files, "complaint_handling")
    parsed = _timer_specs(spec)
    assert parsed and {type(d) for d in parsed} <= {StepClockTimeDate, StepClockDuration, StepClockCycle}
    stored = dump_specs(spec, subprocess_specs)
    assert "StepClock" not in stored and '"typename": "TimeDateEventDefinition"' in stored
    restored, _ = load_specs(stored)
    assert [type(d) for d in _timer_specs(restored)] == [type(d) for d in parsed]


def test_a_bare_duration_timer_is_armed_and_fired_on_the_engines_clock():
    """A duration timer counts from the step's clock (SpiffWorkflow used the machine's) and is due by it."""
    source = (Path(__file__).parents[1] / "fixtures" / "engine" / "timer_between_tasks.bpmn").read_bytes()
    spec, subprocess_specs = parse_process({"timer_between_tasks.bpmn": source}, "timer_between_tasks")
    clock = ManualClock(BEHIND)
    workflow = runner.start(spec, subprocess_specs, SandboxedScriptEngine({}, clock=clock), {})
    [first] = runner.ready_user_tasks(workflow)
    runner.complete_user_task(workflow, first.task_id, {})
    [timer] = runner.snapshot(workflow).timers
    assert timer.due_at is not None and BEHIND < timer.due_at < BEHIND + timedelta(days=30)
    clock.set(timer.due_at - timedelta(seconds=1))
    runner.advance(workflow)
    assert runner.ready_user_tasks(workflow) == [] and len(runner.snapshot(workflow).timers) == 1
    clock.set(timer.due_at)
    runner.advance(workflow)
    assert [t.element_id for t in runner.ready_user_tasks(workflow)] == ["second"]


def test_a_deadline_already_past_when_armed_fires_in_that_step_with_its_row_and_event(case, clock):
    """Received three days before it was registered: the 24-hour first response had passed when the case began.
    The timer fires in the registration step, never waiting; its row (fired) and its timer_fired event are
    written like any other, so the case's clocks and history show the breach (they read the rows)."""
    from sqlalchemy import select

    from app.engine.models import AuditEvent
    from app.engine.process import diagram_state

    cid = case.register(received_at=(clock.now() - timedelta(days=3)).isoformat())
    timer = _first_response(case, cid)
    assert (timer.state, timer.sla, timer.fired_at) == ("fired", "first_response", clock.now())
    assert timer.due_at == clock.now() - timedelta(days=2)
    assert [b["sla"] for b in case.complaint(cid).breached_slas] == ["first_response"]
    with case.runtime.unit_of_work() as uow:
        events = list(uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid,
                                                                   AuditEvent.action == "timer_fired")))
        clocks = diagram_state.clocks(uow, case.actors["coordinator"], cid)
    assert [(e.detail["element_id"], e.detail["when_armed"]) for e in events] == [("first_response_overdue", True)]
    assert any(c.sla == "first_response" and c.breached for c in clocks)
    fire_due_timers(case.runtime)        # nothing left to fire: it fired once
    assert len([t for t in case.timers(cid) if t.element_id == "first_response_overdue"]) == 1
