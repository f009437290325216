"""The semantic diff over real edited copies of processes/complaint_handling.bpmn (issues 18 and 24): what
compliance signs is what runs, so every executed aspect is named with its old and new value."""
from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest

from app.engine.config.settings import load_settings
from app.engine.core.errors import InvalidDefinition
from app.engine.governance import definitions, reviews
from app.engine.workflow.diff import diff_bpmn, elements_of
from app.engine.workflow.parsing import parse_process

PROCESSES = Path(__file__).parents[2] / "processes"
SOURCE = (PROCESSES / "complaint_handling.bpmn").read_text()
SETTINGS = load_settings()
PERFORMER = '<spiffworkflow:property name="performer" value="{}" />'
FORM = '<spiffworkflow:property name="formJsonSchemaFilename" value="{}.schema.json" />'
REJECTED = 'approval_decision == "reject"'
TRIAGE_POST_SCRIPT = "departments = [lead_department] + [d for d in co_departments if d != lead_department]"


def replaced(source: str, *pairs: tuple[str, str]) -> str:
    """Each (old, new) replaced; each old must occur exactly once, so an edit cannot silently miss."""
    for old, new in pairs:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


def move_to_lane(source: str, element_id: str, after_ref: str) -> str:
    """Move ``element_id``'s flowNodeRef next to ``after_ref`` (another lane), as the modeler does on a drag."""
    ref = f"<bpmn:flowNodeRef>{element_id}</bpmn:flowNodeRef>"
    anchor = f"<bpmn:flowNodeRef>{after_ref}</bpmn:flowNodeRef>"
    return replaced(source, (ref, ""), (anchor, anchor + ref))


def reassign_approval(source: str) -> str:
    """"Approve resolution" to the coordinators: performer and lane together, as validation requires."""
    return replaced(move_to_lane(source, "approve_resolution", "triage_complaint"),
                    (PERFORMER.format("Approver"), PERFORMER.format("Complaint management")))


def without_performers(source: str) -> str:
    """The file as versions from before performer properties were: the lane alone decides."""
    stripped = re.sub(r'\s*<spiffworkflow:property name="performer" value="[^"]*" />', "", source)
    assert stripped != source
    return stripped


def diff(new: str, old: str = SOURCE, settings=SETTINGS, forms_dir: Path | None = None):
    return diff_bpmn(old, new, lane_roles=settings.lane_roles, sla_profile=settings.sla_profile,
                     forms_dir=forms_dir)


def by_aspect(changes) -> dict[tuple[str, str | None], object]:
    return {(c.element_id, c.aspect): c for c in changes}


def test_identical_files_have_no_changes():
    assert diff(SOURCE, forms_dir=SETTINGS.forms_dir).changes == []


def test_a_change_of_performer_is_a_change_of_role_with_the_roles_of_both_lanes():
    changes = diff(reassign_approval(SOURCE)).changes
    assert len(changes) == 1
    change = changes[0]
    assert (change.kind, change.element_id, change.aspect) == ("role", "approve_resolution", "performer")
    assert (change.old, change.new) == ("Approver", "Complaint management")
    assert change.old_roles == ("approver",) and change.new_roles == ("coordinator",)


def test_versions_without_performers_are_read_by_their_lane():
    old = without_performers(SOURCE)
    assert diff(SOURCE, old=old).changes == []  # adding the performer of the lane changes nobody's work
    [change] = diff(SOURCE, old=move_to_lane(old, "approve_resolution", "triage_complaint")).changes
    assert (change.kind, change.aspect, change.old, change.new) == (
        "role", "performer", "Complaint management", "Approver")


def test_a_subprocess_drawn_in_a_lane_gives_the_tasks_inside_its_lane():
    """As SpiffWorkflow parses it: every task inside an embedded subprocess that lies in a lane gets that lane,
    whatever lane its own flowNodeRef names (here, a version without performers)."""
    old = without_performers(SOURCE)
    anchor = "<bpmn:flowNodeRef>investigation_merge</bpmn:flowNodeRef>"
    new = replaced(old, (anchor, anchor + "<bpmn:flowNodeRef>handle_complaint</bpmn:flowNodeRef>"))
    roles = {c.element_id: (c.old, c.new) for c in diff(new, old=old).role_changes}
    assert roles == {"triage_complaint": ("Complaint management", "Departments"),
                     "approve_resolution": ("Approver", "Departments")}


def test_changed_form_with_old_and_new_value():
    new = SOURCE.replace('value="approve_resolution.schema.json"', 'value="approve_extension.schema.json"')
    [change] = diff(new).changes  # without a forms folder, by name only
    assert (change.kind, change.element_id, change.aspect) == ("changed", "approve_resolution", "form")
    assert (change.old, change.new) == ("approve_resolution.schema.json", "approve_extension.schema.json")


def test_another_form_file_names_each_field_that_renders_differently():
    new = SOURCE.replace('value="approve_resolution.schema.json"', 'value="approve_extension.schema.json"')
    changes = by_aspect(diff(new, forms_dir=SETTINGS.forms_dir).changes)
    gone = changes[("approve_resolution", "form_field:approval_decision")]
    assert gone.old.startswith("required ") and '"const": "reject"' in gone.old and gone.new is None
    came = changes[("approve_resolution", "form_field:extension_decision")]
    assert came.old is None and came.new.startswith("required ") and '"const": "refuse"' in came.new
    assert "Approve further extension" in changes[("approve_resolution", "form_rules")].new


def test_timer_shows_the_sla_as_the_active_profile_counts_it():
    new = SOURCE.replace('sla_due_at("feedback_wait")', 'sla_due_at("decision")')
    changes = {c.aspect: c for c in diff(new).changes}
    assert set(changes) == {"timer", "sla"}
    assert changes["timer"].element_id == "feedback_wait_expired"
    assert 'sla_due_at("decision")' in changes["timer"].new
    assert changes["sla"].old == "feedback_wait = P7D calendar_days from received (SLA profile cn_cbirc)"
    assert changes["sla"].new == "decision = P15D calendar_days from received (SLA profile cn_cbirc)"
    # Another regime, the same edit: its own durations, and the products its decision SLA puts on another track.
    uk = {c.aspect: c for c in diff(new, settings=load_settings(sla_profile="uk_fca")).changes}
    assert uk["sla"].old == "feedback_wait = P14D calendar_days from received (SLA profile uk_fca)"
    assert uk["sla"].new.startswith("decision = P56D calendar_days from received, for ")
    assert "debit_card" in uk["sla"].new and "credit_card" not in uk["sla"].new   # the flagged product codes
    assert "payment_services_decision = P15D business_days_close" in uk["sla"].new


def test_operator_parameter_script_condition_and_collection_changes():
    new = replaced(SOURCE,
                   ("""value='"no_feedback" if customer_satisfied is None else ("resolved" if customer_satisfied else {"maintain": "final_response_maintained", "refer": "referred"}[reopen_target])'""",
                    """value='"resolved"'"""),
                   (REJECTED, 'approval_decision != "approve"'),
                   ("<bpmn:loopDataInputRef>departments</bpmn:loopDataInputRef>",
                    "<bpmn:loopDataInputRef>co_departments</bpmn:loopDataInputRef>"),
                   ('serviceTaskOperator id="send_reply"', 'serviceTaskOperator id="send_acknowledgement"'))
    changes = by_aspect(diff(new).changes)
    assert changes[("close_complaint_task", "parameter:outcome")].new == '"resolved" (str)'
    assert changes[("send_reply_task", "operator")].old == "send_reply"
    condition = changes[("flow_rejected_to_draft_merge", "condition")]
    assert (condition.old, condition.new) == (REJECTED, 'approval_decision != "approve"')
    collection = changes[("investigate_complaint", "collection")]
    assert "input=departments" in collection.old and "input=co_departments" in collection.new


def test_a_new_task_shows_what_it_does_and_a_removed_one_what_it_did():
    new_task = """
      <bpmn:userTask id="second_approval" name="Second approval">
        <bpmn:extensionElements>
          <spiffworkflow:properties>
            <spiffworkflow:property name="formJsonSchemaFilename" value="approve_resolution.schema.json" />
            <spiffworkflow:property name="performer" value="Approver" />
            <spiffworkflow:property name="assignedDepartment" value="lead_department" />
          </spiffworkflow:properties>
          <spiffworkflow:preScript>second_look = True</spiffworkflow:preScript>
          <spiffworkflow:postScript>approved_twice = approval_decision == "approve"</spiffworkflow:postScript>
        </bpmn:extensionElements>
      </bpmn:userTask>
      <bpmn:userTask id="approve_resolution" """
    new = replaced(SOURCE, ('\n      <bpmn:userTask id="approve_resolution" ', new_task),
                   ('id="classify_complaint"', 'id="classify_complaint_v2"'))
    changes = diff(new, forms_dir=SETTINGS.forms_dir).changes
    [added] = [c for c in changes if c.element_id == "second_approval"]
    details = dict(added.details)
    assert added.kind == "added" and added.element_name == "Second approval"
    assert (details["performer"], details["roles"]) == ("Approver", "approver")
    assert details["form"] == "approve_resolution.schema.json"
    assert details["form_order"] == "approval_decision*, approval_comment"
    assert details["department"] == "lead_department"
    assert details["pre_script"] == "second_look = True"
    assert details["post_script"] == 'approved_twice = approval_decision == "approve"'
    [removed] = [c for c in changes if c.element_id == "classify_complaint"]
    details = dict(removed.details)
    assert removed.kind == "removed"
    assert (details["performer"], details["form"]) == ("Intake desk", "classify_complaint.schema.json")
    assert details["roles"] == "intake_agent, coordinator"


def test_a_duplicated_post_script_shows_the_one_the_engine_runs_and_is_flagged():
    post_script = f"<spiffworkflow:postScript>{TRIAGE_POST_SCRIPT}</spiffworkflow:postScript>"
    new = replaced(SOURCE, (post_script, "<spiffworkflow:postScript>departments = []</spiffworkflow:postScript>\n"
                                         + post_script))
    result = diff(new)
    # SpiffWorkflow runs the last postScript: unchanged, so no change of script; the duplicate is named.
    [change] = result.changes
    assert (change.element_id, change.aspect, change.old) == ("triage_complaint", "duplicates", None)
    assert "spiffworkflow:postScript 2 times" in change.new
    assert [element for element, _ in result.duplicates] == ["triage_complaint"]
    swapped = diff(replaced(new, ("departments = []", "departments = [lead_department]")))
    assert ("triage_complaint", "post_script") not in by_aspect(swapped.changes)


def test_the_diff_reads_what_spiffworkflow_parses():
    """Checked against SpiffWorkflow itself, on a file with duplicates where it keeps the last of each: every
    script, form, performer lane, timer expression and service call the engine runs is the one the diff shows."""
    post_script = f"<spiffworkflow:postScript>{TRIAGE_POST_SCRIPT}</spiffworkflow:postScript>"
    edited = replaced(SOURCE, (post_script, "<spiffworkflow:postScript>departments = []</spiffworkflow:postScript>"
                                            + post_script + "<spiffworkflow:preScript>a = 1</spiffworkflow:preScript>"
                                            + "<spiffworkflow:preScript>a = 2</spiffworkflow:preScript>"),
                      (PERFORMER.format("Approver"), PERFORMER.format("Departments") + PERFORMER.format("Approver")),
                      (FORM.format("classify_complaint"),  # two properties blocks: the second one counts
                       FORM.format("triage_complaint") + "</spiffworkflow:properties>\n<spiffworkflow:properties>"
                       + FORM.format("classify_complaint")))
    files = {"complaint_handling.bpmn": edited.encode(), "escalation.bpmn": (PROCESSES / "escalation.bpmn").read_bytes()}
    spec, called = parse_process(files, "complaint_handling")
    escalation, complaint_handling = elements_of(files["escalation.bpmn"]), elements_of(edited)
    assert not set(escalation) & set(complaint_handling)
    elements = {**escalation, **complaint_handling}
    seen: dict[str, dict[str, set]] = {}
    for task_spec in [t for s in (spec, *called.values()) for t in s.task_specs.values()]:
        element = elements.get(task_spec.bpmn_id or "")
        if element is None:
            continue
        found = seen.setdefault(task_spec.bpmn_id, {})
        properties = getattr(task_spec, "extensions", {}).get("properties", {})
        for aspect, value in (("pre_script", getattr(task_spec, "prescript", None)),
                              ("post_script", getattr(task_spec, "postscript", None)),
                              ("script", getattr(task_spec, "script", None)),
                              ("form", properties.get("formJsonSchemaFilename")),
                              ("operator", getattr(task_spec, "operation_name", None)),
                              ("timer", getattr(getattr(task_spec, "event_definition", None), "expression", None))):
            if value is not None:
                found.setdefault(aspect, set()).add(value.strip())
        if element["type"] == "userTask" and task_spec.lane is not None:
            found.setdefault("performer", set()).add(properties.get("performer") or task_spec.lane)
    checked = 0
    for element_id, aspects in seen.items():
        for aspect, values in aspects.items():
            shown = elements[element_id].get(aspect)
            shown = shown.split(": ", 1)[1] if aspect == "timer" else shown
            assert values == {shown}, (element_id, aspect, values, shown)
            checked += 1
    assert seen["triage_complaint"]["post_script"] == {TRIAGE_POST_SCRIPT}
    assert seen["triage_complaint"]["pre_script"] == {"a = 2"}
    assert seen["approve_resolution"]["performer"] == {"Approver"}
    assert seen["classify_complaint"]["form"] == {"classify_complaint.schema.json"}
    assert checked > 20, checked


def test_validation_refuses_duplicated_extension_elements_naming_element_and_line(runtime):
    files = definitions.read_directory(runtime.settings.processes_dir)
    source = files["complaint_handling.bpmn"].decode()
    before = definitions.validate_files(runtime, files)
    post_script = f"<spiffworkflow:postScript>{TRIAGE_POST_SCRIPT}</spiffworkflow:postScript>"
    # triage_complaint's own properties again: the second block alone would run, and it is the same, so only the
    # duplicate itself is wrong (as with the performer property set twice to the same lane).
    [properties] = re.findall(r"<spiffworkflow:properties>(?:(?!</spiffworkflow:properties>).)*triage_complaint\.schema"
                              r".*?</spiffworkflow:properties>", source, re.S)
    edits = {
        "postScript": (post_script, post_script + "\n<spiffworkflow:postScript>departments = []</spiffworkflow:postScript>"),
        "property": (PERFORMER.format("Approver"), PERFORMER.format("Approver") * 2),
        "properties": (post_script, post_script + properties),
    }
    for what, edit in edits.items():
        edited = replaced(source, edit)
        found = [e for e in definitions.validate_files(runtime, {**files, "complaint_handling.bpmn": edited.encode()})
                 if e not in before]
        assert len(found) == 1, (what, found)
        [error] = found
        expected = "triage_complaint" if what != "property" else "approve_resolution"
        assert error.element_id == expected and what in error.message, error
        assert error.line == 1 + edited[:edited.index(edit[1]) + len(edit[0]) + 1].count("\n"), error


def test_hostile_xml_is_refused_not_resolved():
    evil = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    with pytest.raises(InvalidDefinition):
        diff(evil)


def test_added_and_removed_elements_and_layout_ignored():
    new = SOURCE.replace('id="classify_complaint"', 'id="classify_complaint_v2"')
    kinds = {(c.kind, c.element_id) for c in diff(new).changes}
    assert ("removed", "classify_complaint") in kinds and ("added", "classify_complaint_v2") in kinds
    moved = SOURCE.replace('<dc:Bounds x="', '<dc:Bounds x="1', 1)
    assert moved != SOURCE and diff(moved).changes == []


# --- the review of deployed versions (issue 24: what compliance signs is what runs) --------------------------------

@pytest.fixture
def forms_copy(demo, tmp_path):
    """The demo runtime reading its forms from a copy of app/forms with a second approval form: approval_comment
    now always required, and a new field."""
    forms = tmp_path / "forms"
    shutil.copytree(demo.settings.forms_dir, forms)
    schema = json.loads((forms / "approve_resolution.schema.json").read_text())
    schema["required"] = ["approval_decision", "approval_comment"]
    schema["properties"]["approval_reference"] = {"type": "string", "title": "Reference"}
    (forms / "approve_resolution_v2.schema.json").write_text(json.dumps(schema))
    demo.settings = dataclasses.replace(demo.settings, forms_dir=forms)
    return demo


def deploy(runtime, actor, **sources: str) -> dict[str, int]:
    files = definitions.read_directory(runtime.settings.processes_dir)
    files.update({f"{name}.bpmn": source.encode() for name, source in sources.items()})
    with runtime.unit_of_work() as uow:
        return {d.process_id: d.id for d in definitions.deploy(uow, actor, files, reason="test")}


def test_the_review_of_a_version_names_performer_form_condition_and_post_script_changes(forms_copy, actors):
    new = replaced(reassign_approval(SOURCE),
                   ('value="approve_resolution.schema.json"', 'value="approve_resolution_v2.schema.json"'),
                   (REJECTED, 'approval_decision in ("reject", "rework")'),
                   (TRIAGE_POST_SCRIPT, "departments = [lead_department]"))
    version = deploy(forms_copy, actors["owner"], complaint_handling=new)["complaint_handling"]
    with forms_copy.unit_of_work() as uow:
        result = reviews.version_diff(uow, actors["compliance"], version)
    assert (result["old"]["version"], result["new"]["version"], result["sla_profile"]) == (1, 2, "cn_cbirc")
    changes = by_aspect(result["changes"].changes)
    performer = changes[("approve_resolution", "performer")]
    assert (performer.kind, performer.old, performer.new) == ("role", "Approver", "Complaint management")
    assert (performer.old_roles, performer.new_roles) == (("approver",), ("coordinator",))
    form = changes[("approve_resolution", "form")]
    assert (form.old, form.new) == ("approve_resolution.schema.json", "approve_resolution_v2.schema.json")
    comment = changes[("approve_resolution", "form_field:approval_comment")]
    assert comment.old.startswith("optional ") and comment.new.startswith("required ")
    reference = changes[("approve_resolution", "form_field:approval_reference")]
    assert (reference.old, reference.new) == (None, 'optional {"title": "Reference", "type": "string"}')
    condition = changes[("flow_rejected_to_draft_merge", "condition")]
    assert (condition.old, condition.new) == (REJECTED, 'approval_decision in ("reject", "rework")')
    script = changes[("triage_complaint", "post_script")]
    assert (script.old, script.new) == (TRIAGE_POST_SCRIPT, "departments = [lead_department]")
    assert {c.kind for c in result["changes"].changes} == {"role", "changed"}
    assert len(result["changes"].changes) == 6  # nothing else: the form's order and rules are the same


def test_a_version_that_binds_another_escalation_is_not_reported_unchanged(demo, actors):
    """The same complaint_handling bytes, deployed again because the escalation it calls changed: the version's
    review names the called version instead of saying "no change"."""
    escalation = (PROCESSES / "escalation.bpmn").read_text()
    edited = replaced(escalation, ('sla_due_at("escalation_response")', 'sla_due_at("first_response")'))
    version = deploy(demo, actors["owner"], escalation=edited)["complaint_handling"]
    with demo.unit_of_work() as uow:
        result = reviews.version_diff(uow, actors["compliance"], version)
    assert result["same_file"] and result["new"]["version"] == 2
    changes = result["changes"].changes
    assert {c.element_id for c in changes} == {"escalate_first_response", "escalate_handling_deadline",
                                               "escalate_urgent_promise", "escalate_regulatory_response",
                                               "escalate_verification", "escalate_reopen_decision"}
    assert {c.aspect for c in changes} == {"called_version"}
    assert changes[0].old.startswith("escalation version 1 (sha256 ")
    assert changes[0].new.startswith("escalation version 2 (sha256 ")


def test_a_deployed_submission_is_compared_with_the_version_it_replaced(demo, actors):
    new = replaced(SOURCE, (REJECTED, 'approval_decision != "approve"'))
    with demo.unit_of_work() as uow:
        submission = reviews.submit(uow, actors["owner"], process_id="complaint_handling",
                                    file_name="complaint_handling.bpmn", source=new).id
    with demo.unit_of_work() as uow:
        waiting = reviews.submission_diff(uow, actors["compliance"], submission)
    deploy(demo, actors["owner"], complaint_handling=new)
    with demo.unit_of_work() as uow:
        deployed = reviews.submission_diff(uow, actors["compliance"], submission)
    for result in (waiting, deployed):
        assert result["old"]["version"] == 1 and not result["same_file"]
        [change] = result["changes"].changes
        assert (change.element_id, change.aspect) == ("flow_rejected_to_draft_merge", "condition")
    assert waiting["new"]["deployed_as"] is None and deployed["new"]["deployed_as"]["version"] == 2
