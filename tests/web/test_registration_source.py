"""Registering with the receipt and source facts (issue 26) through the API and the registration page: the new
fields are accepted, refused naming the field, and shown by the read policy (customers see the body and its
reference, not how the case is handled)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.web.conftest import basic
from tests.web.test_api import register, registration

INTAKE, COORDINATOR, CUSTOMER = basic("intake"), basic("coordinator"), basic("customer")
NOW = datetime(2027, 3, 8, 2, 0, tzinfo=UTC)   # Monday 10:00 in Shanghai (the demo's CBIRC profile)
FORWARDED = {"channel": "regulator", "forwarded_reference": "CBIRC-2027-7", "forwarded_by": "cbirc",
             "forwarded_at": "2027-03-04", "forwarded_due_at": "2027-03-19", "reply_route": "both"}


@pytest.fixture(autouse=True)
def at_now(clock):
    clock.set(NOW)


def test_the_api_registers_a_back_dated_forwarded_complaint_and_shows_both_instants(client):
    received = (NOW - timedelta(days=3)).isoformat()
    body = register(client, **FORWARDED, received_at=received)
    assert body["received_at"] == received and body["registered_at"] == NOW.isoformat()
    assert body["receipt"]["received_at"] == received and body["receipt"]["registered_at"] == NOW.isoformat()
    staff = client.get(f"/api/v1/complaints/{body['id']}", headers=COORDINATOR).json
    assert staff["forwarded_by"] == "cbirc" and staff["forwarded_by_name"] == "Local CBIRC office"
    assert staff["forwarded_due_at"] == "2027-03-19T09:00:00+00:00" and staff["reply_route"] == "both"
    assert staff["calendar_code"] == "cn"


def test_a_customer_sees_the_body_and_its_reference_not_how_the_case_is_handled(client):
    body = register(client, headers=CUSTOMER, **FORWARDED)
    own = client.get(f"/api/v1/complaints/{body['id']}", headers=CUSTOMER).json
    assert own["forwarded_by_name"] == "Local CBIRC office" and own["forwarded_reference"] == "CBIRC-2027-7"
    assert "forwarded_due_at" not in own and "reply_route" not in own and "calendar_code" not in own


@pytest.mark.parametrize("changes, field", [
    ({"received_at": (NOW + timedelta(hours=1)).isoformat()}, "received_at"),
    ({"received_at": (NOW - timedelta(days=45)).isoformat()}, "received_at"),
    ({**FORWARDED, "forwarded_at": "2027-03-09"}, "forwarded_at"),
    ({"forwarded_by": "fca"}, "forwarded_by"),
    ({"calendar_code": "gb_sct"}, "calendar_code"),      # not a calendar of the CBIRC profile
], ids=["future-receipt", "receipt-too-old", "forwarded-after-receipt", "forwarded-by-on-a-direct-channel",
        "calendar-of-another-profile"])
def test_bad_receipt_and_source_facts_are_422_naming_the_field(client, changes, field):
    response = client.post("/api/v1/complaints", json=registration(**changes), headers=INTAKE)
    assert response.status_code == 422, response.json
    assert list(response.json["errors"]) == [field]


def test_a_customer_giving_received_at_is_refused(client):
    response = client.post("/api/v1/complaints", headers=CUSTOMER,
                           json=registration(received_at=(NOW - timedelta(days=1)).isoformat()))
    assert response.status_code == 422 and list(response.json["errors"]) == ["received_at"]


def test_the_openapi_schema_offers_the_new_fields(client):
    schema = client.get("/api/v1/openapi.json").json
    text_ = str(schema)
    for name in ("received_at", "forwarded_by", "forwarded_at", "forwarded_due_at", "reply_route", "calendar_code"):
        assert f"'{name}'" in text_
