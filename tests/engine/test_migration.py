"""Migrating running instances to a newer version (issue 18): a case waiting at a task that exists in both
versions moves and finishes its lifecycle on the new version; a case waiting at a removed task stays, with the
reason. Real edited copies of processes/complaint_handling.bpmn, deployed through definitions.deploy."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.engine.core.errors import InvalidSubmission, NotAllowed
from app.engine.governance import definitions, migration
from app.engine.models import AuditEvent, ProcessDefinition, ProcessInstance, UserTask

# Each test runs warm and cold (live-workflow cache on, off): tests/conftest.py, WORKFLOW_CACHES.
pytestmark = pytest.mark.both_caches


def new_version(runtime, actor):
    """v2: the reopening decision renamed (a removed task for cases waiting there) and the approval moved from
    the Approver lane to Complaint management (so a migrated case visibly follows the new version)."""
    files = definitions.read_directory(runtime.settings.processes_dir)
    source = files["complaint_handling.bpmn"].decode()
    source = re.sub(r'(?<=[">])decide_reopen(?=["<])', "decide_reopen_v2", source)
    ref = "<bpmn:flowNodeRef>approve_resolution</bpmn:flowNodeRef>"
    anchor = "<bpmn:flowNodeRef>triage_complaint</bpmn:flowNodeRef>"
    source = source.replace(ref, "").replace(anchor, anchor + ref)
    files["complaint_handling.bpmn"] = source.encode()
    with runtime.unit_of_work() as uow:
        return next(d.id for d in definitions.deploy(uow, actor, files) if d.process_id == "complaint_handling")


def instance_of(runtime, complaint_id):
    with runtime.unit_of_work() as uow:
        row = uow.session.scalars(select(ProcessInstance).where(ProcessInstance.complaint_id == complaint_id)).one()
        return row.id, uow.session.get(ProcessDefinition, row.definition_id).version


def two_running_cases(case) -> tuple[int, int]:
    """One complaint waiting at the approval (movable to new_version), one at the reopening decision (whose task
    new_version removes)."""
    waiting_at_approval = case.register()
    case.classify(waiting_at_approval)
    case.triage(waiting_at_approval, lead="cards")
    case.investigate(waiting_at_approval, "cards")
    case.draft(waiting_at_approval)
    reopened = case.handle_until_feedback()
    case.feedback(reopened, satisfied=False, rating=1)
    return waiting_at_approval, reopened


def test_preview_and_migrate_then_the_case_finishes_on_the_new_version(demo, actors, case):
    waiting_at_approval, reopened = two_running_cases(case)
    assert case.ready_names(reopened) == ["decide_reopen"]
    target_id = new_version(demo, actors["owner"])

    with demo.unit_of_work() as uow:
        result = migration.preview(uow, actors["owner"], "complaint_handling")
    assert result["target_version"] == 2
    movable = {c.instance_id: c for c in result["movable"]}
    unmovable = {c.instance_id: c for c in result["unmovable"]}
    approval_instance, _ = instance_of(demo, waiting_at_approval)
    reopened_instance, _ = instance_of(demo, reopened)
    assert "approve_resolution" in movable[approval_instance].active
    assert any("decide_reopen" in reason and "removed" in reason for reason in unmovable[reopened_instance].reasons)

    with demo.unit_of_work() as uow:
        migration.migrate_instance(uow, actors["owner"], approval_instance, target_id)
    assert instance_of(demo, waiting_at_approval) == (approval_instance, 2)
    task = case.task(waiting_at_approval, "approve_resolution")
    assert task.lane == "Complaint management" and task.candidate_roles == ["coordinator"]
    with pytest.raises(NotAllowed):  # the approver's lane no longer holds this task
        case.approve_as = case.complete(waiting_at_approval, "approve_resolution",
                                        {"approval_decision": "approve"}, actor=actors["approver"])
    case.complete(waiting_at_approval, "approve_resolution", {"approval_decision": "approve"},
                  actor=actors["coordinator"])
    case.feedback(waiting_at_approval, satisfied=True, rating=5)
    assert case.complaint(waiting_at_approval).status == "closed"
    with demo.unit_of_work() as uow:
        row = uow.session.get(ProcessInstance, approval_instance)
        assert row.status == "completed"
        [event] = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "instance_migrated"))
        assert event.instance_id == approval_instance
        assert (event.detail["from_version"], event.detail["to_version"]) == (1, 2)

    # The unmovable one is refused with its reason and stays on v1, still workable there.
    with demo.unit_of_work() as uow, pytest.raises(InvalidSubmission, match="decide_reopen"):
        migration.migrate_instance(uow, actors["owner"], reopened_instance, target_id)
    assert instance_of(demo, reopened) == (reopened_instance, 1)
    case.reopen(reopened, "resolution")
    assert "draft_resolution" in case.ready_names(reopened)


def test_only_process_owners_migrate(demo, actors):
    for name in ("compliance", "coordinator", "head"):
        with demo.unit_of_work() as uow, pytest.raises(NotAllowed):
            migration.preview(uow, actors[name], "complaint_handling")


def test_ready_rows_are_untouched_when_nothing_moves(demo, actors, case):
    cid = case.register()
    new_version(demo, actors["owner"])
    with demo.unit_of_work() as uow:
        result = migration.preview(uow, actors["owner"], "complaint_handling")
        [candidate] = result["movable"]
        assert candidate.active == ("classify_complaint", "first_response_overdue")  # the task and its timer
        assert uow.session.scalar(select(UserTask.lane).where(UserTask.complaint_id == cid)) == "Intake desk"
