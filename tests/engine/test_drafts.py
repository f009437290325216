"""Process owners' drafts: open, save, validate, deploy (who / when / why / checksum), import, export.

Runs on the real services and database (SQLite, or PostgreSQL with DATABASE_URL)."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from app.engine.core.errors import Conflict, InvalidDefinition, InvalidSubmission, NotAllowed
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


# --- the draft's base (issue 24): a draft opened from v1 never silently undoes v2 -------------------------------

THEIRS_BEFORE, THEIRS_AFTER = 'name="Draft resolution"', 'name="Draft the resolution"'


def _stale_draft(runtime, owner) -> int:
    """A draft opened from v1 (its own change: the classification form), then v2 deployed from another draft
    (another change: a task's name)."""
    mine = _draft(runtime, owner, _current(runtime).bpmn_source.replace(FORM_BEFORE, FORM_AFTER))
    theirs = _draft(runtime, owner, _current(runtime).bpmn_source.replace(THEIRS_BEFORE, THEIRS_AFTER))
    with runtime.unit_of_work() as uow:
        assert drafts.deploy_draft(uow, owner, theirs, "Clearer task name").version == 2
    return mine


def test_a_stale_draft_is_refused_naming_its_base_and_the_current_version(demo, owner):
    draft_id = _stale_draft(demo, owner)
    with demo.unit_of_work() as uow, pytest.raises(Conflict) as refused:
        drafts.deploy_draft(uow, owner, draft_id, "Classification asks for the triage")
    assert isinstance(refused.value, drafts.StaleDraft)
    assert (refused.value.base_version, refused.value.current_version) == (1, 2)
    assert "based on version 1, but version 2 is current" in refused.value.message
    current = _current(demo)
    assert current.version == 2 and THEIRS_AFTER in current.bpmn_source  # v2's change was not undone


def test_the_three_way_view_lists_what_was_deployed_since_and_what_the_draft_changed(demo, owner):
    draft_id = _stale_draft(demo, owner)
    with demo.unit_of_work() as uow:
        view = drafts.base_view(uow, owner, draft_id)
        assert view.stale and (view.base.version, view.current.version) == (1, 2)
        assert [v.version for v in view.since] == [2]
        theirs = [(c.element_id, c.aspect, c.new) for c in view.theirs]
        mine = [(c.element_id, c.aspect, c.new) for c in view.mine]
        assert ("draft_resolution", "name", "Draft the resolution") in theirs
        assert ("classify_complaint", "form", "triage_complaint.schema.json") in mine
        assert {c.element_id for c in view.theirs} == {"draft_resolution"}  # each side only its own changes
        assert {c.element_id for c in view.mine} == {"classify_complaint"}


def test_after_a_confirmed_rebase_the_draft_deploys(demo, owner):
    draft_id = _stale_draft(demo, owner)
    with demo.unit_of_work() as uow, pytest.raises(InvalidSubmission):
        drafts.rebase_draft(uow, owner, draft_id, 2, merged=False)  # the owner must say they merged
    with demo.unit_of_work() as uow, pytest.raises(Conflict):
        drafts.rebase_draft(uow, owner, draft_id, 1, merged=True)  # onto a version that is not current
    with demo.unit_of_work() as uow:  # the owner merges v2's change into their draft, then rebases
        merged = uow.session.get(ProcessDraft, draft_id).bpmn_source.replace(THEIRS_BEFORE, THEIRS_AFTER)
        drafts.save_draft(uow, owner, draft_id, merged)
    with demo.unit_of_work() as uow:
        draft = drafts.rebase_draft(uow, owner, draft_id, 2, merged=True)
        assert draft.base_version == 2 and draft.bpmn_source == merged  # the content stays
        assert not drafts.base_view(uow, owner, draft_id).stale
    with demo.unit_of_work() as uow:
        event = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "draft_rebased")).one()
        assert (event.actor, event.before, event.after) == ("owner", {"base_version": 1}, {"base_version": 2})
        assert drafts.deploy_draft(uow, owner, draft_id, "Classification asks for the triage").version == 3
    current = _current(demo)
    assert FORM_AFTER in current.bpmn_source and THEIRS_AFTER in current.bpmn_source
    with demo.unit_of_work() as uow, pytest.raises(InvalidSubmission):  # nothing to rebase any more
        drafts.rebase_draft(uow, owner, _draft(demo, owner), 3, merged=True)


def test_a_draft_on_the_current_version_deploys_without_a_rebase(demo, owner):
    _stale_draft(demo, owner)
    draft_id = _draft(demo, owner, _current(demo).bpmn_source.replace(FORM_BEFORE, FORM_AFTER))  # opened from v2
    with demo.unit_of_work() as uow:
        view = drafts.base_view(uow, owner, draft_id)
        assert not view.stale and view.theirs is None and view.base.version == 2
        assert drafts.deploy_draft(uow, owner, draft_id, "Classification asks for the triage").version == 3


def test_a_file_exported_from_an_older_version_is_imported_on_that_base(demo, owner):
    _stale_draft(demo, owner)  # v2 is current
    with demo.unit_of_work() as uow:
        v1 = uow.session.scalars(select(ProcessDefinition).where(ProcessDefinition.process_id == "complaint_handling",
                                                                 ProcessDefinition.version == 1)).one()
        edited = v1.bpmn_source.replace(FORM_BEFORE, FORM_AFTER).encode()
        exported, _ = drafts.import_draft(uow, owner, "complaint_handling.v1.bpmn", edited)
        unnamed, _ = drafts.import_draft(uow, owner, "complaint_handling.bpmn", edited)
        assert (exported.base_version, unnamed.base_version) == (1, 2)
    with demo.unit_of_work() as uow, pytest.raises(drafts.StaleDraft):
        drafts.deploy_draft(uow, owner, exported.id, "Edited on the desktop")
