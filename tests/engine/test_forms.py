"""The forms in app/forms/ and the rules FormStore applies to every one of them (no database needed)."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from app.engine.config.settings import load_settings
from app.engine.core.errors import InvalidSubmission
from app.engine.demo.simulation import answer, sample_registration
from app.engine.forms import (
    CODED_FORMATS,
    HAS_CONTENT,
    TEXT_MAX_LENGTH,
    FormDefinitionError,
    FormStore,
    choice_values,
    classification_choices,
    complaint_column_lengths,
)
from app.engine.models import Complaint

SETTINGS = load_settings()
FORMS_DIR = SETTINGS.forms_dir
FORMS = sorted(p.name for p in FORMS_DIR.glob("*.schema.json"))
DEPARTMENTS = list(SETTINGS.departments)


@pytest.fixture(scope="module")
def store() -> FormStore:
    return FormStore(FORMS_DIR, SETTINGS.departments, extensions=SETTINGS.sla_profile.extension_titles(),
                     coded=classification_choices(SETTINGS.classification, date(2026, 12, 7)))


def valid_data(form: str) -> dict:
    """What a person would submit: the simulation's answers (registration for the registration form)."""
    if form == "register_complaint.schema.json":
        return sample_registration(1)
    try:
        return answer(1, form.removesuffix(".schema.json"), 1, DEPARTMENTS)
    except ValueError:
        pytest.skip(f"app/engine/simulation.py has no answer for {form} yet")


def errors_of(store, form, data) -> dict:
    with pytest.raises(InvalidSubmission) as raised:
        store.validate(form, data)
    return raised.value.errors


def raw(form: str) -> dict:
    return json.loads((FORMS_DIR / form).read_text(encoding="utf-8"))


def walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


# --- every form -------------------------------------------------------------------------------------------

def test_there_are_forms_and_the_store_lists_them(store):
    assert len(FORMS) >= 8 and store.names() == FORMS


@pytest.mark.parametrize("form", FORMS)
def test_the_simulations_answers_are_valid(store, form):
    assert store.validate(form, valid_data(form))


@pytest.mark.parametrize("form", FORMS)
def test_every_field_has_a_title_and_help(form):
    for field, prop in raw(form)["properties"].items():
        assert prop.get("title"), f"{form}: {field} has no title"
        assert prop.get("description"), f"{form}: {field} has no description (help text)"


@pytest.mark.parametrize("form", FORMS)
def test_choices_are_standard_oneOf_const_title(store, form):
    for node in walk(store.schema_for_client(form)):
        assert "enum" not in node or node.get("title") is None, f"{form}: a bare enum in {node}"
        # x-i18n: the Chinese titles the page renderer shows (form_renderer.localized); nothing else private
        assert not any(key.startswith("x-") and key != "x-i18n" for key in node), f"{form}: a private key in {node}"
        assert node.get("format") not in ("department", *CODED_FORMATS), f"{form}: choices not spelled out"
        if "oneOf" in node and choice_values(node) is not None:
            assert all(set(option) - {"x-i18n"} == {"const", "title"} and option["title"]
                       for option in node["oneOf"])


@pytest.mark.parametrize("form", FORMS)
def test_properties_come_in_the_declared_order(store, form):
    assert list(store.schema_for_client(form)["properties"]) == list(raw(form)["properties"])


@pytest.mark.parametrize("form", FORMS)
def test_required_text_must_have_content_in_every_form(store, form):
    schema = store.schema(form)
    blank_fields = [f for f in schema["required"] if schema["properties"][f].get("pattern") == HAS_CONTENT]
    for field in blank_fields:
        asked = f"Enter the {schema['properties'][field]['title'][0].lower()}{schema['properties'][field]['title'][1:]}"
        errors = errors_of(store, form, {**valid_data(form), field: "   "})
        assert errors == {field: [asked]}, (form, field)
        errors = errors_of(store, form, {**valid_data(form), field: ""})
        assert errors == {field: [asked]}, (form, field)


def test_the_content_rule_reaches_every_required_free_text_field(store):
    covered = {(form, field) for form in FORMS for field, prop in store.schema(form)["properties"].items()
               if prop.get("pattern") == HAS_CONTENT}
    assert {("register_complaint.schema.json", "customer_name"), ("register_complaint.schema.json", "description"),
            ("investigate_complaint.schema.json", "root_cause")} <= covered
    # optional text stays optional: a blank note is not an error
    assert "pattern" not in store.schema("classify_complaint.schema.json")["properties"]["classification_note"]


@pytest.mark.parametrize("form", FORMS)
def test_every_text_field_has_a_length_limit(store, form):
    for node in walk(store.schema(form)):
        if node.get("type") in ("string", ["string", "null"]) and choice_values(node) is None \
                and "const" not in node and set(node) - {"type", "pattern", "minLength"}:
            assert "maxLength" in node, f"{form}: unbounded text {node}"


# --- one source for column lengths ---------------------------------------------------------------------------

def test_registration_limits_are_the_complaint_columns(store):
    properties = store.schema("register_complaint.schema.json")["properties"]
    columns = {c.name: c.type.length for c in Complaint.__table__.columns if getattr(c.type, "length", None)}
    text_fields = [f for f, p in properties.items() if f in columns and choice_values(p) is None]
    assert {"customer_name", "customer_contact", "customer_reference", "forwarded_reference"} <= set(
        text_fields)
    for field in text_fields:
        assert properties[field]["maxLength"] == columns[field], field
    for field, prop in properties.items():
        for choice in choice_values(prop) or ():
            assert len(choice) <= columns.get(field, len(choice)), (field, choice)
    assert complaint_column_lengths() == columns


def test_the_form_follows_when_a_column_changes(tmp_path):
    (tmp_path / "register_complaint.schema.json").write_text(
        (FORMS_DIR / "register_complaint.schema.json").read_text(encoding="utf-8"), encoding="utf-8")
    store = FormStore(tmp_path, SETTINGS.departments, column_lengths={**complaint_column_lengths(), "customer_name": 12})
    assert store.schema("register_complaint.schema.json")["properties"]["customer_name"]["maxLength"] == 12
    errors = errors_of(store, "register_complaint.schema.json", {**sample_registration(1), "customer_name": "x" * 13})
    assert errors == {"customer_name": ["Use at most 12 characters for the customer name (it has 13)"]}


def write_form(directory: Path, properties: dict, **extra) -> str:
    schema = {"type": "object", "properties": properties, "additionalProperties": False, **extra}
    (directory / "f.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    return "f.schema.json"


def test_a_form_stating_another_length_than_its_column_is_refused(tmp_path):
    form = write_form(tmp_path, {"customer_name": {"type": "string", "maxLength": 150}})
    with pytest.raises(FormDefinitionError, match="customer_name.*150.*complaints.customer_name holds 200"):
        FormStore(tmp_path, {}).schema(form)


def test_a_choice_longer_than_its_column_is_refused(tmp_path):
    form = write_form(tmp_path, {"severity": {"type": "string", "oneOf": [{"const": "x" * 21, "title": "X"}]}})
    with pytest.raises(FormDefinitionError, match="longer than the 20 characters of column complaints.severity"):
        FormStore(tmp_path, {}).schema(form)


def test_a_department_code_longer_than_the_column_is_refused(tmp_path):
    form = write_form(tmp_path, {"lead_department": {"type": "string", "format": "department"}})
    with pytest.raises(FormDefinitionError, match="lead_department"):
        FormStore(tmp_path, {"d" * 65: "Too long"}).schema(form)


def test_text_without_a_column_gets_the_general_limit(tmp_path):
    form = write_form(tmp_path, {"note": {"type": "string"}, "long": {"type": "string", "maxLength": 50_000}})
    properties = FormStore(tmp_path, {}).schema(form)["properties"]
    assert properties["note"]["maxLength"] == TEXT_MAX_LENGTH and properties["long"]["maxLength"] == 50_000


# --- choices, conditions, messages -------------------------------------------------------------------------

def test_department_choices_come_from_the_configuration(store):
    properties = store.schema_for_client("triage_complaint.schema.json")["properties"]
    expected = [{"const": code, "title": title} for code, title in SETTINGS.departments.items()]
    assert properties["lead_department"]["oneOf"] == expected
    co = properties["co_departments"]
    assert co["type"] == "array" and co["uniqueItems"] is True and co["items"]["oneOf"] == expected
    errors = errors_of(store, "triage_complaint.schema.json", {"lead_department": "treasury",
                                                               "co_departments": ["cards", "cards", "moon"]})
    assert errors["lead_department"] == ["Choose the lead department from the list (“treasury” is not one of them)"]
    assert errors["co_departments"] == ["Choose each of the co-investigating departments only once"]
    assert errors["co_departments.2"] == ["Choose the department from the list (“moon” is not one of them)"]


REMOVE = object()
# The other facts a forwarded complaint needs (issue 26), so each case below misses only its own field.
FORWARDED = {"forwarded_by": "media", "forwarded_at": "2027-03-01", "reply_route": "customer"}


@pytest.mark.parametrize("form, changes, field, message", [
    ("approve_resolution.schema.json", {"approval_decision": "reject"}, "approval_comment",
     "Enter the comment"),
    ("approve_resolution.schema.json", {"approval_decision": "reject", "approval_comment": " \t"},
     "approval_comment", "Enter the comment"),
    ("draft_resolution.schema.json", {"remedy_type": "monetary_redress", "redress_amount": None},
     "redress_amount", "Enter the redress amount"),
    ("draft_resolution.schema.json", {"remedy_type": "monetary_redress", "redress_amount": REMOVE},
     "redress_amount", "Enter the redress amount"),
    ("draft_resolution.schema.json", {"remedy_type": "monetary_redress", "redress_amount": ""},
     "redress_amount", "Enter the redress amount"),
    ("draft_resolution.schema.json", {"remedy_type": "monetary_redress", "redress_amount": "1250.0.0"},
     "redress_amount", "Enter the redress amount as an amount such as 1250.00"),
    ("register_complaint.schema.json", {"channel": "regulator", "forwarded_reference": REMOVE, **FORWARDED},
     "forwarded_reference", "Enter the forwarding body's reference"),
    ("register_complaint.schema.json", {"channel": "media", "forwarded_reference": "  ", **FORWARDED},
     "forwarded_reference", "Enter the forwarding body's reference"),
    ("register_complaint.schema.json", {"channel": "regulator", "forwarded_by": REMOVE, **{
        k: v for k, v in FORWARDED.items() if k != "forwarded_by"}, "forwarded_reference": "R-1"},
     "forwarded_by", "Choose the forwarding body"),
    ("decide_reopen.schema.json", {"reopen_reason": "   "}, "reopen_reason", "Enter the reason for reopening"),
    ("decide_reopen.schema.json", {"reopen_target": "resolution", "reopen_reason": REMOVE}, "reopen_reason",
     "Enter the reason for reopening"),
    ("decide_reopen.schema.json", {"reopen_target": "maintain", "reopen_reason": REMOVE}, "maintain_reasons",
     "Enter the reasons for maintaining the final response"),
    ("decide_reopen.schema.json", {"reopen_target": "maintain", "maintain_reasons": " "}, "maintain_reasons",
     "Enter the reasons for maintaining the final response"),
    ("decide_reopen.schema.json", {"reopen_target": "refer", "referral_reason": "Outside our remit"},
     "referral_body", "Choose the outside body"),
    ("decide_reopen.schema.json", {"reopen_target": "refer", "referral_body": "financial_mediation"},
     "referral_reason", "Enter the reason for the referral"),
    ("decide_reopen.schema.json", {"reopen_target": "refer", "referral_body": "press", "referral_reason": "x"},
     "referral_body", "Choose the outside body from the list (“press” is not one of them)"),
], ids=["reject-needs-comment", "reject-blank-comment", "monetary-needs-amount", "monetary-amount-left-out",
        "monetary-blank-amount", "monetary-impossible-amount", "regulator-needs-reference",
        "media-blank-reference", "regulator-needs-body", "reopen-needs-reason", "resolution-needs-reason",
        "maintain-needs-reasons", "maintain-blank-reasons", "refer-needs-body", "refer-needs-reason",
        "refer-body-from-the-list"])
def test_conditional_fields(store, form, changes, field, message):
    data = {k: v for k, v in {**valid_data(form), **changes}.items() if v is not REMOVE}
    assert errors_of(store, form, data) == {field: [message]}


def test_the_reopen_decision_asks_each_choice_only_for_its_own_fields(store):
    form = "decide_reopen.schema.json"
    store.validate(form, {"reopen_target": "maintain", "maintain_reasons": "The fee is in the signed agreement."})
    store.validate(form, {"reopen_target": "refer", "referral_body": "fos", "referral_reason": "Outside our remit"})
    store.validate(form, {"reopen_target": "investigation", "reopen_reason": "New evidence"})
    # both fields of a referral are named when both are missing
    assert errors_of(store, form, {"reopen_target": "refer"}) == {
        "referral_body": ["Choose the outside body"], "referral_reason": ["Enter the reason for the referral"]}


def test_conditions_leave_the_other_branch_free(store):
    store.validate("approve_resolution.schema.json", {"approval_decision": "approve", "approval_comment": "  "})
    store.validate("draft_resolution.schema.json", {**valid_data("draft_resolution.schema.json"),
                                                    "remedy_type": "explanation", "redress_amount": None})


@pytest.mark.parametrize("value, field", [
    ("Mary\x00Major", "customer_name"), ("\ud800", "product"), ("a\udfffb", "description"),
])
def test_text_no_database_can_store_is_refused_naming_the_field(store, value, field):
    errors = errors_of(store, "register_complaint.schema.json", {**sample_registration(1), field: value})
    assert list(errors) == [field]
    assert "NUL" in errors[field][0] or "surrogate" in errors[field][0]


def test_messages_quote_only_a_short_excerpt(store):
    huge = "y" * 1_000_000
    errors = errors_of(store, "register_complaint.schema.json",
                       {**sample_registration(1), "description": huge, "channel": huge, "amount_involved": huge,
                        huge: "unknown field"})
    assert errors["description"] == ["Use at most 10000 characters for the description (it has 1000000)"]
    assert len(json.dumps(errors)) < 1500, errors
    assert all(len(m) < 400 for messages in errors.values() for m in messages)


def test_wrong_types_are_named_in_words(store):
    errors = errors_of(store, "record_feedback.schema.json",
                       {"customer_satisfied": "yes", "satisfaction_rating": 9, "feedback_comment": ["x"]})
    assert errors == {"customer_satisfied": ["Choose Yes or No for “Customer satisfied”"],
                      "satisfaction_rating": ["Enter the satisfaction rating as a number from 1 to 5"],
                      "feedback_comment": ["Enter the feedback comment as text"]}
    assert errors_of(store, "record_feedback.schema.json", ["not", "an", "object"]) == {
        "": ["The form data must be a JSON object"]}


def test_the_intervention_offers_the_profiles_extensions_as_choices(store):
    """``"format": "extension"``: the head picks one of the active profile's extensions by its title (config/
    sla.toml) instead of typing its code; another profile offers its own, a profile without any leaves text."""
    form = "intervene_overdue_complaint.schema.json"
    field = store.schema(form)["properties"]["extension"]
    assert field["oneOf"] == [{"const": "complex_case", "title": "Complex case: up to 30 days"},
                              {"const": "further_extension",
                               "title": "Further extension: 30 more days, with a head-office senior manager's approval"}]
    data = {"intervention_action": "extend", "extension": "holding_response", "instruction": "Four more weeks"}
    assert "extension" in errors_of(store, form, data)
    uk = load_settings(sla_profile="uk_fca").sla_profile.extension_titles()
    uk_field = FormStore(FORMS_DIR, SETTINGS.departments, extensions=uk).schema(form)["properties"]["extension"]
    assert [c["const"] for c in uk_field["oneOf"]] == ["holding_response", "exceptional_circumstances"]
    assert "oneOf" not in FormStore(FORMS_DIR, SETTINGS.departments).schema(form)["properties"]["extension"]
