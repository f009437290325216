"""The JSON API through the real app, engine and database."""
from __future__ import annotations

import pytest

from app.engine.identity import users
from app.engine.models import ApiToken
from tests.web.conftest import basic

INTAKE, COORDINATOR, APPROVER, CUSTOMER = basic("intake"), basic("coordinator"), basic("approver"), basic("customer")

ANSWERS = {
    "classify_complaint": {"category": "fees_charges", "severity": "general", "product": "credit_card"},
    "investigate_complaint": {"facts": "Checked the statement and the fee schedule.", "root_cause": "Duplicate posting",
                              "proposed_remedy": "Refund the duplicate fee"},
    "draft_resolution": {"resolution_summary": "Duplicate fee refunded", "remedy_type": "monetary_redress",
                         "redress_amount": "25.00", "customer_message": "We have refunded the duplicate fee.",
                         "resolution_outcome": "upheld", "facts_checked": "The fee was posted twice.",
                         "decision_basis": "Card agreement, clause 4.2", "ombudsman_consent": "does_not_consent",
                         "root_cause_code": "system_failure"},
    "approve_resolution": {"approval_decision": "approve"},
    "record_feedback": {"customer_satisfied": True, "satisfaction_rating": 5},
}


def registration(**changes) -> dict:
    data = {"customer_name": "Mary Major", "customer_contact": "mary@example.com", "channel": "phone_hotline",
            "product": "credit_card", "category": "fees_charges", "severity": "general",
            "amount_involved": "45.50", "description": "A fee was charged twice on my card statement."}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def register(client, headers=INTAKE, **changes) -> dict:
    response = client.post("/api/v1/complaints", json=registration(**changes), headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def tasks(client, headers, complaint_id=None) -> list[dict]:
    response = client.get("/api/v1/tasks", headers=headers)
    assert response.status_code == 200, response.json
    return [t for t in response.json["tasks"] if complaint_id is None or t["complaint_id"] == complaint_id]


def task_named(client, headers, complaint_id, name) -> dict:
    found = [t for t in tasks(client, headers, complaint_id) if t["name"] == name]
    assert len(found) == 1, f"{name} not (or more than once) in the work list: {found}"
    return found[0]


def complete(client, headers, task_id, data):
    return client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data}, headers=headers)


def complete_ok(client, headers, task: dict, data=None) -> dict:
    response = complete(client, headers, task["id"], data if data is not None else ANSWERS[task["name"]])
    assert response.status_code == 200, response.json
    return response.json


def triage(client, complaint_id, lead, co=()) -> dict:
    classify = task_named(client, INTAKE, complaint_id, "classify_complaint")
    complete_ok(client, INTAKE, classify)
    task = task_named(client, COORDINATOR, complaint_id, "triage_complaint")
    return complete_ok(client, COORDINATOR, task, {"lead_department": lead, "co_departments": list(co)})


# --- the app around the API -------------------------------------------------------------------------------

def test_landing_and_health(client):
    assert client.get("/").json["api"] == "/api/v1"
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_index_lists_endpoints(client):
    response = client.get("/api/v1", headers=INTAKE)
    assert response.status_code == 200
    assert "complete_task" in response.json["endpoints"]


def test_unknown_route_and_wrong_method_are_json(client):
    response = client.get("/api/v1/nothing-here", headers=INTAKE)
    assert response.status_code == 404 and response.json["error"] == "not_found"
    response = client.get("/api/v1/tasks/1/complete", headers=INTAKE)
    assert response.status_code == 405 and response.json["error"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


# --- authentication ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, basic("intake", "wrong"), basic("nobody", "nobody-demo"),
                                     {"Authorization": "Digest whatever"}], ids=["none", "bad-password",
                                                                                  "unknown-user", "other-scheme"])
def test_without_valid_credentials_401(client, headers):
    response = client.get("/api/v1/tasks", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="complaintflow"'
    assert response.json["error"] == "unauthorized" and "Bearer" in response.json["message"]


def test_bearer_token_works_until_revoked(client, demo):
    with demo.unit_of_work() as uow:
        token = users.create_token(uow, "channel", "web test")
    response = client.post("/api/v1/complaints", json=registration(channel="email"),
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.json

    assert client.get("/api/v1/tasks", headers={"Authorization": "Bearer cf_unknown"}).status_code == 401
    with demo.unit_of_work() as uow:  # no revoke service yet: revoke the row itself
        uow.session.query(ApiToken).update({ApiToken.revoked_at: uow.now()})
    response = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


# --- registering and reading complaints -------------------------------------------------------------------

def test_register_complaint(client):
    response = client.post("/api/v1/complaints", json=registration(), headers=INTAKE)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["tracking_number"].startswith("CF-")
    assert body["status"] == "classifying"
    assert body["customer_name"] == "Mary Major" and body["amount_involved"] == "45.50"
    assert response.headers["Location"].endswith(f"/api/v1/complaints/{body['id']}")
    # The receipt names the signed audit checkpoint that will include the registration, by the key that signs it.
    receipt = body["receipt"]
    assert receipt["tracking_number"] == body["tracking_number"] and len(receipt["audit_key_id"]) == 64
    assert receipt["audit_checkpoint_due_by"] >= receipt["registered_at"]


@pytest.mark.parametrize("changes, field", [
    ({"customer_name": None}, "customer_name"),
    ({"channel": "carrier_pigeon"}, "channel"),
    ({"amount_involved": "12,50"}, "amount_involved"),
    ({"channel": "regulator", "forwarded_by": "cbirc", "forwarded_at": "2020-03-01", "reply_route": "customer"},
     "forwarded_reference"),
    ({"product": "Platinum debit card"}, "product"),      # a display name is not a product code
    ({"place_of_business": "pub"}, "place_of_business"),
], ids=["missing-name", "bad-channel", "bad-money", "forwarded-without-reference", "unknown-product-code",
        "unknown-place-code"])
def test_register_invalid_fields_422(client, changes, field):
    response = client.post("/api/v1/complaints", json=registration(**changes), headers=INTAKE)
    assert response.status_code == 422
    assert response.json["error"] == "invalid_submission"
    assert list(response.json["errors"]) == [field]
    assert response.json["errors"][field]


def test_register_rejects_a_body_that_is_not_a_json_object(client):
    response = client.post("/api/v1/complaints", data="customer_name=Mary", headers=INTAKE,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and "JSON object" in response.json["message"]
    response = client.post("/api/v1/complaints", json=["not", "an", "object"], headers=INTAKE)
    assert response.status_code == 400


def test_register_needs_a_registering_role(client):
    response = client.post("/api/v1/complaints", json=registration(), headers=APPROVER)
    assert response.status_code == 403 and response.json["error"] == "forbidden"


def test_get_complaint_shows_status_open_tasks_and_history(client):
    created = register(client)
    response = client.get(f"/api/v1/complaints/{created['id']}", headers=COORDINATOR)
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "classifying" and body["tracking_number"] == created["tracking_number"]
    assert [t["name"] for t in body["open_tasks"]] == ["classify_complaint"]
    assert {"complaint_registered", "process_started"} <= {e["action"] for e in body["history"]}
    assert client.get("/api/v1/complaints/999999", headers=COORDINATOR).status_code == 404


def test_customer_reads_only_their_own_complaint(client):
    own = register(client, headers=CUSTOMER)
    other = register(client, headers=INTAKE)
    response = client.get(f"/api/v1/complaints/{own['id']}", headers=CUSTOMER)
    assert response.status_code == 200 and response.json["id"] == own["id"]
    assert all("actor" not in e for e in response.json["history"])  # customers see no staff names
    response = client.get(f"/api/v1/complaints/{other['id']}", headers=CUSTOMER)
    assert response.status_code == 404 and response.json["error"] == "not_found"  # as if it did not exist


# --- work lists and tasks ---------------------------------------------------------------------------------

def test_task_list_shows_the_form_and_is_filtered_by_role(client):
    complaint = register(client)
    task = task_named(client, INTAKE, complaint["id"], "classify_complaint")
    assert {"id", "name", "title", "complaint_id", "lane", "due_at", "form"} <= set(task)
    # The list names the form; the task itself carries its JSON Schema (a page of 50 stays small).
    assert task["form"] == "classify_complaint.schema.json"
    form = client.get(f"/api/v1/tasks/{task['id']}", headers=INTAKE).json["form"]
    assert form["type"] == "object" and "category" in form["properties"]
    assert tasks(client, APPROVER, complaint["id"]) == []
    assert tasks(client, basic("cards.officer"), complaint["id"]) == []


def test_task_list_is_filtered_by_department(client):
    complaint = register(client)
    result = triage(client, complaint["id"], "e_banking")
    assert result["complaint"]["lead_department"] == "e_banking"
    e_banking = task_named(client, basic("e_banking.officer"), complaint["id"], "investigate_complaint")
    assert e_banking["department"] == "e_banking"
    assert tasks(client, basic("cards.officer"), complaint["id"]) == []
    response = client.get(f"/api/v1/tasks/{e_banking['id']}", headers=basic("cards.officer"))
    assert response.status_code == 404  # a task they may not see is one that does not exist


def test_get_one_task(client):
    complaint = register(client)
    task = task_named(client, INTAKE, complaint["id"], "classify_complaint")
    response = client.get(f"/api/v1/tasks/{task['id']}", headers=INTAKE)
    assert response.status_code == 200 and response.json["id"] == task["id"]
    assert response.json["form"]["required"] == ["category", "severity", "product"]
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=APPROVER).status_code == 404
    assert client.get("/api/v1/tasks/999999", headers=INTAKE).status_code == 404


def test_complete_task_and_the_next_one_appears(client):
    complaint = register(client)
    task = task_named(client, INTAKE, complaint["id"], "classify_complaint")
    body = complete_ok(client, INTAKE, task)
    assert body["task"]["id"] == task["id"] and body["task"]["state"] == "completed"
    assert body["complaint"]["id"] == complaint["id"] and body["complaint"]["status"] == "triage"
    assert task_named(client, COORDINATOR, complaint["id"], "triage_complaint")
    assert tasks(client, INTAKE, complaint["id"]) == []


def test_complete_with_invalid_data_422_names_the_field(client):
    complaint = register(client)
    task = task_named(client, INTAKE, complaint["id"], "classify_complaint")
    response = complete(client, INTAKE, task["id"], {**ANSWERS["classify_complaint"], "severity": "catastrophic"})
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["severity"]
    assert "catastrophic" in response.json["errors"]["severity"][0]
    response = complete(client, INTAKE, task["id"], {"category": "product"})
    assert response.status_code == 422
    assert response.json["errors"] == {"severity": ["Choose the severity"], "product": ["Choose the product"]}
    assert task_named(client, INTAKE, complaint["id"], "classify_complaint")  # nothing was applied


def test_triage_with_an_unknown_department_422(client):
    complaint = register(client)
    complete_ok(client, INTAKE, task_named(client, INTAKE, complaint["id"], "classify_complaint"))
    task = task_named(client, COORDINATOR, complaint["id"], "triage_complaint")
    response = complete(client, COORDINATOR, task["id"], {"lead_department": "treasury", "co_departments": []})
    assert response.status_code == 422
    assert "treasury" in response.json["errors"]["lead_department"][0]


def test_completing_twice_409(client):
    complaint = register(client)
    task = task_named(client, INTAKE, complaint["id"], "classify_complaint")
    complete_ok(client, INTAKE, task)
    response = complete(client, INTAKE, task["id"], ANSWERS["classify_complaint"])
    assert response.status_code == 409 and response.json["error"] == "conflict"


def test_complete_with_a_wrong_role_answers_as_for_an_unknown_task(client):
    complaint = register(client)
    task = task_named(client, INTAKE, complaint["id"], "classify_complaint")
    response = complete(client, APPROVER, task["id"], ANSWERS["classify_complaint"])  # not theirs to see: 404
    assert response.status_code == 404 and response.json["error"] == "not_found"
    assert task_named(client, INTAKE, complaint["id"], "classify_complaint")


def test_complete_unknown_task_404(client):
    response = complete(client, INTAKE, 999999, {})
    assert response.status_code == 404 and response.json["error"] == "not_found"


@pytest.mark.parametrize("kwargs", [
    {"data": "not json", "content_type": "application/json"},
    {"data": '{"data": {}}', "content_type": "text/plain"},
    {"json": {"category": "product"}},
    {"json": {"data": ["a list"]}},
], ids=["malformed", "not-json-content-type", "no-data-key", "data-not-an-object"])
def test_complete_with_a_bad_body_400(client, kwargs):
    complaint = register(client)
    task = task_named(client, INTAKE, complaint["id"], "classify_complaint")
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=INTAKE, **kwargs)
    assert response.status_code == 400 and response.json["error"] == "bad_request"
    assert "data" in response.json["message"] or "JSON object" in response.json["message"]


# --- a whole complaint through the API --------------------------------------------------------------------

def test_full_lifecycle(client):
    complaint = register(client)
    cid = complaint["id"]
    triage(client, cid, "e_banking", ["cards"])

    officers = {code: basic(f"{code}.officer") for code in ("e_banking", "cards")}
    for code, headers in officers.items():
        task = task_named(client, headers, cid, "investigate_complaint")
        assert task["department"] == code
        complete_ok(client, headers, task)

    assert tasks(client, officers["cards"], cid) == []  # the lead department drafts
    draft = task_named(client, officers["e_banking"], cid, "draft_resolution")
    complete_ok(client, officers["e_banking"], draft)

    approve = task_named(client, APPROVER, cid, "approve_resolution")
    complete_ok(client, APPROVER, approve)

    feedback = task_named(client, INTAKE, cid, "record_feedback")
    body = complete_ok(client, INTAKE, feedback)
    assert body["complaint"]["status"] == "closed" and body["complaint"]["outcome"] == "resolved"

    response = client.get(f"/api/v1/complaints/{cid}", headers=COORDINATOR)
    assert response.status_code == 200
    final = response.json
    assert final["status"] == "closed" and final["outcome"] == "resolved" and final["closed_at"]
    assert final["open_tasks"] == []
    assert final["variables"]["departments"] == ["e_banking", "cards"]
    completed = [e["detail"]["element_id"] for e in final["history"] if e["action"] == "task_completed"]
    assert completed == ["classify_complaint", "triage_complaint", "investigate_complaint",
                         "investigate_complaint", "draft_resolution", "approve_resolution", "record_feedback"]
    assert "complaint_closed" in {e["action"] for e in final["history"]}


def test_customer_does_not_see_feedback_tasks_of_other_complaints(client):
    complaint = register(client)  # registered by intake, not by the customer
    triage(client, complaint["id"], "cards")
    officer = basic("cards.officer")
    complete_ok(client, officer, task_named(client, officer, complaint["id"], "investigate_complaint"))
    complete_ok(client, officer, task_named(client, officer, complaint["id"], "draft_resolution"))
    complete_ok(client, APPROVER, task_named(client, APPROVER, complaint["id"], "approve_resolution"))
    assert task_named(client, INTAKE, complaint["id"], "record_feedback")
    assert tasks(client, CUSTOMER, complaint["id"]) == []


# --- errors raised below the views ------------------------------------------------------------------------

def test_service_task_failure_and_unexpected_errors_500(demo):
    from app.engine.core.errors import ServiceTaskFailed
    from app.web import create_app

    app = create_app(runtime=demo, config={"TESTING": True})

    def failing_service_task():
        raise ServiceTaskFailed("mail server down", element_id="send_reply_task", operator="send_reply")

    def crashing():
        raise RuntimeError("secret internals")

    app.add_url_rule("/test/service-task", view_func=failing_service_task)
    app.add_url_rule("/test/crash", view_func=crashing)
    client = app.test_client()

    response = client.get("/test/service-task")
    assert response.status_code == 500
    assert response.json == {"error": "service_task_failed", "message": "mail server down",
                             "element_id": "send_reply_task", "operator": "send_reply"}
    response = client.get("/test/crash")
    assert response.status_code == 500 and response.json["error"] == "internal_error"
    assert "secret" not in response.get_data(as_text=True)
