"""A broken case never stops the others: one run fires every due timer, a failing step becomes one incident on
its case, retried with backoff and resolved when it works again; a step is one transaction."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.engine.access import read_policy
from app.engine.core.errors import NotAllowed, ServiceTaskFailed
from app.engine.models import AuditEvent, Incident, ProcessInstance, Timer
from app.engine.process import incidents, timers
from app.scheduler import fire_due_timers
from app.tasks import OPERATORS

# Each test runs warm and cold (live-workflow cache on, off): tests/conftest.py, WORKFLOW_CACHES.
pytestmark = pytest.mark.both_caches


def _instance_of(runtime, cid) -> int:
    with runtime.unit_of_work() as uow:
        return uow.session.scalar(select(ProcessInstance.id).where(ProcessInstance.complaint_id == cid))


def _poison(runtime, complaint_ids):
    """The escalation's first service task fails for these complaints only (say, a corrupt case file)."""
    def flag_overdue(ctx, sla):
        if ctx.complaint.id in complaint_ids:
            raise RuntimeError(f"case file of complaint {ctx.complaint.id} is unreadable")
        return OPERATORS["flag_overdue"](ctx, sla)
    runtime.operators = {**OPERATORS, "flag_overdue": flag_overdue}


def _incidents(runtime) -> list[Incident]:
    with runtime.unit_of_work() as uow:
        return list(uow.session.scalars(select(Incident).order_by(Incident.id)))


def _first_response(case, cid) -> Timer:
    return next(t for t in case.timers(cid) if t.element_id == "first_response_overdue")


def test_a_poisoned_case_does_not_stop_the_others_and_becomes_one_incident(case, clock):
    cids = [case.register(n) for n in range(3)]
    poisoned = cids[1]
    _poison(case.runtime, {poisoned})
    clock.advance(hours=25)
    report = fire_due_timers(case.runtime)
    assert report.fired == 2 and report.incidents_opened == 1
    assert list(report.failures) == [_instance_of(case.runtime, poisoned)]
    assert "unreadable" in report.failures[_instance_of(case.runtime, poisoned)]
    assert [case.complaint(c).is_overdue for c in cids] == [True, False, True]
    # The failed step was rolled back as a whole: the timer still waits, nothing of the escalation was kept.
    assert _first_response(case, poisoned).state == "waiting"
    with case.runtime.unit_of_work() as uow:
        assert not uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == poisoned,
                                                                AuditEvent.action == "timer_fired")).all()
    [incident] = _incidents(case.runtime)
    assert (incident.kind, incident.state, incident.attempts) == ("service_task", "open", 1)
    assert (incident.complaint_id, incident.element_id) == (poisoned, "flag_overdue_task")
    assert incident.error_type == ServiceTaskFailed.__name__ and "unreadable" in incident.message
    assert incident.first_failed_at == incident.last_failed_at == clock.now()
    assert incident.next_retry_at == clock.now() + timedelta(minutes=1)


def test_a_failing_case_is_retried_with_backoff_updating_one_incident_then_resolved(case, clock):
    cid = case.register()
    _poison(case.runtime, {cid})
    start = clock.advance(hours=25)
    assert fire_due_timers(case.runtime).failed == 1
    clock.advance(seconds=30)  # within the backoff: the case is left alone, the run is clean
    report = fire_due_timers(case.runtime)
    assert (report.fired, report.failed) == (0, 0)
    clock.advance(seconds=31)  # past the first backoff (1 min): retried, fails again
    report = fire_due_timers(case.runtime)
    assert (report.failed, report.incidents_opened) == (1, 0)
    [incident] = _incidents(case.runtime)
    assert incident.attempts == 2 and incident.first_failed_at == start
    assert incident.next_retry_at == clock.now() + timedelta(minutes=2)  # doubled
    case.runtime.operators = OPERATORS  # the cause is fixed
    clock.advance(minutes=1)
    assert fire_due_timers(case.runtime).fired == 0  # still backing off
    clock.advance(minutes=1, seconds=1)
    report = fire_due_timers(case.runtime)
    assert (report.fired, report.failed, report.incidents_resolved) == (1, 0, 1)
    [incident] = _incidents(case.runtime)
    assert (incident.state, incident.resolved_at, incident.next_retry_at) == ("resolved", clock.now(), None)
    assert case.complaint(cid).is_overdue


def test_backoff_doubles_up_to_a_cap():
    assert [incidents.backoff(n) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (1, 2, 4)]
    assert incidents.backoff(30) == incidents.BACKOFF_MAX


def test_open_incidents_are_listed_for_complaint_management_only(case, clock, actors):
    cid = case.register()
    _poison(case.runtime, {cid})
    clock.advance(hours=25)
    fire_due_timers(case.runtime)
    with case.runtime.unit_of_work() as uow:
        for name in ("coordinator", "head", "compliance"):
            [listed] = incidents.list_open(uow, actors[name])
            assert read_policy.incident_view(listed)["complaint_id"] == cid
        for name in ("intake", "approver", "cards.officer", "owner"):
            with pytest.raises(NotAllowed):
                incidents.list_open(uow, actors[name])


def test_one_run_fires_every_due_timer_in_batches(case, clock):
    count = 105  # more than one batch of 100
    cids = [case.register(n) for n in range(count)]
    clock.advance(hours=25)
    report = fire_due_timers(case.runtime)
    assert (report.fired, len(report.instances), report.failed) == (count, count, 0)
    with case.runtime.unit_of_work() as uow:
        assert timers.due_instance_ids(uow, clock.now(), 1000) == []
        escalated = uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "sla_breached"))
    assert escalated == count
    assert all(case.complaint(c).is_overdue for c in cids[::20])


def test_a_small_batch_still_fires_everything(case, clock):
    for n in range(7):
        case.register(n)
    clock.advance(hours=25)
    assert fire_due_timers(case.runtime, batch=2).fired == 7


def test_the_step_is_the_callers_transaction_nothing_half_applied(case, clock):
    """Services never commit: a step whose unit of work fails afterwards leaves no trace."""
    cid = case.register()
    instance_id = _instance_of(case.runtime, cid)
    now = clock.advance(hours=25)
    with pytest.raises(RuntimeError, match="after the step"), case.runtime.unit_of_work() as uow:
        outcome = timers.fire_due_timers_of(uow, instance_id, now)
        assert [f.element_id for f in outcome.fired] == ["first_response_overdue"]
        raise RuntimeError("the command fails after the step")
    assert _first_response(case, cid).state == "waiting"
    complaint = case.complaint(cid)
    assert (complaint.is_overdue, complaint.escalation_level) == (False, 0)
    assert case.messages(cid, "escalation") == []


def test_a_completion_whose_step_raises_keeps_nothing_not_even_the_timer_it_fired(case, clock):
    cid = case.register()
    clock.advance(hours=30)  # the first-response timer is due: the completion fires it first

    def broken(ctx):
        raise RuntimeError("mail gateway down")

    # The overdue first response escalates in this very step (flag_overdue, a service task of the escalation).
    case.runtime.operators = {**OPERATORS, "flag_overdue": broken}
    with pytest.raises(ServiceTaskFailed):
        case.classify(cid)
    assert _first_response(case, cid).state == "waiting"
    assert not case.complaint(cid).is_overdue
    with case.runtime.unit_of_work() as uow:
        actions = {e.action for e in uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid))}
    assert not actions & {"timer_fired", "sla_breached", "task_completed"}
    case.runtime.operators = OPERATORS
    case.classify(cid)
    assert case.complaint(cid).is_overdue
    assert case.ready_names(cid) == ["triage_complaint", "intervene_overdue_complaint"]


def test_every_time_a_step_writes_comes_from_its_clock(case, clock):
    cid = case.register()
    received = case.complaint(cid).received_at
    fired_at = received + timedelta(hours=26)
    clock.advance(hours=40)  # the runtime's clock is elsewhere: the command's own now wins
    assert fire_due_timers(case.runtime, fired_at).fired == 1
    assert _first_response(case, cid).fired_at == fired_at
    with case.runtime.unit_of_work() as uow:
        times = {e.action: e.occurred_at for e in uow.session.scalars(select(AuditEvent).where(
            AuditEvent.complaint_id == cid, AuditEvent.action.in_(("timer_fired", "sla_breached"))))}
    assert times == {"timer_fired": fired_at, "sla_breached": fired_at}
    assert case.complaint(cid).breached_slas[0]["at"] == fired_at.isoformat()


def test_an_incident_names_the_failing_element_through_wrapped_errors():
    from app.engine.core.errors import ScriptFailed
    script = ScriptFailed("The script of 'Compute deadline' failed: ZeroDivisionError", element_id="compute_deadline")
    assert incidents.describe(script) == ("compute_deadline", "ScriptFailed", script.message)
    try:
        try:
            raise ServiceTaskFailed("gateway down", element_id="notify_task", operator="notify")
        except ServiceTaskFailed as inner:
            raise RuntimeError("step failed") from inner
    except RuntimeError as outer:
        assert incidents.describe(outer) == ("notify_task", "RuntimeError", "step failed")
    assert len(incidents.describe(RuntimeError("x" * 5000))[2]) == incidents.MESSAGE_LIMIT
