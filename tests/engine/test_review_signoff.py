"""Sign-off: compliance approves or rejects a checksum with a comment, four eyes, and the deploy gate that
config/governance.toml switches on (issue 18)."""
from __future__ import annotations

import dataclasses
import hashlib

import pytest
from sqlalchemy import select

from app.engine.core.actors import SYSTEM
from app.engine.core.errors import DutiesNotSegregated, InvalidDefinition, InvalidSubmission, NotAllowed
from app.engine.governance import definitions, drafts, reviews
from app.engine.governance.definitions import latest_definition
from app.engine.governance.pinned_forms import forms_digest, forms_of
from app.engine.identity.users import actor_for, upsert_user
from app.engine.models import AuditEvent, ProcessDefinition
from tests.support import deploy_lane_move


def edited_bundle(runtime, old="Classify complaint", new="Classify the complaint"):
    files = definitions.read_directory(runtime.settings.processes_dir)
    source = files["complaint_handling.bpmn"].decode()
    assert old in source
    files["complaint_handling.bpmn"] = source.replace(old, new).encode()
    return files


def submit(runtime, actor, files):
    with runtime.unit_of_work() as uow:
        return reviews.submit(uow, actor, process_id="complaint_handling", file_name="complaint_handling.bpmn",
                              source=files["complaint_handling.bpmn"].decode()).checksum


def test_desk_lists_versions_with_who_when_counts_and_pending_status(demo, actors, case):
    case.register()
    with demo.unit_of_work() as uow:
        desk = reviews.desk(uow, actors["compliance"])
    row = next(r for r in desk["versions"] if r["process_id"] == "complaint_handling")
    assert row["version"] == 1 and row["deployed_by"] == "system" and row["running"] == 1
    assert row["review"] is None  # pending
    for name in ("intake", "approver", "coordinator", "customer"):
        with demo.unit_of_work() as uow, pytest.raises(NotAllowed):
            reviews.desk(uow, actors[name])
    with demo.unit_of_work() as uow:
        assert reviews.desk(uow, actors["owner"])["may_sign_off"] is False


def test_approve_and_reject_with_comment_in_the_audit_trail(demo, actors):
    checksum = submit(demo, actors["owner"], edited_bundle(demo))
    with demo.unit_of_work() as uow, pytest.raises(InvalidSubmission):
        reviews.decide(uow, actors["compliance"], checksum, "rejected", "  ")
    with demo.unit_of_work() as uow:
        reviews.decide(uow, actors["compliance"], checksum, "rejected", "Name is unclear")
    with demo.unit_of_work() as uow:
        reviews.decide(uow, actors["compliance"], checksum, "approved", "Fine now")
    with demo.unit_of_work() as uow:
        status = reviews.review_statuses(uow, {checksum})[checksum]
        assert (status["status"], status["reviewer"], status["comment"]) == ("approved", "compliance", "Fine now")
        actions = list(uow.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("definition_%"))
                                           .order_by(AuditEvent.id)))
    assert actions[-3:] == ["definition_submitted", "definition_rejected", "definition_approved"]


def test_only_compliance_signs_off(demo, actors):
    checksum = submit(demo, actors["owner"], edited_bundle(demo))
    for name in ("owner", "approver", "head"):
        with demo.unit_of_work() as uow, pytest.raises(NotAllowed):
            reviews.decide(uow, actors[name], checksum, "approved", "ok")


def test_four_eyes_the_deployer_cannot_sign_off_their_own_version(demo, actors):
    """A compliance officer who also deploys (two roles) cannot approve what they deployed."""
    both = dataclasses.replace(actors["compliance"], roles=actors["compliance"].roles | {"process_owner"})
    files = edited_bundle(demo)
    with demo.unit_of_work() as uow:
        [deployed] = [d for d in definitions.deploy(uow, both, files) if d.process_id == "complaint_handling"]
        checksum = deployed.checksum
    with demo.unit_of_work() as uow, pytest.raises(NotAllowed, match="four eyes"):
        reviews.decide(uow, both, checksum, "approved", "mine")
    # ... nor a file they submitted for review.
    other = edited_bundle(demo, new="Classify this complaint")
    checksum = submit(demo, both, other)
    with demo.unit_of_work() as uow, pytest.raises(NotAllowed, match="four eyes"):
        reviews.decide(uow, both, checksum, "approved", "mine")


def test_gate_refuses_an_unapproved_or_rejected_file_and_deploys_an_approved_one(governed, actors):
    files = edited_bundle(governed)
    with governed.unit_of_work() as uow, pytest.raises(InvalidDefinition, match="has not approved"):
        definitions.deploy(uow, actors["owner"], files)
    checksum = submit(governed, actors["owner"], files)
    with governed.unit_of_work() as uow:
        reviews.decide(uow, actors["compliance"], checksum, "rejected", "No")
    with governed.unit_of_work() as uow, pytest.raises(InvalidDefinition, match="rejected this file"):
        definitions.deploy(uow, actors["owner"], files)
    with governed.unit_of_work() as uow:
        reviews.decide(uow, actors["compliance"], checksum, "approved", "Yes")
    with governed.unit_of_work() as uow:
        deployed = definitions.deploy(uow, actors["owner"], files)
    assert {d.process_id: d.version for d in deployed}["complaint_handling"] == 2
    # A single changed byte is another file: it needs its own sign-off.
    with governed.unit_of_work() as uow, pytest.raises(InvalidDefinition, match="has not approved"):
        definitions.deploy(uow, actors["owner"], edited_bundle(governed, new="Classify complaint now"))


def test_gate_refuses_the_approver_deploying_and_the_cli_path(governed, actors):
    files = edited_bundle(governed)
    checksum = submit(governed, actors["owner"], files)
    with governed.unit_of_work() as uow:
        reviews.decide(uow, actors["compliance"], checksum, "approved", "Yes")
    with governed.unit_of_work() as uow, pytest.raises(InvalidDefinition, match="four eyes"):
        definitions.deploy(uow, actors["compliance"], files)
    with governed.unit_of_work() as uow:  # `complaintflow deploy` deploys as SYSTEM through the same function
        definitions.deploy(uow, SYSTEM, files)
        assert uow.session.scalar(select(ProcessDefinition.version).where(
            ProcessDefinition.checksum == checksum)) == 2


def test_without_the_switch_nothing_is_gated(demo, actors):
    with demo.unit_of_work() as uow:
        assert reviews.signoff_required(uow.settings) is False
        definitions.deploy(uow, actors["owner"], edited_bundle(demo))


def test_version_diff_reports_a_lane_move_as_change_of_role(demo, actors):
    new_id = deploy_lane_move(demo, actors["owner"])
    with demo.unit_of_work() as uow:
        result = reviews.version_diff(uow, actors["compliance"], new_id)
    assert result["old"]["version"] == 1 and result["new"]["version"] == 2
    [role] = result["changes"].role_changes
    assert (role.element_id, role.old_roles, role.new_roles) == ("approve_resolution", ("approver",),
                                                                 ("coordinator",))


# --- authorship: every save is audited; four eyes means the reviewer saved none of it (issue 24) ---------------

AUTHORSHIP = "definition_reviewer_not_author"


def _person(runtime, username, roles):
    with runtime.unit_of_work() as uow:
        return actor_for(upsert_user(uow, username, f"{username}-pw", display_name=username, roles=roles))


def _saves(runtime):
    with runtime.unit_of_work() as uow:
        return [(e.actor, e.detail) for e in uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "draft_saved").order_by(AuditEvent.id))]


def test_every_save_and_import_of_a_draft_is_audited_with_its_checksum(demo, actors):
    owner = actors["owner"]
    edited = edited_bundle(demo)["complaint_handling.bpmn"]
    with demo.unit_of_work() as uow:
        base = latest_definition(uow.session, "complaint_handling")
        opened = drafts.open_draft(uow, owner, base.id).id  # the deployed bytes: nothing of the owner's yet
        changed = drafts.open_draft(uow, owner, base.id, edited.decode()).id  # changed before it existed
    with demo.unit_of_work() as uow:
        drafts.save_draft(uow, owner, opened, edited.decode())
        drafts.save_draft(uow, owner, opened, edited.decode())  # unchanged: still a save
        imported = drafts.import_draft(uow, owner, "complaint_handling.bpmn", edited)[0].id
    digest = hashlib.sha256(edited).hexdigest()
    forms = forms_digest(forms_of(demo.settings.forms_dir, edited))  # pinned by version 1, as in app/forms
    assert _saves(demo) == [("owner", {"draft_id": draft_id, "process_id": "complaint_handling", "checksum": digest,
                                       "forms_checksum": forms})
                            for draft_id in (changed, opened, opened, imported)]


def test_four_eyes_refuses_whoever_saved_any_content_of_the_submitted_draft(demo, actors):
    """A saves content; B (process owner and compliance) re-saves it unchanged and submits it. Neither may sign
    it off, naming the rule (A is neither the last saver nor the submitter); C, compliance only, may."""
    a = dataclasses.replace(actors["owner"], roles=actors["owner"].roles | {"compliance"})
    b = _person(demo, "owner.b", ["process_owner", "compliance"])
    edited = edited_bundle(demo)["complaint_handling.bpmn"].decode()
    with demo.unit_of_work() as uow:
        draft_id = drafts.open_draft(uow, actors["owner"], latest_definition(uow.session, "complaint_handling").id).id
    with demo.unit_of_work() as uow:
        drafts.save_draft(uow, actors["owner"], draft_id, edited)
    with demo.unit_of_work() as uow:
        drafts.save_draft(uow, b, draft_id, edited)
    with demo.unit_of_work() as uow:
        checksum = drafts.submit_for_review(uow, b, draft_id).checksum
    # Saving after the submission is not authorship of the submitted bytes.
    later = _person(demo, "owner.later", ["process_owner", "compliance"])
    with demo.unit_of_work() as uow:
        drafts.save_draft(uow, later, draft_id, edited.replace("Classify the complaint", "Classify it"))
    for person in (b, a):
        with demo.unit_of_work() as uow, pytest.raises(DutiesNotSegregated) as refused:
            reviews.decide(uow, person, checksum, "approved", "Looks right")
        assert refused.value.rule == AUTHORSHIP and "saved any of its content" in refused.value.message
    with demo.unit_of_work() as uow:
        assert reviews.decide(uow, later, checksum, "rejected", "Name it better").actor == "owner.later"
    with demo.unit_of_work() as uow:
        reviews.decide(uow, actors["compliance"], checksum, "approved", "Fine")
    with demo.unit_of_work() as uow:
        assert reviews.review_statuses(uow, {checksum})[checksum]["reviewer"] == "compliance"
