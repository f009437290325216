"""Hostile and careless requests get a clear 4xx that names what is wrong, never a 500 (issue 14).

Each case is one request as an attacker or a careless script would send it: deep JSON, NUL bytes, lone
surrogates, strings longer than their column, huge ids, wrong types and content types, huge bodies, blank
text, arrays instead of objects. Every answer is JSON, below 500, small, and names the field or the problem.
"""
from __future__ import annotations

import json

import pytest

from tests.web.conftest import basic

INTAKE = basic("intake")
MB = 1024 * 1024


def registration(**changes) -> dict:
    data = {"customer_name": "Mary Major", "customer_contact": "mary@example.com", "channel": "phone_hotline",
            "product": "credit_card", "category": "fees_charges", "severity": "general",
            "amount_involved": "45.50", "description": "A fee was charged twice on my card statement."}
    data.update(changes)
    return data


def nested(depth: int, kind: str = "object") -> str:
    return ('{"a":' * depth + "1" + "}" * depth) if kind == "object" else ("[" * depth + "]" * depth)


def as_json(value) -> dict:
    return {"data": json.dumps(value), "content_type": "application/json"}


def raw_json(text: str | bytes) -> dict:
    return {"data": text, "content_type": "application/json"}


def register_with(**changes) -> dict:
    return as_json(registration(**changes))


def register_with_raw(field: str, json_literal: str) -> dict:
    """A registration whose ``field`` is the given JSON text verbatim (for what json.dumps cannot produce)."""
    body = json.dumps(registration(**{field: "__X__"})).replace('"__X__"', json_literal)
    return raw_json(body)


# (id, method, path, request kwargs, expected status, field the errors must name / words the message must hold)
REGISTER = "/api/v1/complaints"
COMPLETE = "/api/v1/tasks/{task}/complete"
CASES = [
    # JSON that hurts the parser
    ("deep-object-100000", "POST", REGISTER, raw_json(nested(100_000)), 400, "nested too deeply"),
    ("deep-array-100000", "POST", REGISTER, raw_json(nested(100_000, "array")), 400, "nested too deeply"),
    ("deep-500-in-a-field", "POST", REGISTER, register_with_raw("customer_name", nested(500, "array")), 400,
     "nested too deeply"),
    ("deep-40-in-a-field", "POST", REGISTER, register_with_raw("product", nested(40)), 400, "nested too deeply"),
    ("malformed", "POST", REGISTER, raw_json('{"customer_name": '), 400, "not valid JSON"),
    ("invalid-utf8", "POST", REGISTER, raw_json(b'{"customer_name": "\xff\xfe"}'), 400, "not valid JSON"),
    ("nan", "POST", REGISTER, register_with_raw("amount_involved", "NaN"), 400, "NaN is not a JSON number"),
    ("infinity", "POST", REGISTER, register_with_raw("amount_involved", "-Infinity"), 400, "not a JSON number"),
    ("integer-5000-digits", "POST", REGISTER, register_with_raw("amount_involved", "9" * 5000), 400,
     "not valid JSON"),
    ("empty-body", "POST", REGISTER, raw_json(""), 400, "not valid JSON"),
    # not an object
    ("array-body", "POST", REGISTER, as_json([registration()]), 400, "JSON object"),
    ("string-body", "POST", REGISTER, as_json("Mary Major"), 400, "JSON object"),
    ("null-body", "POST", REGISTER, as_json(None), 400, "JSON object"),
    ("number-body", "POST", REGISTER, as_json(42), 400, "JSON object"),
    ("text-plain", "POST", REGISTER, {"data": json.dumps(registration()), "content_type": "text/plain"}, 400,
     "Content-Type: application/json"),
    ("form-encoded", "POST", REGISTER, {"data": {"customer_name": "Mary"}}, 400, "JSON object"),
    ("no-content-type", "POST", REGISTER, {"data": json.dumps(registration())}, 400, "application/json"),
    # text no database can store
    *[(f"nul-in-{field}", "POST", REGISTER, register_with(**{field: "Mary\x00Major"}), 422, field)
      for field in ("customer_name", "customer_contact", "customer_reference", "product", "description")],
    ("nul-in-forwarded-reference", "POST", REGISTER,
     register_with(channel="regulator", forwarded_reference="REG\x00-1"), 422, "forwarded_reference"),
    ("nul-in-a-field-name", "POST", REGISTER, as_json({**registration(), "evil\x00key": "x"}), 422, "evil"),
    ("nul-alone", "POST", REGISTER, register_with(product="\x00"), 422, "product"),
    ("surrogate-in-name", "POST", REGISTER, register_with_raw("customer_name", '"\\ud800"'), 422,
     "customer_name"),
    ("low-surrogate-in-description", "POST", REGISTER,
     register_with_raw("description", '"A fee was charged twice \\udfff on my card"'), 422, "description"),
    ("surrogate-in-field-name", "POST", REGISTER,
     raw_json(json.dumps(registration())[:-1] + ', "\\ud800": "x"}'), 422, "surrogate"),
    # longer than the column
    ("customer-contact-201", "POST", REGISTER, register_with(customer_contact="c" * 201), 422, "customer_contact"),
    ("customer-name-201", "POST", REGISTER, register_with(customer_name="n" * 201), 422, "customer_name"),
    ("customer-reference-101", "POST", REGISTER, register_with(customer_reference="r" * 101), 422,
     "customer_reference"),
    ("forwarded-reference-101", "POST", REGISTER, register_with(channel="media", forwarded_reference="f" * 101),
     422, "forwarded_reference"),
    ("product-201", "POST", REGISTER, register_with(product="p" * 201), 422, "product"),
    ("description-10001", "POST", REGISTER, register_with(description="d" * 10_001), 422, "description"),
    ("channel-10000", "POST", REGISTER, register_with(channel="x" * 10_000), 422, "channel"),
    # blank where text is required
    ("blank-name", "POST", REGISTER, register_with(customer_name="   "), 422, "customer_name"),
    ("blank-contact", "POST", REGISTER, register_with(customer_contact=" \t "), 422, "customer_contact"),
    ("blank-product", "POST", REGISTER, register_with(product="\n\n"), 422, "product"),
    ("blank-description", "POST", REGISTER, register_with(description=" " * 20), 422, "description"),
    ("blank-forwarded-reference", "POST", REGISTER, register_with(channel="regulator", forwarded_reference="  "),
     422, "forwarded_reference"),
    # wrong types and values
    ("name-number", "POST", REGISTER, register_with(customer_name=123), 422, "customer_name"),
    ("name-null", "POST", REGISTER, register_with(customer_name=None), 422, "customer_name"),
    ("name-object", "POST", REGISTER, register_with(customer_name={"first": "Mary"}), 422, "customer_name"),
    ("channel-list", "POST", REGISTER, register_with(channel=["email"]), 422, "channel"),
    ("severity-bool", "POST", REGISTER, register_with(severity=True), 422, "severity"),
    ("amount-number", "POST", REGISTER, register_with(amount_involved=12.5), 422, "amount_involved"),
    ("amount-exponent", "POST", REGISTER, register_with(amount_involved="1e999"), 422, "amount_involved"),
    ("amount-too-many-digits", "POST", REGISTER, register_with(amount_involved="1" * 14), 422, "amount_involved"),
    ("description-object", "POST", REGISTER, register_with(description={}), 422, "description"),
    ("unknown-field", "POST", REGISTER, register_with(is_admin=True), 422, "is_admin"),
    ("thousand-unknown-fields", "POST", REGISTER,
     as_json({**registration(), **{f"f{i}": i for i in range(1000)}}), 422, "more fields have errors"),
    ("empty-object", "POST", REGISTER, as_json({}), 422, "customer_name"),
    # bodies too large
    ("body-2mb", "POST", REGISTER, register_with(description="d" * (2 * MB)), 413, "larger than the limit"),
    ("body-10mb", "POST", REGISTER, register_with(description="d" * (10 * MB)), 413, "larger than the limit"),
    # completing a task
    ("complete-deep", "POST", COMPLETE, raw_json('{"data": ' + nested(100_000) + "}"), 400, "nested too deeply"),
    ("complete-nul", "POST", COMPLETE, as_json({"data": {"category": "product", "severity": "general",
                                                         "product": "Card\x00"}}), 422, "data.product"),
    ("complete-surrogate-key", "POST", COMPLETE, raw_json('{"data": {"\\udc00": 1}}'), 422, "surrogate"),
    ("complete-product-201", "POST", COMPLETE, as_json({"data": {"category": "product", "severity": "general",
                                                                 "product": "p" * 201}}), 422, "product"),
    ("complete-blank-product", "POST", COMPLETE, as_json({"data": {"category": "product", "severity": "general",
                                                                   "product": "   "}}), 422, "product"),
    ("complete-data-list", "POST", COMPLETE, as_json({"data": ["category"]}), 400, '"data"'),
    ("complete-data-string", "POST", COMPLETE, as_json({"data": "category=product"}), 400, '"data"'),
    ("complete-data-null", "POST", COMPLETE, as_json({"data": None}), 400, '"data"'),
    ("complete-no-data", "POST", COMPLETE, as_json({"category": "product"}), 400, '"data"'),
    ("complete-array-body", "POST", COMPLETE, as_json([{"data": {}}]), 400, "JSON object"),
    ("complete-huge", "POST", COMPLETE, as_json({"data": {"product": "p" * (3 * MB)}}), 413, "larger"),
    ("complete-wrong-types", "POST", COMPLETE, as_json({"data": {"category": 1, "severity": [], "product": {}}}),
     422, "severity"),
    # ids no table holds
    ("complaint-2^31", "GET", "/api/v1/complaints/2147483648", {}, 404, "not_found"),
    ("complaint-2^63", "GET", "/api/v1/complaints/9223372036854775808", {}, 404, "not_found"),
    ("complaint-5000-digits", "GET", "/api/v1/complaints/" + "9" * 5000, {}, 404, "not_found"),
    ("complaint-0", "GET", "/api/v1/complaints/0", {}, 404, "not_found"),
    ("complaint-negative", "GET", "/api/v1/complaints/-1", {}, 404, "not_found"),
    ("task-2^31", "GET", "/api/v1/tasks/2147483648", {}, 404, "not_found"),
    ("complete-2^31", "POST", "/api/v1/tasks/2147483648/complete", as_json({"data": {}}), 404, "not_found"),
    ("complete-word", "POST", "/api/v1/tasks/first/complete", as_json({"data": {}}), 404, "not_found"),
    # query strings
    ("query-nul", "GET", "/api/v1/tasks?q=Mary%00Major", {}, 422, "q"),
    ("query-huge-limit", "GET", "/api/v1/tasks?limit=" + "9" * 30, {}, 422, "limit"),
]


@pytest.fixture
def task_id(client) -> int:
    """A ready classify task of a fresh complaint, for the completion cases."""
    response = client.post(REGISTER, json=registration(), headers=INTAKE)
    assert response.status_code == 201, response.json
    tasks = client.get("/api/v1/tasks", headers=INTAKE).json["tasks"]
    return next(t["id"] for t in tasks if t["complaint_id"] == response.json["id"])


@pytest.mark.parametrize("method, path, kwargs, status, named", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_request_gets_a_clear_4xx(request, client, method, path, kwargs, status, named):
    if "{task}" in path:
        path = path.format(task=request.getfixturevalue("task_id"))
    response = client.open(path, method=method, headers=INTAKE, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.is_json and set(response.json) <= {"error", "message", "errors"}, response.json
    assert len(response.get_data()) < 8000, "the answer echoes too much of the request"
    if status == 422:
        assert response.json["error"] == "invalid_submission"
        named_in = " ".join(response.json["errors"]) + json.dumps(response.json["errors"])
        assert named in named_in, response.json
    elif status == 404:
        assert response.json["error"] == named
    else:
        assert named in response.json["message"], response.json


def test_the_count_of_cases_matches_the_issue():
    assert len(CASES) >= 64 and len({c[0] for c in CASES}) == len(CASES)


def test_nothing_was_stored_by_the_refused_registrations(client):
    for case in CASES:
        if case[2] == REGISTER:
            client.open(case[2], method=case[1], headers=INTAKE, **case[3])
    tasks = client.get("/api/v1/tasks", headers=INTAKE).json["tasks"]
    assert tasks == []


def test_the_size_limit_is_configurable(demo):
    from app.web import create_app
    client = create_app(runtime=demo, config={"TESTING": True, "MAX_CONTENT_LENGTH": 2000}).test_client()
    response = client.post(REGISTER, json=registration(description="d" * 3000), headers=INTAKE)
    assert response.status_code == 413 and response.json == {
        "error": "request_entity_too_large", "message": "The request body is larger than the limit of 2000 bytes"}
    assert client.post(REGISTER, json=registration(), headers=INTAKE).status_code == 201


def test_stored_text_is_trimmed_and_blank_optional_text_is_absent(client):
    response = client.post(REGISTER, json=registration(customer_name="  Mary Major ", customer_reference="   ",
                                                       description="  Charged twice for one fee.  "), headers=INTAKE)
    assert response.status_code == 201, response.json
    body = client.get(f"{REGISTER}/{response.json['id']}", headers=basic("coordinator")).json
    assert body["customer_name"] == "Mary Major" and body["description"] == "Charged twice for one fee."
    assert body.get("customer_reference") is None
