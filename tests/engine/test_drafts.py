"""Process owners' drafts: open, save, validate, deploy (who / when / why / checksum), import, export.

Runs on the real services and database (SQLite, or PostgreSQL with DATABASE_URL)."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from app.engine.core.errors import InvalidDefinition, InvalidSubmission, NotAllowed
from app.engine.governance import drafts
from app.engine.governance.definitions import latest_definition
from app.engine.models import AuditEvent, Complaint, ProcessDefinition, ProcessDraft, ProcessInstance
from tests.support import CaseDriver

FORM_BEFORE = 'name="formJsonSchemaFilename" value="classify_complaint.schema.json"'
FORM_AFTER = 'name="formJsonSchemaFilename" value="triage_complaint.schema.json"'


@pytest.fixture
def owner(actors):
    return actors["owner"]


def _current(runtime, process_id="complaint_handling") -> ProcessDefinition:
    with runtime.unit_of_work() as uow:
        definition = latest_definition(uow.session, process_id)
        definition.bpmn_source  # noqa: B018 - load the deferred column inside the session
        return definition


def _draft(runtime, owner, source=None) -> int:
    with runtime.unit_of_work() as uow:
        return drafts.open_draft(uow, owner, _current(runtime).id, source).id


def test_only_process_owners_edit(demo, actors):
    definition = _current(demo)
    for name in ("compliance", "coordinator", "intake", "head"):
        with demo.unit_of_work() as uow, pytest.raises(NotAllowed):
            drafts.open_draft(uow, actors[name], definition.id)
        with demo.unit_of_work() as uow, pytest.raises(NotAllowed):
            drafts.list_versions(uow, actors[name])


def test_a_draft_is_saved_with_author_time_and_base_version(demo, owner, clock):
    base = _current(demo)
    draft_id = _draft(demo, owner)
    clock.advance(minutes=5)
    with demo.unit_of_work() as uow:
        drafts.save_draft(uow, owner, draft_id, base.bpmn_source.replace(FORM_BEFORE, FORM_AFTER))
    with demo.unit_of_work() as uow:
        draft = uow.session.get(ProcessDraft, draft_id)
        assert (draft.process_id, draft.file_name, draft.base_version, draft.author) == (
            "complaint_handling", "complaint_handling.bpmn", base.version, "owner")
        assert FORM_AFTER in draft.bpmn_source and draft.updated_at == clock.now() > draft.created_at
        assert drafts.validate_draft(uow, owner, draft_id).valid


def test_validation_names_file_line_and_element(demo, owner):
    source = _current(demo).bpmn_source.replace(FORM_BEFORE, 'name="formJsonSchemaFilename" value="nope.json"')
    draft_id = _draft(demo, owner, source)
    with demo.unit_of_work() as uow:
        result = drafts.validate_draft(uow, owner, draft_id)
    assert not result.valid
    error = next(e for e in result.errors if e.element_id == "classify_complaint")
    assert error.file == "complaint_handling.bpmn" and error.line and "nope.json" in error.message


def test_an_invalid_draft_is_never_deployed(demo, owner):
    source = _current(demo).bpmn_source.replace(FORM_BEFORE, 'name="formJsonSchemaFilename" value="nope.json"')
    draft_id = _draft(demo, owner, source)
    with demo.unit_of_work() as uow, pytest.raises(InvalidDefinition):
        drafts.deploy_draft(uow, owner, draft_id, "Try anyway")
    assert _current(demo).version == 1


def test_deploy_needs_a_reason_and_a_change(demo, owner):
    draft_id = _draft(demo, owner)
    with demo.unit_of_work() as uow, pytest.raises(InvalidSubmission):
        drafts.deploy_draft(uow, owner, draft_id, "   ")
    with demo.unit_of_work() as uow, pytest.raises(InvalidSubmission):
        drafts.deploy_draft(uow, owner, draft_id, "No change at all")
    assert _current(demo).version == 1


def test_deploy_records_who_when_why_checksum_and_pins_running_complaints(demo, actors, owner, clock):
    case = CaseDriver(demo, actors)
    running = case.register(1)
    source = _current(demo).bpmn_source.replace(FORM_BEFORE, FORM_AFTER)
    draft_id = _draft(demo, owner, source)
    with demo.unit_of_work() as uow:
        definition = drafts.deploy_draft(uow, owner, draft_id, "Classification now asks for the triage")
        info = drafts.version_info(definition)
    assert info["version"] == 2 and info["deployed_by"] == "owner"
    assert info["reason"] == "Classification now asks for the triage"
    assert info["checksum"] == hashlib.sha256(source.encode()).hexdigest()
    assert info["deployed_at"] == clock.now().isoformat()
    with demo.unit_of_work() as uow:
        assert uow.session.get(ProcessDraft, draft_id) is None
        assert uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "draft_deployed")).one()
        escalation_versions = uow.session.scalars(select(ProcessDefinition.version).where(
            ProcessDefinition.process_id == "escalation")).all()
    assert escalation_versions == [1]  # the unchanged file of the bundle keeps its version
    fresh = case.register(2)

    def version_of(cid):
        with demo.unit_of_work() as uow:
            complaint = uow.session.get(Complaint, cid)
            instance = uow.session.scalars(select(ProcessInstance).where(
                ProcessInstance.complaint_id == complaint.id)).first()
            return uow.session.get(ProcessDefinition, instance.definition_id).version
    assert (version_of(running), version_of(fresh)) == (1, 2)
    assert case.task(fresh, "classify_complaint").form == "triage_complaint.schema.json"
    assert case.task(running, "classify_complaint").form == "classify_complaint.schema.json"


def test_import_goes_through_the_same_validation(demo, owner):
    source = _current(demo).bpmn_source
    with demo.unit_of_work() as uow:
        draft, result = drafts.import_draft(uow, owner, "complaint_handling.bpmn",
                                            source.replace(FORM_BEFORE, FORM_AFTER).encode())
        assert result.valid and draft.base_version == 1
    with demo.unit_of_work() as uow:
        broken, result = drafts.import_draft(uow, owner, "mine.bpmn", source.replace(
            'sla_due_at("feedback_wait")', 'sla_due_at("no_such_sla")').encode())
        assert not result.valid and broken.file_name == "complaint_handling.bpmn"
    with demo.unit_of_work() as uow, pytest.raises(InvalidSubmission):
        drafts.import_draft(uow, owner, "x.bpmn", b"\xff\xfe not xml")


def test_editor_choices_come_from_forms_operators_slas_and_lanes(demo):
    choices = drafts.editor_choices(demo)
    assert "classify_complaint.schema.json" in choices["forms"]
    flag = next(o for o in choices["operators"] if o["id"] == "flag_overdue")
    assert flag["parameters"] == [{"id": "sla", "type": "str", "required": True}]
    assert {"first_response", "decision", "feedback_wait"} <= {s["name"] for s in choices["slas"]}
    assert {"name": "Approver", "roles": ["approver"]} in choices["lanes"]
