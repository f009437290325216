"""An overdue task keeps its deadline (issue 27, item 1): once a non-interrupting deadline fires, the task it
bounds keeps the breached due time and is overdue since then, in the work list, its overdue filter and badge."""
from datetime import timedelta

import pytest

from app.engine.process import diagram_state
from app.engine.work import worklist
from app.engine.work.worklist import TaskFilters
from app.scheduler import fire_due_timers

# Each test runs warm and cold (live-workflow cache on, off): tests/conftest.py, WORKFLOW_CACHES.
pytestmark = pytest.mark.both_caches


def _items(runtime, actor, **filters):
    with runtime.unit_of_work() as uow:
        return worklist.list_tasks(uow, actor, view="all", filters=TaskFilters(**filters)).items


def _classify_item(case, actors, cid, **filters):
    task = case.task(cid, "classify_complaint")
    return next((i for i in _items(case.runtime, actors["coordinator"], **filters) if i.id == task.id), None)


def test_classify_keeps_the_breached_first_response_deadline_and_is_overdue(case, actors, clock):
    # Received two hours before it was registered: the clock runs from receipt, not from the task's creation.
    cid = case.register(received_at=(clock.now() - timedelta(hours=2)).isoformat())
    due = case.task(cid, "classify_complaint").due_at
    assert due is not None and _classify_item(case, actors, cid, overdue=True) is None
    clock.advance(hours=23)
    assert fire_due_timers(case.runtime).fired == 1
    assert case.complaint(cid).is_overdue
    assert case.task(cid, "classify_complaint").due_at == due    # not "—": the deadline it breached
    item = _classify_item(case, actors, cid, overdue=True)       # "Overdue only" finds it
    assert item is not None and item.due_at == due
    assert item.is_overdue and item.sla_state == "breached"
    assert item.sla_started_at == case.complaint(cid).received_at   # the first-response clock, not the task's row
    assert item.as_dict()["is_overdue"] is True
    # The complaint page's diagram applies the same rule: the open task is drawn overdue, not merely active.
    with case.runtime.unit_of_work() as uow:
        states = diagram_state.element_states(uow, actors["coordinator"], cid)
    assert states["classify_complaint"]["state"] == "overdue"


def test_the_breached_deadline_survives_later_steps_until_the_task_is_done(case, actors, clock):
    cid = case.register()
    due = case.task(cid, "classify_complaint").due_at
    clock.advance(hours=25)
    fire_due_timers(case.runtime)
    # Another step of the case (the head's intervention task is completed elsewhere) re-saves the ready rows.
    clock.advance(hours=30)
    fire_due_timers(case.runtime)   # the head's own deadline fires: a later step of the same instance
    assert case.task(cid, "classify_complaint").due_at == due
    assert _classify_item(case, actors, cid, overdue=True) is not None
    case.classify(cid)
    triage = case.task(cid, "triage_complaint")
    # The next task is not overdue for the breach of its predecessor: its own clocks bound it.
    assert triage.due_at is None or triage.due_at > clock.now()


def test_a_deadline_that_passed_while_nobody_ran_the_scheduler_is_kept_too(case, actors, clock):
    cid = case.register()
    due = case.task(cid, "classify_complaint").due_at
    clock.advance(days=2)
    [item] = [i for i in _items(case.runtime, actors["coordinator"], overdue=True)
              if i.name == "classify_complaint"]
    assert item.due_at == due and item.is_overdue
    fire_due_timers(case.runtime)
    assert case.task(cid, "classify_complaint").due_at == due
    assert due + timedelta(days=1) <= clock.now()
