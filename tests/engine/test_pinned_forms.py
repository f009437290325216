"""Forms are versioned with the definition (issue 24): a deployed version pins the content of the forms its tasks
name, a running case renders and validates its version's form, a form change is a new version that needs its
own sign-off, and the review compares the forms each version pinned."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.engine.core.errors import InvalidDefinition, InvalidSubmission
from app.engine.governance import definitions, reviews
from app.engine.models import ProcessDefinition
from app.engine.work import user_tasks

FORM = "classify_complaint.schema.json"
NEW_FIELD = "classification_basis"



def add_required_field(forms_dir):
    path = forms_dir / FORM
    original = path.read_text(encoding="utf-8")
    schema = json.loads(original)
    schema["properties"][NEW_FIELD] = {"type": "string", "title": "Basis of the classification"}
    schema["required"] = [*schema.get("required", []), NEW_FIELD]
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")
    return original


def deploy_processes(runtime, actor):
    with runtime.unit_of_work() as uow:
        deployed = definitions.deploy(uow, actor, definitions.read_directory(runtime.settings.processes_dir))
        return {d.process_id: (d.version, d.id) for d in deployed}


def form_of(runtime, actors, task):
    with runtime.unit_of_work() as uow:
        return user_tasks.task_view(uow, actors["coordinator"], task)["form"]


def test_a_case_keeps_its_versions_form_after_a_form_change_is_deployed(demo, actors, case, forms_dir):
    on_v1 = case.register()
    add_required_field(forms_dir)
    assert deploy_processes(demo, actors["owner"])["complaint_handling"][0] == 2  # a form-only change: version 2
    on_v2 = case.register(2)
    v1_task, v2_task = case.task(on_v1, "classify_complaint"), case.task(on_v2, "classify_complaint")
    assert NEW_FIELD not in form_of(demo, actors, v1_task)["properties"]
    v2_form = form_of(demo, actors, v2_task)
    assert NEW_FIELD in v2_form["required"]
    assert v2_form["properties"][NEW_FIELD]["pattern"] == r"\S"  # the shared rules apply to pinned content
    with pytest.raises(InvalidSubmission) as refused:
        case.classify(on_v2)
    assert NEW_FIELD in refused.value.errors
    case.classify(on_v1)  # v1's form: the new field is not required
    case.classify(on_v2, **{NEW_FIELD: "Statement of the fee"})


def test_a_version_deployed_before_forms_were_pinned_reads_app_forms(demo, actors, case, forms_dir):
    on_v1 = case.register()
    with demo.unit_of_work() as uow:  # as after migration 0013: the version has no pinned forms
        for definition in uow.session.scalars(select(ProcessDefinition)):
            definition.forms, definition.forms_checksum = None, None
    add_required_field(forms_dir)
    demo.forms.forms_dir = forms_dir  # the runtime's files are the edited ones
    assert NEW_FIELD in form_of(demo, actors, case.task(on_v1, "classify_complaint"))["required"]


def test_unchanged_files_and_forms_make_no_version_a_changed_form_one(demo, actors, forms_dir):
    versions = {pid: v for pid, (v, _id) in deploy_processes(demo, actors["owner"]).items()}
    assert versions == {"complaint_handling": 1, "escalation": 1, "mail_intake": 1}
    add_required_field(forms_dir)
    versions = {pid: v for pid, (v, _id) in deploy_processes(demo, actors["owner"]).items()}
    # escalation's and mail intake's tasks do not name the classify form
    assert versions == {"complaint_handling": 2, "escalation": 1, "mail_intake": 1}
    with demo.unit_of_work() as uow:
        latest = definitions.latest_definition(uow.session, "complaint_handling")
        assert NEW_FIELD in json.loads(latest.forms[FORM])["properties"]



def edited_bundle(runtime):
    files = definitions.read_directory(runtime.settings.processes_dir)
    files["complaint_handling.bpmn"] = files["complaint_handling.bpmn"].replace(
        b"Classify complaint", b"Classify the complaint")
    return files


def test_signoff_covers_the_forms_a_form_change_after_approval_is_refused(governed, actors, forms_dir):
    files = edited_bundle(governed)
    with governed.unit_of_work() as uow:
        checksum = reviews.submit(uow, actors["owner"], process_id="complaint_handling",
                                  file_name="complaint_handling.bpmn",
                                  source=files["complaint_handling.bpmn"].decode()).checksum
    with governed.unit_of_work() as uow:
        reviews.decide(uow, actors["compliance"], checksum, "approved", "Reviewed with its forms")
    add_required_field(forms_dir)  # after the sign-off: not reviewed
    with governed.unit_of_work() as uow, pytest.raises(InvalidDefinition, match="forms this file's tasks name"):
        definitions.deploy(uow, actors["owner"], files)
    with governed.unit_of_work() as uow:
        reviews.decide(uow, actors["compliance"], checksum, "approved", "Reviewed the new field too")
    with governed.unit_of_work() as uow:
        deployed = {d.process_id: d.version for d in definitions.deploy(uow, actors["owner"], files)}
    assert deployed["complaint_handling"] == 2


def test_a_form_only_change_under_a_signed_off_bpmn_needs_a_new_signoff(governed, actors, forms_dir):
    with governed.unit_of_work() as uow:  # version 1's file, approved as it is with today's forms
        checksum = definitions.latest_definition(uow.session, "complaint_handling").checksum
        reviews.decide(uow, actors["compliance"], checksum, "approved", "Version 1 is fine")
    add_required_field(forms_dir)
    with governed.unit_of_work() as uow, pytest.raises(InvalidDefinition, match="forms this file's tasks name"):
        definitions.deploy(uow, actors["owner"], definitions.read_directory(governed.settings.processes_dir))


def test_the_review_of_version_2_names_the_form_field_change_from_pinned_content(demo, actors, forms_dir):
    original = add_required_field(forms_dir)
    v2_id = deploy_processes(demo, actors["owner"])["complaint_handling"][1]
    (forms_dir / FORM).write_text(original, encoding="utf-8")  # app/forms as it was: only pinned content differs
    with demo.unit_of_work() as uow:
        result = reviews.version_diff(uow, actors["compliance"], v2_id)
    assert result["same_file"] and result["pinned_forms"]
    changed = [c for c in result["changes"].changes if c.element_id == "classify_complaint"]
    assert [c.aspect for c in changed if c.aspect and NEW_FIELD in c.aspect] == [f"form_field:{NEW_FIELD}"]
