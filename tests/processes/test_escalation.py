"""Escalation to a person (issue 17): a breached deadline puts "Intervene in overdue complaint" on the head of
complaint management's list with its own deadline; if the head does not act in time it goes to an executive;
a further breach of the same case is a note on the open intervention, not a second task. Time travel only."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.engine.core.errors import InvalidSubmission
from app.engine.models import AuditEvent, User
from app.scheduler import fire_due_timers


def breach_first_response(case, clock):
    cid = case.register()
    clock.advance(hours=25)
    assert fire_due_timers(case.runtime).fired == 1
    return cid


def test_a_breach_asks_the_head_to_intervene_within_the_escalation_response_sla(case, clock):
    cid = breach_first_response(case, clock)
    task = case.task(cid, "intervene_overdue_complaint")
    assert task.lane == "Head of complaint management" and task.candidate_roles == ["head_of_complaints"]
    assert task.due_at == clock.now() + timedelta(hours=24)
    assert case.complaint(cid).escalation_level == 1
    assert any(m.recipient == "head@bank.example" for m in case.messages(cid, "escalation"))


def test_a_second_breach_adds_a_note_to_the_open_intervention(case, clock):
    cid = case.register(category="fund_security")
    clock.advance(hours=25)
    assert fire_due_timers(case.runtime).fired == 1                  # first response breached
    # Urgent: 12 h from receipt, already past when the classification arms it. Timers decide on the step's
    # clock, so the classifying step itself breaches it (as it did on the wall clock in production); nothing
    # is left for the scheduler.
    case.classify(cid, category="fund_security")
    clock.advance(minutes=5)
    assert fire_due_timers(case.runtime).fired == 0
    interventions = [t for t in case.ready(cid) if t.element_id == "intervene_overdue_complaint"]
    assert len(interventions) == 1
    assert [n["sla"] for n in interventions[0].context["escalation_notes"]] == ["urgent_handling"]
    assert [b["sla"] for b in case.complaint(cid).breached_slas] == ["first_response", "urgent_handling"]
    assert case.complaint(cid).escalation_level == 1


def test_the_head_not_acting_in_time_escalates_to_an_executive(case, clock, workflow_cache):
    cache = case.runtime.workflows
    cid = breach_first_response(case, clock)
    clock.advance(hours=24, minutes=1)
    assert fire_due_timers(case.runtime).fired == 1
    names = case.ready_names(cid)
    assert "intervene_overdue_complaint" not in names and "executive_intervention" in names
    task = case.task(cid, "executive_intervention")
    assert task.lane == "Executive"
    assert case.complaint(cid).escalation_level == 2
    assert any(m.recipient == "executive@bank.example" for m in case.messages(cid, "escalation"))
    case.complete(cid, "executive_intervention", {"intervention_action": "instruct",
                                                  "instruction": "Classify it today"},
                  actor=case.actors["executive"])
    [instruction, *_] = case.messages(cid, "instruction")
    assert instruction.body.rstrip().endswith("Classify it today")    # the head's words, under a translated line
    assert case.complaint(cid).tracking_number in instruction.subject
    # Three steps on started instances (the breach, the head's deadline on the escalation, the instruction):
    # warm, each on the workflow this process cached; cold, each deserialized from its row.
    assert (cache.hits, cache.misses) == {"warm": (3, 0), "cold": (0, 3)}[workflow_cache]


def test_the_head_reassigns_the_open_work_to_a_person(case, clock):
    cid = breach_first_response(case, clock)
    case.complete(cid, "intervene_overdue_complaint", {"intervention_action": "reassign", "reassign_user": "intake",
                                                       "instruction": "Ivy, classify it now"},
                  actor=case.actors["head"])
    with case.runtime.unit_of_work() as uow:
        intake = uow.session.scalar(select(User).where(User.username == "intake"))
    assert case.task(cid, "classify_complaint").assignee_id == intake.id
    assert "intervene_overdue_complaint" not in case.ready_names(cid)


def test_an_extension_no_running_deadline_allows_is_refused_and_the_intervention_stays_open(case, clock):
    cid = case.register()
    case.classify(cid)
    case.triage(cid)
    clock.advance(days=15, minutes=1)
    fire_due_timers(case.runtime)                     # the decision deadline fired: nothing left to extend
    task = case.task(cid, "intervene_overdue_complaint")
    with pytest.raises(InvalidSubmission) as refused:
        case.complete(cid, "intervene_overdue_complaint", {"intervention_action": "extend", "extension": "complex_case",
                                                           "instruction": "More time"}, actor=case.actors["head"])
    assert "allowed now: none" in refused.value.errors["extension"][0]
    assert case.task(cid, "intervene_overdue_complaint").id == task.id   # nothing applied, still open
    with case.runtime.unit_of_work() as uow:
        assert not uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "deadline_extended")).all()


def test_the_head_extends_a_running_deadline_from_the_intervention(case, clock):
    cid = breach_first_response(case, clock)     # first response breached; the decision clock will run
    case.classify(cid)
    case.triage(cid)
    before = next(t for t in case.timers(cid) if t.sla == "decision" and t.state == "waiting").due_at
    case.complete(cid, "intervene_overdue_complaint", {"intervention_action": "extend", "extension": "complex_case",
                                                       "instruction": "Records from the card scheme are needed"},
                  actor=case.actors["head"])
    after = next(t for t in case.timers(cid) if t.sla == "decision" and t.state == "waiting").due_at
    assert after == before + timedelta(days=15)
    assert len(case.messages(cid, "extension_notice")) == 1
    assert "intervene_overdue_complaint" not in case.ready_names(cid)
