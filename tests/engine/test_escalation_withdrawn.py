"""Closing a complaint ends its open escalation (issue 17): the diagram's "Complaint closed" is a terminate end
event, so an "Intervene in overdue complaint" still open when the case closes is cancelled, leaves every list,
and the instance completes; the history says the intervention was withdrawn because the complaint closed.
Time travel with the manual clock; SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import etree
from sqlalchemy import select

from app.engine.config.settings import load_settings
from app.engine.models import AuditEvent, ProcessInstance, User, UserTask
from app.engine.work import worklist
from app.scheduler import fire_due_timers

# Each test runs warm and cold (live-workflow cache on, off): tests/conftest.py, WORKFLOW_CACHES.
pytestmark = pytest.mark.both_caches

RECEIVED = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)   # Monday 10:00 in Shanghai
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


@pytest.fixture
def clock(clock):
    clock.set(RECEIVED)
    return clock


def history(case, cid) -> list[AuditEvent]:
    with case.runtime.unit_of_work() as uow:
        return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid)
                                        .order_by(AuditEvent.id)))


def intervention_rows(case, cid) -> list[UserTask]:
    with case.runtime.unit_of_work() as uow:
        return list(uow.session.scalars(select(UserTask).where(
            UserTask.complaint_id == cid, UserTask.element_id.in_(("intervene_overdue_complaint",
                                                                   "executive_intervention")))))


def instance_status(case, cid) -> str:
    with case.runtime.unit_of_work() as uow:
        return uow.session.scalar(select(ProcessInstance.status).where(ProcessInstance.complaint_id == cid))


def breached_then_handled_to_feedback(case, clock) -> int:
    cid = case.register()
    clock.advance(hours=25)
    assert fire_due_timers(case.runtime).fired == 1               # first response breached: the head is asked
    assert "intervene_overdue_complaint" in case.ready_names(cid)
    case.classify(cid)
    case.triage(cid, lead="cards")
    case.investigate(cid, "cards")
    case.draft(cid)
    case.approve(cid)
    assert "intervene_overdue_complaint" in case.ready_names(cid)  # the head has not acted yet
    return cid


def test_closing_the_complaint_withdraws_the_open_intervention_and_completes_the_instance(case, clock):
    cid = breached_then_handled_to_feedback(case, clock)
    case.feedback(cid, True, 4)
    assert case.complaint(cid).status == "closed"
    [row] = intervention_rows(case, cid)
    assert row.state == "cancelled" and row.completed_at == clock.now()
    assert case.ready(cid) == []
    assert instance_status(case, cid) == "completed"
    # its own deadline (the head's escalation_response) stops with it: no executive is asked later
    assert not [t for t in case.timers(cid) if t.state == "waiting"]
    clock.advance(days=3)
    assert fire_due_timers(case.runtime).fired == 0
    assert [r.state for r in intervention_rows(case, cid)] == ["cancelled"]
    assert case.complaint(cid).escalation_level == 1
    # the history says why it went away, after the closing
    actions = [e.action for e in history(case, cid)]
    assert actions.index("intervention_withdrawn") > actions.index("complaint_closed")
    [withdrawn] = [e for e in history(case, cid) if e.action == "intervention_withdrawn"]
    assert withdrawn.detail["reason"] == "complaint_closed"
    assert withdrawn.detail["task_id"] == row.id and withdrawn.detail["element_id"] == "intervene_overdue_complaint"


def head_work_list(case, cid) -> list[str]:
    with case.runtime.unit_of_work() as uow:
        page = worklist.list_tasks(uow, case.actors["head"], view="team", limit=200)
    return [item.name for item in page.items if item.complaint_id == cid]


def test_the_withdrawn_intervention_leaves_the_heads_work_list(case, clock):
    cid = breached_then_handled_to_feedback(case, clock)
    assert head_work_list(case, cid) == ["intervene_overdue_complaint"]
    case.feedback(cid, True, 4)
    assert head_work_list(case, cid) == []


def test_closing_without_feedback_also_withdraws_the_executives_intervention(case, clock):
    cid = breached_then_handled_to_feedback(case, clock)
    clock.advance(hours=24, minutes=1)          # the head did not act: an executive is asked
    fire_due_timers(case.runtime)
    assert "executive_intervention" in case.ready_names(cid)
    clock.advance(days=15)                      # the customer never answers: closed without feedback
    fire_due_timers(case.runtime)
    assert case.complaint(cid).outcome == "no_feedback"
    assert {r.element_id: r.state for r in intervention_rows(case, cid)} == {
        "intervene_overdue_complaint": "cancelled", "executive_intervention": "cancelled"}
    # CBIRC: the closed case waits out its verification window (核查, 30 days after the decision); the signal
    # case_closed has ended the escalation all the same, and the process ends with the window.
    assert instance_status(case, cid) == "running" and case.ready_names(cid) == []
    [withdrawn] = [e for e in history(case, cid) if e.action == "intervention_withdrawn"]
    assert withdrawn.detail["element_id"] == "executive_intervention"
    clock.advance(days=16)
    fire_due_timers(case.runtime)
    assert instance_status(case, cid) == "completed" and case.complaint(cid).status == "closed"


def test_a_case_closed_without_an_escalation_records_no_withdrawal(case, clock):
    cid = case.handle_until_feedback()
    case.feedback(cid, True, 5)
    assert instance_status(case, cid) == "completed"
    assert "intervention_withdrawn" not in [e.action for e in history(case, cid)]


def test_the_diagram_shows_the_closing_as_a_terminate_end_event():
    path = load_settings().processes_dir / "complaint_handling.bpmn"
    root = etree.parse(str(path)).getroot()
    [end] = root.iterfind(f".//{{{BPMN}}}endEvent[@id='complaint_closed']")
    assert end.find(f"{{{BPMN}}}terminateEventDefinition") is not None
    [close] = root.iterfind(f".//{{{BPMN}}}serviceTask[@id='close_complaint_task']")
    documentation = close.findtext(f"{{{BPMN}}}documentation")
    assert "terminate end event" in documentation and "Intervene in overdue complaint" in documentation


def test_escalation_notices_reach_each_person_in_their_own_language(case, clock):
    with case.runtime.unit_of_work() as uow:
        users = {u.username: u for u in uow.session.scalars(select(User))}
        users["head"].locale, users["coordinator"].locale = "zh_CN", "en"
        emails = {name: u.email or u.username for name, u in users.items()}
    cid = case.register()
    clock.advance(hours=25)
    assert fire_due_timers(case.runtime).fired == 1               # first response breached
    sent = {m.recipient: m for m in case.messages(cid, "escalation")}
    head, coordinator = sent[emails["head"]], sent[emails["coordinator"]]
    assert head.subject.startswith("已升级（第 1 级）") and "首次响应" in head.body
    assert coordinator.subject.startswith("Overdue: complaint") and 'deadline "First response"' in coordinator.body
