"""processes/mail_intake.bpmn run through the real services, warm and cold (tests/processes/conftest.py): the
intake desk's "Complete registration" registers the complaint or closes the mail, with the stored workflow
reloaded between the steps."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.engine.core.actors import SYSTEM
from app.engine.core.errors import InvalidSubmission
from app.engine.intake.mail import take_in
from app.engine.models import AuditEvent, Complaint, InboundMessage, ProcessInstance, UserTask
from app.engine.work import user_tasks
from app.intake.parsing import parse

HTML_ONLY = Path(__file__).resolve().parents[1] / "fixtures" / "mail" / "html_only.eml"
ANSWER = {"intake_decision": "register", "customer_name": "Jing Chen", "customer_contact": "jing.chen@example.org",
          "product": "credit_card", "category": "service_quality",
          "description": "The branch refused my cash deposit on 1 December."}


def started(runtime) -> tuple[int, int]:
    with runtime.unit_of_work() as uow:
        taken = take_in(uow, SYSTEM, parse(HTML_ONLY.read_bytes()), "maildir")
        task = uow.session.scalars(select(UserTask).where(UserTask.instance_id == taken.instance_id)).one()
        return taken.instance_id, task.id


def complete(runtime, actor, task_id: int, data: dict) -> None:
    with runtime.unit_of_work() as uow:
        user_tasks.complete_user_task(uow, actor, task_id, data)


def test_complete_registration_registers_the_complaint_and_ends_the_intake(demo, actors):
    instance_id, task_id = started(demo)
    complete(demo, actors["intake"], task_id, ANSWER)
    with demo.unit_of_work() as uow:
        complaint = uow.session.scalars(select(Complaint)).one()
        assert (complaint.channel, complaint.status) == ("email", "classifying")   # its own process runs
        intake = uow.session.get_one(ProcessInstance, instance_id)
        assert (intake.status, intake.complaint_id) == ("completed", None)   # the case's process is its own
        assert uow.session.scalars(select(InboundMessage)).one().complaint_id == complaint.id


def test_a_registration_the_service_refuses_keeps_the_task_open(demo, actors):
    _instance_id, task_id = started(demo)
    with pytest.raises(InvalidSubmission) as refused:
        complete(demo, actors["intake"], task_id, {**ANSWER, "customer_contact": "not an address@"})
    assert "customer_contact" in refused.value.errors
    with demo.unit_of_work() as uow:
        assert uow.session.get_one(UserTask, task_id).state == "ready"
        assert uow.session.scalars(select(Complaint)).all() == []
    complete(demo, actors["intake"], task_id, ANSWER)   # corrected, it goes through


def test_not_a_complaint_needs_a_reason_and_closes_the_mail(demo, actors):
    instance_id, task_id = started(demo)
    with pytest.raises(InvalidSubmission):
        complete(demo, actors["intake"], task_id, {"intake_decision": "not_a_complaint"})
    complete(demo, actors["coordinator"], task_id, {"intake_decision": "not_a_complaint",
                                                    "not_complaint_reason": "A question about opening hours"})
    with demo.unit_of_work() as uow:
        assert uow.session.get_one(ProcessInstance, instance_id).status == "completed"
        assert uow.session.scalars(select(InboundMessage)).one().outcome == "not_a_complaint"
        assert uow.session.scalars(select(Complaint)).all() == []
        [event] = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "mail_not_a_complaint"))
        assert event.instance_id == instance_id
