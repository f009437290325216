"""The semantic diff over real edited copies of processes/complaint_handling.bpmn (issue 18)."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.config.settings import load_settings
from app.engine.core.errors import InvalidDefinition
from app.engine.workflow.diff import diff_bpmn

SOURCE = (Path(__file__).parents[2] / "processes" / "complaint_handling.bpmn").read_text()
SETTINGS = load_settings()
SLA_NAMES = frozenset(SETTINGS.sla_profile.slas)


def move_to_lane(source: str, element_id: str, after_ref: str) -> str:
    """Move ``element_id``'s flowNodeRef next to ``after_ref`` (another lane), as the modeler does on a drag."""
    ref = f"<bpmn:flowNodeRef>{element_id}</bpmn:flowNodeRef>"
    anchor = f"<bpmn:flowNodeRef>{after_ref}</bpmn:flowNodeRef>"
    assert source.count(ref) == 1 and source.count(anchor) == 1
    return source.replace(ref, "").replace(anchor, anchor + ref)


def diff(new: str):
    return diff_bpmn(SOURCE, new, lane_roles=SETTINGS.lane_roles, sla_names=SLA_NAMES)


def test_identical_files_have_no_changes():
    assert diff(SOURCE).changes == []


def test_lane_move_is_a_change_of_role_with_the_roles_of_both_lanes():
    changes = diff(move_to_lane(SOURCE, "approve_resolution", "triage_complaint")).changes
    assert len(changes) == 1
    change = changes[0]
    assert (change.kind, change.element_id, change.aspect) == ("role", "approve_resolution", "lane")
    assert (change.old, change.new) == ("Approver", "Complaint management")
    assert change.old_roles == ("approver",) and change.new_roles == ("coordinator",)


def test_changed_form_with_old_and_new_value():
    new = SOURCE.replace('value="approve_resolution.schema.json"', 'value="approve_extension.schema.json"')
    [change] = diff(new).changes
    assert (change.kind, change.element_id, change.aspect) == ("changed", "approve_resolution", "form")
    assert (change.old, change.new) == ("approve_resolution.schema.json", "approve_extension.schema.json")


def test_changed_sla_in_a_timer_expression_names_both_slas():
    new = SOURCE.replace('sla_due_at("feedback_wait")', 'sla_due_at("decision")')
    changes = {c.aspect: c for c in diff(new).changes}
    assert set(changes) == {"timer", "sla"}
    assert (changes["sla"].old, changes["sla"].new) == ("feedback_wait", "decision")
    assert changes["timer"].element_id == "feedback_wait_expired"
    assert 'sla_due_at("decision")' in changes["timer"].new


def test_operator_parameter_script_condition_and_collection_changes():
    new = (SOURCE.replace("""value='"no_feedback" if customer_satisfied is None else "resolved"'""",
                          """value='"resolved"'""")
           .replace('approval_decision == "reject"', 'approval_decision != "approve"')
           .replace("<bpmn:loopDataInputRef>departments</bpmn:loopDataInputRef>",
                    "<bpmn:loopDataInputRef>co_departments</bpmn:loopDataInputRef>")
           .replace('serviceTaskOperator id="send_reply"', 'serviceTaskOperator id="send_acknowledgement"'))
    by_aspect = {(c.element_id, c.aspect): c for c in diff(new).changes}
    assert by_aspect[("close_complaint_task", "parameter:outcome")].new == '"resolved" (str)'
    assert by_aspect[("send_reply_task", "operator")].old == "send_reply"
    condition = next(c for (e, a), c in by_aspect.items() if a == "condition")
    assert (condition.old, condition.new) == ('approval_decision == "reject"', 'approval_decision != "approve"')
    collection = by_aspect[("investigate_complaint", "collection")]
    assert "input=departments" in collection.old and "input=co_departments" in collection.new


def test_added_and_removed_elements_and_layout_ignored():
    new = SOURCE.replace('id="classify_complaint"', 'id="classify_complaint_v2"')
    kinds = {(c.kind, c.element_id) for c in diff(new).changes}
    assert ("removed", "classify_complaint") in kinds and ("added", "classify_complaint_v2") in kinds
    moved = SOURCE.replace('<dc:Bounds x="', '<dc:Bounds x="1', 1)
    assert moved != SOURCE and diff(moved).changes == []


def test_hostile_xml_is_refused_not_resolved():
    evil = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    with pytest.raises(InvalidDefinition):
        diff(evil)
