"""Owners edit forms in the modeler: a draft carries its forms, which are validated, reviewed, signed off and
pinned with it; a running case keeps the form of its own version. Real engine, real database."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from app.engine.core.errors import DutiesNotSegregated, InvalidDefinition, InvalidSubmission
from app.engine.governance import draft_forms, drafts, form_editor, reviews
from app.engine.governance.definitions import latest_definition
from app.engine.governance.pinned_forms import forms_digest
from app.engine.identity.users import actor_for, upsert_user
from app.engine.models import AuditEvent, ProcessDraft
from app.engine.work import user_tasks

FORM = "classify_complaint.schema.json"
NEW_FIELD = "classification_basis"

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _person(runtime, username, roles):
    with runtime.unit_of_work() as uow:
        return actor_for(upsert_user(uow, username, f"{username}-pw", display_name=username, roles=roles))


def _open(runtime, owner) -> int:
    with runtime.unit_of_work() as uow:
        return drafts.open_draft(uow, owner, latest_definition(uow.session, "complaint_handling").id).id


def _with_required_field(schema: dict, title_zh: str = "分类依据") -> dict:
    rows = form_editor.rows_of(schema)
    rows.fields.append(form_editor.FieldRow(key=NEW_FIELD, kind="text", title_en="Basis of the classification",
                                            title_zh=title_zh, required=True))
    return form_editor.schema_from(rows, schema)


def _save_new_field(runtime, actor, draft_id) -> dict:
    with runtime.unit_of_work() as uow:
        schema = _with_required_field(draft_forms.form_of(uow, actor, draft_id, FORM))
        draft_forms.save_draft_form(uow, actor, draft_id, FORM, schema)
    return schema


def test_a_draft_opened_from_a_version_starts_from_its_pinned_forms_not_app_forms(demo, actors, forms_dir):
    owner = actors["owner"]
    with demo.unit_of_work() as uow:
        pinned = latest_definition(uow.session, "complaint_handling").forms[FORM]
    (forms_dir / FORM).write_text(json.dumps({"type": "object", "title": "Changed on disk"}), encoding="utf-8")
    draft_id = _open(demo, owner)
    with demo.unit_of_work() as uow:
        assert uow.session.get(ProcessDraft, draft_id).forms[FORM] == pinned
        assert draft_forms.form_of(uow, owner, draft_id, FORM)["title"] == "Classify complaint"
        listed = {f.file_name: f for f in draft_forms.list_forms(uow, owner, draft_id)}
    assert FORM in listed and listed[FORM].tasks and listed[FORM].edited  # it differs from app/forms now


def test_an_imported_draft_starts_from_app_forms(demo, actors):
    owner = actors["owner"]
    with demo.unit_of_work() as uow:
        source = latest_definition(uow.session, "complaint_handling").bpmn_source.encode()
        draft = drafts.import_draft(uow, owner, "complaint_handling.bpmn", source)[0]
        assert json.loads(draft.forms[FORM]) == json.loads((demo.settings.forms_dir / FORM).read_text("utf-8"))


BAD_FORMS = [
    ("classify.json", {"type": "object"}, "file_name"),
    ("../classify_complaint.schema.json", {"type": "object"}, "file_name"),
    (FORM, {"type": "object", "properties": {"x": {"type": "text"}}}, "properties.x"),
    (FORM, {"type": "object", "properties": {"bad key": {"type": "string"}}}, "properties.bad key"),
    (FORM, {"type": "object", "properties": {"pick": {"type": "string", "oneOf": [
        {"const": "a", "title": "A"}, {"const": "a", "title": "Again"}]}}}, "properties.pick.choices"),
    (FORM, {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "b"]}, "required"),
    (FORM, {"type": "object", "properties": {"customer_name": {"type": "string", "maxLength": 5}}},
     "properties.customer_name"),  # forms.prepare: the column decides its length
    (FORM, {"type": "object", "properties": {"a": {"type": "string", "x-i18n": {"zh": "标题"}}}}, "properties.a"),
]


@pytest.mark.parametrize(("file_name", "schema", "field"), BAD_FORMS)
def test_a_form_the_engine_cannot_use_is_refused_naming_the_field(demo, actors, file_name, schema, field):
    draft_id = _open(demo, actors["owner"])
    with demo.unit_of_work() as uow, pytest.raises(InvalidSubmission) as refused:
        draft_forms.save_draft_form(uow, actors["owner"], draft_id, file_name, schema)
    assert list(refused.value.errors) == [field]
    with demo.unit_of_work() as uow:  # nothing saved, nothing audited
        assert not uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "draft_saved")).all()


def test_editing_titles_keeps_every_keyword_the_editor_does_not_show(demo):
    original = json.loads((demo.settings.forms_dir / "approve_resolution.schema.json").read_text("utf-8"))
    rows = form_editor.rows_of(original)
    assert [(f.key, f.kind, f.required) for f in rows.fields] == [("approval_decision", "choice", True),
                                                                  ("approval_comment", "textarea", False)]
    rows.fields[1].title_en, rows.fields[1].title_zh = "Comment for the drafter", "给起草人的意见"
    rows.fields[0].choices[1].title_zh = "驳回"
    edited = form_editor.schema_from(rows, original)
    expected = json.loads(json.dumps(original))
    expected["properties"]["approval_comment"]["title"] = "Comment for the drafter"
    expected["properties"]["approval_comment"]["x-i18n"] = {"zh": {"title": "给起草人的意见"}}
    expected["properties"]["approval_decision"]["oneOf"][1]["x-i18n"] = {"zh": {"title": "驳回"}}
    assert edited == expected  # if/then, additionalProperties, required and the order as they were
    assert form_editor.schema_from(form_editor.rows_of(original), original) == original


def test_the_editor_moves_fields_and_choices_and_changes_a_kind(demo):
    # An earlier draft-resolution form, kept as a fixture: the shipped one changes with the process.
    original = json.loads((FIXTURES / "form_editor_resolution.schema.json").read_text("utf-8"))
    rows = form_editor.apply(form_editor.rows_of(original), "field_down:0")
    rows = form_editor.apply(rows, "choice_up:0:1")
    rows = form_editor.apply(rows, "remove_choice:0:3")
    assert [f.kind for f in rows.fields] == ["choice", "textarea", "amount", "textarea"]  # money text: an amount
    rows.fields[2].kind = "integer"  # redress_amount becomes a whole number: its type keywords are replaced
    edited = form_editor.schema_from(rows, original)
    assert list(edited["properties"])[:2] == ["remedy_type", "resolution_summary"]
    assert [o["const"] for o in edited["properties"]["remedy_type"]["oneOf"]] == [
        "monetary_redress", "explanation", "non_monetary_redress"]
    assert edited["properties"]["redress_amount"] == {"type": "integer", "title": "Redress amount",
                                                      "description": "Decimal amount as text; null unless money is "
                                                                     "paid."}
    assert edited["if"] == original["if"] and edited["then"] == original["then"]


def test_a_form_save_is_audited_and_its_author_may_not_sign_off_the_submission(demo, actors):
    owner = actors["owner"]
    editor = _person(demo, "form.editor", ["process_owner", "compliance"])  # edits a form, nothing else
    draft_id = _open(demo, owner)
    _save_new_field(demo, editor, draft_id)
    with demo.unit_of_work() as uow:
        saved = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "draft_saved")).one()
        draft = uow.session.get(ProcessDraft, draft_id)
        assert (saved.actor, saved.detail["form"], saved.detail["checksum"]) == (
            "form.editor", FORM, reviews.checksum_of(draft.bpmn_source))
        assert saved.detail["forms_checksum"] == forms_digest(drafts.forms_of_draft(uow, draft))
    with demo.unit_of_work() as uow:
        submission = drafts.submit_for_review(uow, owner, draft_id)
        checksum = submission.checksum
    with demo.unit_of_work() as uow, pytest.raises(DutiesNotSegregated) as refused:
        reviews.decide(uow, editor, checksum, "approved", "Looks right")
    assert refused.value.rule == "definition_reviewer_not_author"
    with demo.unit_of_work() as uow:
        row = reviews.decide(uow, actors["compliance"], checksum, "approved", "The new field is fine")
        assert row.forms_checksum == submission.forms_checksum  # the sign-off covers the draft's forms



def test_deploy_pins_the_reviewed_draft_form_and_each_case_keeps_its_versions_form(governed, actors, case):
    demo, owner = governed, actors["owner"]
    on_v1 = case.register()
    draft_id = _open(demo, owner)
    _save_new_field(demo, owner, draft_id)
    with demo.unit_of_work() as uow:
        submission_id = drafts.submit_for_review(uow, owner, draft_id).id
    with demo.unit_of_work() as uow:  # the desk lists the form-only change (the same BPMN bytes as version 1)
        pending = reviews.desk(uow, actors["compliance"])["submissions"]
        assert [p["id"] for p in pending] == [submission_id] and pending[0]["review"] is None
        result = reviews.submission_diff(uow, actors["compliance"], submission_id)
        assert result["same_file"]
        aspects = [(c.element_id, c.aspect) for c in result["changes"].changes]
        assert ("classify_complaint", f"form_field:{NEW_FIELD}") in aspects
        reviews.decide(uow, actors["compliance"], result["new"]["checksum"], "approved", "Reviewed the form")
    with demo.unit_of_work() as uow:
        version = drafts.deploy_draft(uow, owner, draft_id, "Classification needs its basis")
        assert version.version == 2 and NEW_FIELD in json.loads(version.forms[FORM])["required"]
        assert json.loads(version.forms[FORM])["properties"][NEW_FIELD]["x-i18n"] == {"zh": {"title": "分类依据"}}
    assert NEW_FIELD not in json.loads((demo.settings.forms_dir / FORM).read_text("utf-8"))["properties"]
    on_v2 = case.register(2)
    v1_task, v2_task = case.task(on_v1, "classify_complaint"), case.task(on_v2, "classify_complaint")
    with demo.unit_of_work() as uow:
        v2_form = user_tasks.task_view(uow, actors["coordinator"], v2_task)["form"]
        assert NEW_FIELD in v2_form["required"] and v2_form["properties"][NEW_FIELD]["title"] == \
            "Basis of the classification"
        assert NEW_FIELD not in user_tasks.task_view(uow, actors["coordinator"], v1_task)["form"]["properties"]
    with pytest.raises(InvalidSubmission) as refused:
        case.classify(on_v2)
    assert NEW_FIELD in refused.value.errors
    case.classify(on_v1)
    case.classify(on_v2, **{NEW_FIELD: "The fee schedule"})


def test_a_form_edited_after_the_sign_off_is_not_deployed_under_it(governed, actors):
    demo, owner = governed, actors["owner"]
    draft_id = _open(demo, owner)
    _save_new_field(demo, owner, draft_id)
    with demo.unit_of_work() as uow:
        checksum = drafts.submit_for_review(uow, owner, draft_id).checksum
    with demo.unit_of_work() as uow:
        reviews.decide(uow, actors["compliance"], checksum, "approved", "Reviewed")
    with demo.unit_of_work() as uow:  # retitled after the sign-off
        schema = draft_forms.form_of(uow, owner, draft_id, FORM)
        schema["properties"][NEW_FIELD]["title"] = "Why this category"
        draft_forms.save_draft_form(uow, owner, draft_id, FORM, schema)
    with demo.unit_of_work() as uow:
        assert reviews.draft_review(uow, uow.session.get(ProcessDraft, draft_id), forms_digest(
            drafts.forms_of_draft(uow, uow.session.get(ProcessDraft, draft_id))))["review"] is None
    with demo.unit_of_work() as uow, pytest.raises(InvalidDefinition, match="forms this file's tasks name"):
        drafts.deploy_draft(uow, owner, draft_id, "Not what was reviewed")


def test_a_new_form_of_the_draft_validates_and_is_pinned(demo, actors):
    owner = actors["owner"]
    draft_id = _open(demo, owner)
    new_form = {"$schema": form_editor.SCHEMA_DIALECT, "type": "object", "title": "Classify with basis",
                "properties": {"category": {"type": "string", "title": "Category"}}, "required": ["category"]}
    with demo.unit_of_work() as uow:
        draft_forms.save_draft_form(uow, owner, draft_id, "classify_with_basis.schema.json", new_form)
        draft = uow.session.get(ProcessDraft, draft_id)
        drafts.save_draft(uow, owner, draft_id, draft.bpmn_source.replace(
            f'value="{FORM}"', 'value="classify_with_basis.schema.json"'))
    with demo.unit_of_work() as uow:
        assert drafts.validate_draft(uow, owner, draft_id).valid
        changes = drafts.draft_changes(uow, owner, draft_id)
        assert next(c.aspect for c in changes if c.element_id == "classify_complaint") == "form"
    with demo.unit_of_work() as uow:
        version = drafts.deploy_draft(uow, owner, draft_id, "A form of its own")
        assert json.loads(version.forms["classify_with_basis.schema.json"])["title"] == "Classify with basis"
        assert FORM not in version.forms
