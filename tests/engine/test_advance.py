"""Advancing a workflow: one engine pass, and another only when the timer refresh closing it made a timer ready
(issue 15: the step used to run two full passes on every advance)."""
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.engine.workflow import runner
from app.engine.workflow.parsing import parse_process
from app.engine.workflow.scripting import SandboxedScriptEngine


def test_a_timer_that_falls_due_during_the_steps_runs_in_the_same_advance():
    """One engine pass per advance, plus another only when the closing timer refresh made a timer ready: here the
    steps "took" past the timer's due time (its due time is moved back when the engine refreshes timers)."""
    source = (Path(__file__).parents[1] / "fixtures" / "engine" / "timer_between_tasks.bpmn").read_bytes()
    spec, subprocess_specs = parse_process({"timer_between_tasks.bpmn": source}, "timer_between_tasks")
    workflow = runner.start(spec, subprocess_specs, SandboxedScriptEngine({}), {})
    [first] = runner.ready_user_tasks(workflow)
    refresh = workflow.refresh_timers
    passes = []  # every engine pass of an advance ends with one timer refresh: count those

    def refresh_late():
        passes.append(len(workflow.event_manager.tasks))
        for task in workflow.event_manager.tasks.values():
            task._set_internal_data(event_value=(datetime.now(UTC) - timedelta(seconds=1)).isoformat())
        refresh()

    workflow.refresh_timers = refresh_late
    runner.complete_user_task(workflow, first.task_id, {})
    assert [t.element_id for t in runner.ready_user_tasks(workflow)] == ["second"]
    assert not runner.snapshot(workflow).timers
    assert passes == [1, 0], "a pass that reached the timer (made ready by its refresh), one that ran it"
    passes.clear()
    runner.complete_user_task(workflow, runner.ready_user_tasks(workflow)[0].task_id, {})
    assert runner.is_completed(workflow)
    assert passes == [0], "no timer made ready: one pass"
