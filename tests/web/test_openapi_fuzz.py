"""Schemathesis against /api/v1, in-process (WSGI), with real sign-in on the real database: 0 server errors.

The document is the one the app serves at /api/v1/openapi.json. Each operation gets fresh demo data with two
registered complaints (so low ids hit real rows) and at most MAX_EXAMPLES generated requests, signed in as each
role in turn, so the same request meets the read policy from every side.
"""
from __future__ import annotations

import itertools
import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from tests.web.conftest import basic

# CI: 30 examples per operation, the same ones every run. A deeper, random hunt:
#   FUZZ_MAX_EXAMPLES=300 FUZZ_RANDOM=1 python -m pytest tests/web/test_openapi_fuzz.py
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "30"))
DERANDOMIZE = not os.environ.get("FUZZ_RANDOM")
ROLES = ("intake", "coordinator", "approver", "customer", "cards.officer", "owner", "channel")

@pytest.fixture
def api_schema(app):
    for n in range(2):
        response = app.test_client().post("/api/v1/complaints", headers=basic("intake"), json={
            "customer_name": f"Customer {n}", "customer_contact": "c@example.com", "channel": "email",
            "product": "credit_card", "category": "fees_charges", "description": "Charged twice for one purchase."})
        assert response.status_code == 201, response.json
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def test_the_document_is_public_and_describes_every_api_route(client, app):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"] == {
        "basicAuth": {"type": "http", "scheme": "basic"},
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API token: complaintflow tokens create"}}
    assert document["security"] == [{"basicAuth": []}, {"bearerAuth": []}]
    routes = {re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
              for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")}
    assert set(document["paths"]) == routes
    register = document["paths"]["/api/v1/complaints"]["post"]
    assert register["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RegisterComplaintForm"}
    form = document["components"]["schemas"]["RegisterComplaintForm"]
    assert list(form["properties"])[:3] == ["customer_name", "customer_contact", "customer_reference"]
    assert form["properties"]["customer_name"]["maxLength"] == 200
    for status in ("400", "401", "403", "413", "422"):
        assert register["responses"][status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"}
    complete = document["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]
    assert complete["requestBody"]["content"]["application/json"]["schema"]["required"] == ["data"]
    task_id = document["paths"]["/api/v1/tasks/{task_id}/complete"]["parameters"][0]["schema"]
    assert task_id == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def test_a_task_form_comes_in_the_declared_order(client):
    """Flask's JSON provider used to sort keys: the form's fields would come alphabetically."""
    client.post("/api/v1/complaints", headers=basic("intake"), json={
        "customer_name": "Mary Major", "customer_contact": "c@example.com", "channel": "email", "product": "credit_card",
        "category": "fees_charges", "description": "Charged twice for one purchase."})
    task = client.get("/api/v1/tasks", headers=basic("intake")).json["tasks"][0]
    form = client.get(f"/api/v1/tasks/{task['id']}", headers=basic("intake")).json["form"]
    assert list(form["properties"]) == ["category", "severity", "product", "place_of_business",
                                       "classification_note"]
    document = client.get("/api/v1/openapi.json").json
    assert list(document["components"]["schemas"]["RegisterComplaintForm"]["properties"])[-1] == "description"


def test_errors_keep_our_shape_under_flask_smorest(client):
    response = client.get("/api/v1/no-such-route", headers=basic("intake"))
    assert response.status_code == 404 and set(response.json) == {"error", "message"}
    response = client.delete("/api/v1/complaints", headers=basic("intake"))
    assert response.status_code == 405 and response.json["error"] == "method_not_allowed"
    response = client.post("/api/v1/complaints", json={}, headers=basic("intake"))
    assert response.status_code == 422 and set(response.json) == {"error", "message", "errors"}


def test_no_operation_answers_with_a_server_error(api_schema):
    """Every operation of the document, valid and invalid requests (schemathesis's positive and negative
    modes), MAX_EXAMPLES each. One test looping over the operations: schemathesis's pytest fixture loader does
    not run on pytest 9 (it reads ``request.node._nodeid``), and every operation is covered without a list."""
    signed_in = itertools.cycle([basic(role) for role in ROLES])
    server_errors: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 6

    for operation in operations:
        cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                          operation.as_strategy(GenerationMode.NEGATIVE))

        @given(case=cases)
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=DERANDOMIZE, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def fuzz(case):
            response = case.call(headers=next(signed_in))
            if response.status_code >= 500:
                # B023: fuzz runs at once, inside this iteration of the loop over operations
                server_errors.setdefault(operation.label, f"{case.method} {case.formatted_path} "  # noqa: B023
                                                          f"{case.query} {str(case.body)[:300]} -> "
                                                          f"{response.status_code} {response.text[:300]}")
            case.validate_response(response, checks=[not_a_server_error])

        try:
            fuzz()
        except Exception:
            if operation.label not in server_errors:
                raise
    assert server_errors == {}
