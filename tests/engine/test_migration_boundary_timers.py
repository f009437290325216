"""Migration and the boundary timers of the task a case waits at (issue 24 follow-up): a timer the new version
attaches to that task is armed in the move (its clock from when the task became ready) and fires on the
scheduler's next pass, escalating as the new version says; a waiting timer whose boundary event the new version
removes is stopped (cancelled, the reason in the migration's audit event). Both show in the dry run."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.engine.deadlines.sla import due_at
from app.engine.governance import migration
from app.engine.models import AuditEvent, Timer
from app.scheduler import fire_due_timers
from tests.engine.test_migration import deploy_edited, instance_of, migrated_events, timer

pytestmark = pytest.mark.both_caches

# v2: the approval gets a 24-hour boundary timer (the escalation_response SLA, counted from when the approval
# became ready) that runs the escalation process, as the handling deadline does.
APPROVAL_OVERDUE = '''
<bpmn:boundaryEvent id="approval_overdue" name="Approval overdue" cancelActivity="false" attachedToRef="approve_resolution">
  <bpmn:extensionElements><spiffworkflow:properties>
    <spiffworkflow:property name="sla" value='"escalation_response"' />
  </spiffworkflow:properties></bpmn:extensionElements>
  <bpmn:outgoing>flow_approval_overdue_to_escalate</bpmn:outgoing>
  <bpmn:timerEventDefinition id="approval_overdue_timer">
    <bpmn:timeDate xsi:type="bpmn:tFormalExpression">sla_due_at("escalation_response")</bpmn:timeDate>
  </bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:callActivity id="escalate_approval" name="Escalate overdue approval" calledElement="escalation">
  <bpmn:extensionElements><spiffworkflow:preScript>breached_sla = "escalation_response"</spiffworkflow:preScript>
  </bpmn:extensionElements>
  <bpmn:incoming>flow_approval_overdue_to_escalate</bpmn:incoming>
  <bpmn:outgoing>flow_escalate_approval_to_end</bpmn:outgoing>
</bpmn:callActivity>
<bpmn:endEvent id="approval_escalated" name="Approval escalated">
  <bpmn:incoming>flow_escalate_approval_to_end</bpmn:incoming>
</bpmn:endEvent>
<bpmn:sequenceFlow id="flow_approval_overdue_to_escalate" sourceRef="approval_overdue" targetRef="escalate_approval" />
<bpmn:sequenceFlow id="flow_escalate_approval_to_end" sourceRef="escalate_approval" targetRef="approval_escalated" />
'''


def approval_timer_added(source: str) -> str:
    anchor = '<bpmn:exclusiveGateway id="approval_gateway"'
    assert source.count(anchor) == 1
    return source.replace(anchor, APPROVAL_OVERDUE + anchor)


def feedback_timer_removed(source: str) -> str:
    """No more feedback wait: the customer's answer is awaited however long it takes."""
    removed = re.sub(r'<bpmn:boundaryEvent id="feedback_wait_expired".*?</bpmn:boundaryEvent>', "", source, flags=re.S)
    removed = re.sub(r'<bpmn:sequenceFlow id="flow_feedback_expired_to_no_feedback"[^>]*/>', "", removed)
    removed = re.sub(r'<bpmn:scriptTask id="record_no_feedback".*?</bpmn:scriptTask>', "", removed, flags=re.S)
    removed = re.sub(r'<bpmn:sequenceFlow id="flow_no_feedback_to_close_merge"[^>]*/>', "", removed)
    removed = removed.replace("<bpmn:incoming>flow_no_feedback_to_close_merge</bpmn:incoming>", "")
    removed = re.sub(r"<bpmn:flowNodeRef>(feedback_wait_expired|record_no_feedback)</bpmn:flowNodeRef>", "", removed)
    assert removed.count("feedback_wait_expired") == 0 or "BPMNShape" in removed
    return removed


def preview_of(runtime, owner, instance_id):
    with runtime.unit_of_work() as uow:
        result = migration.preview(uow, owner, "complaint_handling")
    [candidate] = [c for c in result["movable"] if c.instance_id == instance_id]
    return candidate


def migrate(runtime, owner, instance_id, target):
    with runtime.unit_of_work() as uow:
        return migration.migrate_instance(uow, owner, instance_id, target)


def test_a_timer_the_new_version_adds_is_armed_and_fires_on_the_next_scheduler_pass(demo, actors, case, clock):
    approval = case.handle_until_approval()
    ready_at = case.task(approval, "approve_resolution").created_at
    clock.advance(hours=30)  # longer than the new timer's 24 hours: it is due as soon as it is armed
    target = deploy_edited(demo, actors["owner"], approval_timer_added)
    instance = instance_of(demo, approval)[0]
    due = due_at(demo.settings.sla_profile, "escalation_response", ready_at)
    assert due == ready_at + timedelta(hours=24) < clock.now()

    candidate = preview_of(demo, actors["owner"], instance)
    assert candidate.arm == (("approval_overdue", due),) and candidate.stop == ()
    assert candidate.timer_changes == (f"will arm approval_overdue due {due.isoformat()}",)
    assert [t.element_id for t in case.timers(approval) if t.state == "waiting"] == ["handling_deadline_overdue"]

    outcome = migrate(demo, actors["owner"], instance, target)
    assert outcome.fired == ()  # armed in the move, fired by the scheduler's own audited step
    armed = timer(case, approval, "approval_overdue")
    assert (armed.state, armed.sla, armed.due_at, armed.started_at) == ("waiting", "escalation_response", due,
                                                                        ready_at)
    assert case.task(approval, "approve_resolution").due_at == due  # the task's due time follows its timers
    [event] = migrated_events(demo)
    assert event.detail["armed"] == [{"element_id": "approval_overdue", "sla": "escalation_response",
                                      "due_at": due.isoformat(), "started_at": ready_at.isoformat()}]

    report = fire_due_timers(demo)
    assert report.fired == 1 and report.instances == [instance]
    assert timer(case, approval, "approval_overdue").state == "fired"
    with demo.unit_of_work() as uow:
        [fired] = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "timer_fired",
                                                               AuditEvent.complaint_id == approval))
    assert (fired.detail["element_id"], fired.detail["sla"]) == ("approval_overdue", "escalation_response")
    # The new version's path: the escalation, the head's intervention beside the approval still open.
    assert sorted(case.ready_names(approval)) == ["approve_resolution", "intervene_overdue_complaint"]
    # The approval completes through the boundary split the move put above it (SpiffWorkflow's join finds it);
    # handling ends once the escalation begun inside it is over.
    case.complete(approval, "approve_resolution", {"approval_decision": "approve"}, actor=actors["approver"])
    assert case.ready_names(approval) == ["intervene_overdue_complaint"]
    # The approval kept the draft's data through the split the move put above it, stored after it (a cold load
    # restored it empty, and the decision letter lost the approved text).
    [reply] = case.messages(approval, "reply")
    assert "We refunded the fee." in reply.body


def test_an_armed_timer_not_yet_due_waits_for_its_time(demo, actors, case, clock):
    approval = case.handle_until_approval()
    ready_at = case.task(approval, "approve_resolution").created_at
    clock.advance(hours=2)
    target = deploy_edited(demo, actors["owner"], approval_timer_added)
    migrate(demo, actors["owner"], instance_of(demo, approval)[0], target)
    assert timer(case, approval, "approval_overdue").due_at == ready_at + timedelta(hours=24)
    assert fire_due_timers(demo).fired == 0
    clock.advance(hours=22)
    assert fire_due_timers(demo).fired == 1
    assert "intervene_overdue_complaint" in case.ready_names(approval)


def test_a_timer_the_new_version_removes_is_stopped(demo, actors, case, clock):
    feedback = case.handle_until_feedback()
    wait = timer(case, feedback, "feedback_wait_expired")
    target = deploy_edited(demo, actors["owner"], feedback_timer_removed)
    instance = instance_of(demo, feedback)[0]

    candidate = preview_of(demo, actors["owner"], instance)
    assert (candidate.stop, candidate.arm) == (("feedback_wait_expired",), ())
    assert candidate.timer_changes == ("will stop feedback_wait_expired",)
    assert timer(case, feedback, "feedback_wait_expired").state == "waiting"  # the dry run changed nothing

    migrate(demo, actors["owner"], instance, target)
    with demo.unit_of_work() as uow:
        row = uow.session.get(Timer, wait.id)
        assert (row.state, row.fired_at) == ("cancelled", None)
    [event] = migrated_events(demo)
    [stopped] = event.detail["stopped"]
    assert (stopped["element_id"], stopped["sla"], stopped["due_at"]) == ("feedback_wait_expired", "feedback_wait",
                                                                          wait.due_at.isoformat())
    assert "removes this boundary event" in stopped["reason"]
    assert case.complaint(feedback).due_at is None  # no deadline left on the case

    clock.advance(days=30)  # long past the old wait: nothing fires, the customer's answer is still awaited
    assert fire_due_timers(demo).fired == 0
    assert case.ready_names(feedback) == ["record_feedback"]
    case.feedback(feedback, satisfied=True, rating=5)
    assert case.complaint(feedback).status == "closed"
