"""Fields that reached the wrong reader (issue 25, H2 / M6 / L6): a finished task read by a lane's role, the
internal resolution summary printed in the decision letter, what people wrote as reasons and instructions in
the department officers' history. Each test plants a marker where the data lives and looks for it where it must
not go, through the engine's own services."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.engine.access import read_policy
from app.engine.core.errors import NotAllowed
from app.engine.identity import users
from app.engine.models import AuditEvent, Complaint, UserTask
from app.engine.work import assignments, user_tasks
from tests.support import DRAFT, CaseDriver


@pytest.fixture
def driver(demo, actors):
    return CaseDriver(demo, actors)


@pytest.fixture
def second_intake(demo):
    """An intake agent who worked on none of the cases."""
    with demo.unit_of_work() as uow:
        user = users.upsert_user(uow, "intake2", "intake2-demo-password", display_name="Second Intake",
                                 roles=["intake_agent"])
        return users.actor_for(user)


def _completed(demo, complaint_id: int, element_id: str) -> UserTask:
    with demo.unit_of_work() as uow:
        return uow.session.scalars(select(UserTask).where(
            UserTask.complaint_id == complaint_id, UserTask.element_id == element_id,
            UserTask.state == "completed")).one()


def test_a_finished_task_is_read_only_by_those_who_read_its_case(demo, driver, actors, second_intake):
    cid = driver.handle_until_approval()
    classify = _completed(demo, cid, "classify_complaint")
    with demo.unit_of_work() as uow:
        # The desk that classified it reads it (the case is in its scope: it completed a task of it) ...
        opened = assignments.open_task(uow, actors["intake"], classify.id)
        assert opened.task.id == classify.id
        # ... another intake agent does not: the lane's role is no key to a finished task's case file.
        assert not read_policy.may_read_complaint(uow, second_intake, uow.session.get(Complaint, cid))
        with pytest.raises(NotAllowed) as refused:
            assignments.open_task(uow, second_intake, classify.id)
        # The refusal says nothing of the task (its title or state) to someone who may not read it.
        assert "Classify" not in refused.value.message
        with pytest.raises(NotAllowed):
            user_tasks.get_task(uow, second_intake, classify.id)
    with demo.unit_of_work() as uow, pytest.raises(NotAllowed) as refused:
        user_tasks.complete_user_task(uow, second_intake, classify.id, {})
    assert "completed" not in refused.value.message  # not a 409 that tells the state


def test_a_waiting_task_of_the_desk_stays_open_to_every_agent_of_the_desk(demo, driver, second_intake):
    cid = driver.register()
    classify = driver.task(cid, "classify_complaint")
    with demo.unit_of_work() as uow:
        opened = assignments.open_task(uow, second_intake, classify.id)
        assert opened.may_work


def test_the_decision_letter_prints_what_was_written_for_the_customer_only(demo, driver):
    cid = driver.handle_until_approval()
    driver.complete(cid, "approve_resolution", {"approval_decision": "approve"})
    reply = driver.messages(cid, "reply")[0]
    assert "We refunded the fee." in reply.body          # the approved message to the customer
    # The draft's resolution_summary ("Refund", internal to the case file) is not "the facts we checked".
    assert "The facts we checked" not in reply.body


def test_the_summary_never_reaches_the_letter_whatever_it_says(demo, driver):
    cid = driver.handle_until_approval()
    # Redraft with a planted summary after a rejection, then approve.
    driver.reject(cid, "Say more")
    driver.complete(cid, "draft_resolution", {**DRAFT, "resolution_summary": "MARKINTERNALSUMMARY posting error by ops",
                                              "remedy_type": "monetary_redress", "redress_amount": "25.00",
                                              "customer_message": "MARKFORCUSTOMER we refunded"})
    driver.approve(cid)
    body = driver.messages(cid, "reply")[0].body
    assert "MARKFORCUSTOMER" in body
    assert "MARKINTERNALSUMMARY" not in body


def test_letter_facts_keep_only_the_customer_classes():
    facts = read_policy.letter_facts({"customer_message": "m", "facts_checked": "f", "decision_basis": "b",
                                      "redress_amount": "1", "resolution_summary": "internal",
                                      "findings": ["x"], "approval_comment": "c", "triage_note": "t",
                                      "unclassified_new_field": "u", "tracking_number": "T-1"})
    assert set(facts) == {"customer_message", "facts_checked", "decision_basis", "redress_amount",
                          "tracking_number"}


def test_reasons_and_instructions_stay_out_of_the_department_history(demo, driver, actors):
    cid = driver.handle_until_approval()
    with demo.unit_of_work() as uow:
        event = uow.session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid)
                                    .order_by(AuditEvent.id.desc())).first()
        # What the head wrote, as the escalation and the extension record it (planted on a real entry).
        event.detail = {**(event.detail or {}), "reason": "MARKREASON", "instruction": "MARKINSTRUCTION",
                        "comment": "MARKCOMMENT", "sla": "decision"}
    for username, sees in (("cards.officer", False), ("head", True), ("compliance", True)):
        with demo.unit_of_work() as uow:
            view = read_policy.complaint_view(uow, actors[username], uow.session.get(Complaint, cid))
        text = repr(view["history"])
        for marker in ("MARKREASON", "MARKINSTRUCTION", "MARKCOMMENT"):
            assert (marker in text) is sees, (username, marker)
        assert "'sla': 'decision'" in text  # bookkeeping stays in the case file


def test_the_process_diagram_is_the_case_file(demo, driver, actors):
    cid = driver.register(1)
    from app.engine.complaints import registration
    from app.engine.demo.simulation import sample_registration
    from app.engine.process import diagram_state
    with demo.unit_of_work() as uow:
        own = registration.register_complaint(uow, actors["customer"], sample_registration(7)).id
    with demo.unit_of_work() as uow:
        assert "<bpmn" in diagram_state.definition_xml(uow, actors["coordinator"], cid).lower()
        for read in (diagram_state.definition_xml, diagram_state.element_states):
            with pytest.raises(NotAllowed):
                read(uow, actors["customer"], own)
        clocks = diagram_state.clocks(uow, actors["customer"], own)
        assert clocks and all(c.sla in read_policy.PUBLIC_SLAS for c in clocks)
