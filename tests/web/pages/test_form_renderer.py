"""The one form renderer: kinds, declared order, conditions and typed parsing, over the real app/forms."""
from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from app.engine.core.errors import InvalidSubmission
from app.web.pages import form_renderer as fr


def _fields(app, demo, form, values=None, errors=None):
    with app.test_request_context("/"):
        return fr.fields(demo.forms.schema_for_client(form), values, errors)


def test_every_form_renders_in_declared_order_with_a_kind_per_field(app, demo):
    expected = {
        "approve_resolution.schema.json": {"approval_decision": "select", "approval_comment": "textarea"},
        "triage_complaint.schema.json": {"lead_department": "select", "co_departments": "checklist"},
        "record_feedback.schema.json": {"customer_satisfied": "boolean", "satisfaction_rating": "integer"},
        "draft_resolution.schema.json": {"redress_amount": "money", "remedy_type": "select"},
        "register_complaint.schema.json": {"description": "textarea", "amount_involved": "money",
                                           "channel": "select"},
    }
    for form, kinds in expected.items():
        fields = _fields(app, demo, form)
        assert [f.name for f in fields] == list(demo.forms.schema_for_client(form)["properties"])
        for field in fields:
            if field.name in kinds:
                assert field.kind == kinds[field.name], (form, field.name)
            assert field.label and field.input_id == f"field-{field.name}"


def test_conditionally_required_fields_carry_their_condition(app, demo):
    by_name = {f.name: f for f in _fields(app, demo, "approve_resolution.schema.json")}
    assert by_name["approval_comment"].show_when == {"field": "approval_decision", "values": ["reject"]}
    assert by_name["approval_comment"].required and by_name["approval_decision"].show_when is None
    by_name = {f.name: f for f in _fields(app, demo, "register_complaint.schema.json")}
    assert set(by_name["forwarded_reference"].show_when["values"]) == {"regulator", "media", "consumer_association"}


def test_parse_gives_the_schema_types_and_keeps_what_does_not_convert(demo):
    feedback = demo.forms.schema_for_client("record_feedback.schema.json")
    assert fr.parse(feedback, MultiDict({"customer_satisfied": "false", "satisfaction_rating": "4",
                                         "feedback_comment": ""})) == {"customer_satisfied": False,
                                                                       "satisfaction_rating": 4}
    assert fr.parse(feedback, MultiDict({"satisfaction_rating": "four"})) == {"satisfaction_rating": "four"}
    draft = demo.forms.schema_for_client("draft_resolution.schema.json")
    assert fr.parse(draft, MultiDict({"redress_amount": " 1,250.50 "}))["redress_amount"] == "1250.50"
    assert fr.parse(draft, MultiDict({"redress_amount": ""}))["redress_amount"] is None  # nullable: null
    triage = demo.forms.schema_for_client("triage_complaint.schema.json")
    assert fr.parse(triage, MultiDict({"co_departments__present": "1"})) == {"co_departments": []}
    assert fr.parse(triage, MultiDict([("co_departments", "cards"), ("co_departments", "operations")])) == {
        "co_departments": ["cards", "operations"]}


def test_validator_messages_are_said_plainly(app):
    with app.test_request_context("/"):
        assert fr.friendly("This field is required") == "This field is required."
        assert fr.friendly("'abc' does not match '^[0-9]+$'") == "Please check the format of this value."
        assert fr.friendly("'x' is not of type 'integer'") == "Please enter a whole number."


def test_required_marks_match_the_rules_of_every_form(app, demo):
    """Marked required exactly when the schema requires the field: always (top-level ``required``), or under a
    condition the page shows the field for (then it is required); a field the schema does not require is not."""
    for form in demo.forms.names():
        schema = demo.forms.schema_for_client(form)
        conditional = fr.conditions(schema)
        for field in _fields(app, demo, form):
            expected = field.name in schema.get("required", []) or conditional.get(field.name) is not None
            assert field.required == expected, (form, field.name)
            assert field.sometimes_required == (field.name in conditional and conditional[field.name] is None)
    triage = {f.name: f for f in _fields(app, demo, "triage_complaint.schema.json")}
    assert triage["lead_department"].required and not triage["co_departments"].required  # may be empty
    draft = {f.name: f for f in _fields(app, demo, "draft_resolution.schema.json")}
    assert draft["redress_amount"].required
    assert draft["redress_amount"].show_when == {"field": "remedy_type", "values": ["monetary_redress"]}
    assert not draft["redress_description"].required and draft["redress_description"].show_when is None


def test_conditions_read_else_branches_nested_rules_and_leave_the_rest_marked_in_words(app):
    schema = {"type": "object", "required": ["target"], "properties": {
        "target": {"type": "string", "oneOf": [{"const": "a", "title": "A"}, {"const": "b", "title": "B"},
                                                {"const": "c", "title": "C"}]},
        "reason": {"type": "string"}, "department": {"type": "string"}, "note": {"type": "string"},
        "other": {"type": "string"}},
        "allOf": [{"if": {"properties": {"target": {"const": "a"}}}, "then": {"required": ["department"]},
                   "else": {"required": ["reason"]}},
                  {"allOf": [{"if": {"properties": {"target": {"enum": ["b"]}, "reason": {"const": "x"}}},
                              "then": {"required": ["note"]}}]}]}
    assert fr.conditions(schema) == {"department": {"field": "target", "values": ["a"]},
                                     "reason": {"field": "target", "values": ["b", "c"]}, "note": None}
    with app.test_request_context("/"):
        by_name = {f.name: f for f in fr.fields(schema)}
    assert by_name["note"].sometimes_required and not by_name["note"].required and by_name["note"].show_when is None
    assert not by_name["other"].required and not by_name["other"].sometimes_required


def test_a_message_said_next_to_its_field_in_the_readers_language(app, demo):
    store = demo.forms
    form = "triage_complaint.schema.json"
    with pytest.raises(InvalidSubmission) as raised:
        store.validate(form, {"lead_department": "cards", "co_departments": ["cards", "moon"], "extra": 1})
    errors = raised.value.errors
    schema = store.schema_for_client(form)
    for language, expected in (("en", ("Credit cards cannot be both the lead department and one of the "
                                       "co-investigating departments")),
                               ("zh-CN", "信用卡部不能既是主办部门又是协查部门之一")):
        with app.test_request_context("/", headers={"Accept-Language": language}):
            by_name = {f.name: f for f in fr.fields(schema, {}, errors)}
            general = fr.general_errors(schema, errors)
        # the list's own message and its third choice's, both next to the list
        assert by_name["co_departments"].errors[0] == expected
        assert len(by_name["co_departments"].errors) == 2
        assert general == [{"en": "This field is not part of the form",
                            "zh-CN": "此字段不属于本表单"}[language]]
