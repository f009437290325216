"""The form validator's messages are for people (issue 27, item 6): what to do, in the field's own terms, in a
catalog both languages have; the rules behind the required marks (conditional fields, the lead department not
also co-investigating) are in the schemas and checked by FormStore.validate. No database needed."""
from __future__ import annotations

import copy
import json
import pickle
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.engine.core.errors import InvalidSubmission
from app.engine.core.messages import Message, Words
from app.engine.forms import DISTINCT_FROM, FormDefinitionError, FormStore
from tests.engine.test_forms import DEPARTMENTS, FORMS, errors_of, valid_data
from tests.engine.test_forms import store as shipped_store

store = shipped_store  # the module's fixture: the shipped forms over the shipped configuration

CATALOG = Path(__file__).resolve().parents[2] / "app" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
# What a person must never read: JSON's words, a pattern, Python's repr of a missing value.
DEVELOPER_WORDS = re.compile(r"\bnull\b|\bNone\b|\[0-9|\\d|\bstring\b|\binteger\b|\bboolean\b|\bobject\b|"
                             r"\barray\b|is not of type|is not valid under|\{'|\^")
# Values of every wrong kind, for every field of every form.
WRONG = [None, "", "   ", "1250.0.0", "not-a-choice", 12.5, -3, True, [], ["cards", "cards", "moon"], {"a": 1},
         "x" * 20_001]


@pytest.fixture(scope="module")
def chinese() -> dict[str, str]:
    with CATALOG.open("rb") as fh:
        return {m.id: m.string for m in read_po(fh) if m.id}


@pytest.mark.parametrize("form", FORMS)
def test_every_message_a_field_can_give_is_in_peoples_words_in_both_languages(store, form, chinese):
    """Each field of each form, given each kind of wrong value: the message names the field by its title, says
    what to do, speaks no JSON, and its key has a Chinese translation with the same placeholders."""
    schema = store.schema(form)
    seen = 0
    for field, prop in schema["properties"].items():
        for wrong in WRONG:
            try:
                store.validate(form, {**valid_data(form), field: wrong})
            except InvalidSubmission as err:
                for message in (m for key, ms in err.errors.items() if key.split(".")[0] == field for m in ms):
                    seen += 1
                    assert isinstance(message, Message), (form, field, wrong, message)
                    assert not DEVELOPER_WORDS.search(message), (form, field, wrong, message)
                    assert prop["title"].lower() in message.lower() or "%(choice)s" in message.key \
                        or "department" in message.lower(), (form, field, message)
                    zh = chinese.get(message.key)
                    assert zh, f"no Chinese for {message.key!r}"
                    assert sorted(re.findall(r"%\((\w+)\)s", zh)) == sorted(re.findall(r"%\((\w+)\)s", message.key))
    assert seen


def test_messages_survive_a_copy_and_say_themselves_in_another_language():
    message = Message("Enter the %(field)s", field=Words("Redress amount", "补偿金额"))
    assert message == "Enter the redress amount"
    assert copy.deepcopy(message).key == "Enter the %(field)s" and pickle.loads(pickle.dumps(message)) == message
    assert json.dumps({"f": [message]}) == '{"f": ["Enter the redress amount"]}'
    said = message.said({"Enter the %(field)s": "请填写%(field)s"}.get, lambda w: w.zh)
    assert said == "请填写补偿金额"
    assert Words("DISP rules").in_sentence() == "DISP rules" and Words("Credit cards", common=False).in_sentence() \
        == "Credit cards"


def test_the_lead_department_may_not_also_co_investigate(store):
    form = "triage_complaint.schema.json"
    errors = errors_of(store, form, {"lead_department": "cards", "co_departments": ["operations", "cards"]})
    assert errors == {"co_departments": [
        "Credit cards cannot be both the lead department and one of the co-investigating departments"]}
    message = errors["co_departments"][0]
    assert message.params["choice"] == Words("Credit cards", common=False)
    # Stated in the served schema as standard JSON Schema, one rule per department: any client can check it.
    served = store.schema_for_client(form)
    assert DISTINCT_FROM not in json.dumps(served)
    rules = [r for r in served["allOf"] if "co_departments" in r["then"]["properties"]]
    assert [r["if"]["properties"]["lead_department"]["const"] for r in rules] == DEPARTMENTS
    assert rules[0]["then"]["properties"]["co_departments"] == {"not": {"contains": {"const": DEPARTMENTS[0]}}}
    assert store.validate(form, {"lead_department": "cards", "co_departments": ["operations"]})


def test_co_departments_may_be_left_out_and_then_are_none(store):
    data = {"lead_department": "cards"}
    assert store.validate("triage_complaint.schema.json", data)["co_departments"] == []
    assert data == {"lead_department": "cards"}  # the caller's data is not changed
    assert "co_departments" not in store.schema("triage_complaint.schema.json")["required"]


def test_a_draft_without_money_leaves_no_earlier_amount_behind(store):
    form = "draft_resolution.schema.json"
    explained = {k: v for k, v in valid_data(form).items() if k != "redress_amount"} | {"remedy_type": "explanation"}
    assert store.validate(form, explained)["redress_amount"] is None
    assert "redress_amount" not in store.schema(form)["required"]
    assert store.schema(form)["then"]["required"] == ["redress_amount"]


@pytest.mark.parametrize("keyword, message", [
    ({"x-distinct-from": "nowhere"}, "must be a list and name another field"),
    ({"x-distinct-from": "co"}, "must be a list and name another field"),
])
def test_a_distinct_rule_must_name_another_field_of_a_list(tmp_path, keyword, message):
    (tmp_path / "f.schema.json").write_text(json.dumps({"type": "object", "properties": {
        "lead": {"type": "string", "format": "department"},
        "co": {"type": "array", "items": {"type": "string", "format": "department"}, **keyword}}}))
    with pytest.raises(FormDefinitionError, match=message):
        FormStore(tmp_path, {"cards": "Credit cards"}).schema("f.schema.json")


def test_any_if_then_else_gives_the_same_words(tmp_path):
    """A form another change adds conditions to (reopening's, say) needs nothing more: a field required in a
    ``then`` or an ``else``, nested in ``allOf`` too, is asked for like any required field."""
    schema = {"type": "object", "additionalProperties": False, "properties": {
        "target": {"type": "string", "title": "Resume at",
                   "oneOf": [{"const": "investigation", "title": "Investigation"},
                             {"const": "resolution", "title": "Resolution"}]},
        "department": {"type": "string", "title": "Department", "format": "department"},
        "reason": {"type": "string", "title": "Reason for reopening", "x-i18n": {"zh": {"title": "重开原因"}}},
        "due": {"type": "string", "title": "New deadline", "format": "date"}},
        "required": ["target"],
        "allOf": [{"if": {"properties": {"target": {"const": "investigation"}}, "required": ["target"]},
                   "then": {"required": ["department"]}, "else": {"required": ["reason", "due"]}}]}
    (tmp_path / "f.schema.json").write_text(json.dumps(schema))
    forms = FormStore(tmp_path, {"cards": "Credit cards"})
    assert errors_of(forms, "f.schema.json", {"target": "investigation"}) == {"department": ["Choose the department"]}
    errors = errors_of(forms, "f.schema.json", {"target": "resolution", "reason": " ", "due": "8 Dec"})
    assert errors == {"reason": ["Enter the reason for reopening"],
                      "due": ["Enter the new deadline as a date such as 2026-12-08"]}
    assert errors["reason"][0].params["field"] == Words("Reason for reopening", "重开原因")
