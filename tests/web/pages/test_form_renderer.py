"""The one form renderer: kinds, declared order, conditions and typed parsing, over the real app/forms."""
from __future__ import annotations

from werkzeug.datastructures import MultiDict

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
