"""SLA timers: due times stored as rows, fired by our clock through fire_due_timers, never slept for."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.composition import build_runtime
from app.engine.core.errors import Conflict
from app.engine.models import AuditEvent, UserTask
from app.scheduler import fire_due_timers

# Each test runs warm and cold (live-workflow cache on, off): tests/conftest.py, WORKFLOW_CACHES.
pytestmark = pytest.mark.both_caches


def _waiting(case, cid, element_id):
    return [t for t in case.timers(cid) if t.element_id == element_id and t.state == "waiting"]


def test_first_response_timer_is_a_row_due_24_hours_after_receipt(case):
    cid = case.register()
    complaint = case.complaint(cid)
    [timer] = _waiting(case, cid, "first_response_overdue")
    assert timer.due_at == complaint.received_at + timedelta(hours=24)
    assert case.task(cid, "classify_complaint").due_at == timer.due_at
    assert complaint.due_at == timer.due_at


def test_nothing_fires_before_the_deadline(case, clock):
    cid = case.register()
    clock.advance(hours=23, minutes=59)
    assert fire_due_timers(case.runtime).fired == 0
    assert not case.complaint(cid).is_overdue


def test_passed_first_response_deadline_starts_the_escalation(case, clock):
    cid = case.register()
    clock.advance(hours=25)
    report = fire_due_timers(case.runtime)
    assert report.fired == 1 and report.failures == {}
    complaint = case.complaint(cid)
    assert complaint.is_overdue
    assert [b["sla"] for b in complaint.breached_slas] == ["first_response"]
    assert complaint.escalation_level == 1
    recipients = {m.recipient for m in case.messages(cid, "escalation")}
    assert {"coordinator@bank.example", "head@bank.example"} <= recipients
    # Non-interrupting: the overdue task is still there to be done; the head is asked to intervene.
    assert case.ready_names(cid) == ["classify_complaint", "intervene_overdue_complaint"]
    assert [t.state for t in case.timers(cid) if t.element_id == "first_response_overdue"] == ["fired"]
    # Firing again does nothing: the timer is no longer waiting.
    assert fire_due_timers(case.runtime).fired == 0


def test_due_timer_fires_before_the_completion_of_its_task_is_applied(case, clock):
    """SpiffWorkflow cancels a boundary timer whose host completes first: an overdue SLA would vanish."""
    cid = case.register()
    clock.advance(hours=30)  # nobody ran the scheduler
    case.classify(cid)
    complaint = case.complaint(cid)
    assert complaint.is_overdue and [b["sla"] for b in complaint.breached_slas] == ["first_response"]
    assert case.ready_names(cid) == ["triage_complaint", "intervene_overdue_complaint"]
    with case.runtime.unit_of_work() as uow:
        actions = [e.action for e in uow.session.scalars(select(AuditEvent).where(
            AuditEvent.complaint_id == cid).order_by(AuditEvent.id))]
    assert actions.index("timer_fired") < actions.index("task_completed")


def test_urgent_case_escalates_after_12_hours(case, clock):
    cid = case.register(category="fund_security")
    case.classify(cid, category="fund_security")
    clock.advance(hours=11)
    assert fire_due_timers(case.runtime).fired == 0
    clock.advance(hours=2)
    assert fire_due_timers(case.runtime).fired == 1
    assert [b["sla"] for b in case.complaint(cid).breached_slas] == ["urgent_handling"]
    assert case.ready_names(cid) == ["triage_complaint", "intervene_overdue_complaint"]


def test_decision_deadline_escalates_after_15_days_and_the_case_goes_on(case, clock):
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards")
    clock.advance(days=15, minutes=1)
    assert fire_due_timers(case.runtime).fired == 1
    assert [b["sla"] for b in case.complaint(cid).breached_slas] == ["decision"]
    case.investigate(cid, "cards")
    case.draft(cid)
    case.approve(cid)
    case.feedback(cid, True, 3)
    assert case.complaint(cid).outcome == "resolved"


def test_handling_deadline_is_cancelled_when_handling_finishes_in_time(case):
    cid = case.handle_until_feedback()
    [handling] = [t for t in case.timers(cid) if t.element_id == "handling_deadline_overdue"]
    assert handling.state == "cancelled"
    assert [t.element_id for t in case.timers(cid) if t.state == "waiting"] == ["feedback_wait_expired"]


def test_no_feedback_within_the_wait_closes_the_case(case, clock):
    cid = case.handle_until_feedback()
    clock.advance(days=7, seconds=1)
    assert fire_due_timers(case.runtime).fired == 1
    complaint = case.complaint(cid)
    assert (complaint.status, complaint.outcome, complaint.customer_satisfied) == ("closed", "no_feedback", None)
    assert case.ready(cid) == []


def test_late_feedback_is_refused_once_the_wait_has_expired_and_the_closure_is_kept(case, clock):
    cid = case.handle_until_feedback()
    task = case.task(cid, "record_feedback")
    clock.advance(days=8)  # the scheduler has not run yet
    from app.engine.work.user_tasks import complete_user_task
    with case.runtime.unit_of_work() as uow:  # no exception: the step commits the firing
        outcome = complete_user_task(uow, case.actor_for(task), task.id,
                                     {"customer_satisfied": True, "satisfaction_rating": 5})
    assert not outcome.completed and "deadline passed" in outcome.refused
    assert [f.element_id for f in outcome.fired] == ["feedback_wait_expired"]
    with pytest.raises(Conflict, match="deadline passed"):
        outcome.raise_if_refused()
    complaint = case.complaint(cid)
    assert (complaint.status, complaint.outcome) == ("closed", "no_feedback")
    with case.runtime.unit_of_work() as uow:
        assert uow.session.get(UserTask, task.id).state == "cancelled"
        actions = [e.action for e in uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid))]
    assert "timer_fired" in actions and actions.count("task_completed") == 5  # the feedback is not recorded


def test_a_restarted_process_fires_timers_from_the_database_alone(case, clock):
    cid = case.register()
    clock.advance(hours=25)
    restarted = build_runtime(case.runtime.database.url, clock=clock)  # new process: empty caches
    try:
        assert fire_due_timers(restarted).fired == 1
    finally:
        restarted.close()
    assert case.complaint(cid).is_overdue


def test_fire_due_timers_takes_an_explicit_now(case):
    cid = case.register()
    received = case.complaint(cid).received_at
    assert fire_due_timers(case.runtime, received + timedelta(hours=23)).fired == 0
    assert fire_due_timers(case.runtime, received + timedelta(hours=24, seconds=1)).fired == 1
