"""The API's form errors (issue 27, item 6): the same validator and the same messages for people as the pages,
field -> messages as before; English by default, Chinese for a caller whose Accept-Language asks for it."""
from __future__ import annotations

from tests.web.conftest import basic
from tests.web.test_api import ANSWERS, COORDINATOR, INTAKE, complete, complete_ok, register, task_named, tasks

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
OFFICER = basic("cards.officer")


def _at_triage(client) -> dict:
    complaint = register(client)
    complete_ok(client, INTAKE, task_named(client, INTAKE, complaint["id"], "classify_complaint"))
    return task_named(client, COORDINATOR, complaint["id"], "triage_complaint")


def test_the_lead_department_as_a_co_investigator_is_refused_in_the_callers_language(client):
    task = _at_triage(client)
    data = {"lead_department": "cards", "co_departments": ["operations", "cards"]}
    response = complete(client, COORDINATOR, task["id"], data)
    assert response.status_code == 422 and response.json["error"] == "invalid_submission"
    assert response.json["errors"] == {"co_departments": [
        "Credit cards cannot be both the lead department and one of the co-investigating departments"]}
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data},
                           headers={**COORDINATOR, **CHINESE})
    assert response.status_code == 422
    assert response.json["errors"] == {"co_departments": ["信用卡部不能既是主办部门又是协查部门之一"]}


def test_missing_fields_are_asked_for_by_their_titles_in_chinese(client):
    complaint = register(client)
    task = task_named(client, INTAKE, complaint["id"], "classify_complaint")
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"category": "fees_charges"}},
                           headers={**INTAKE, **CHINESE})
    assert response.status_code == 422
    assert response.json["errors"] == {"severity": ["请选择严重程度"], "product": ["请选择产品"]}


def test_co_departments_may_be_left_out_the_lead_investigates_alone(client):
    task = _at_triage(client)
    result = complete_ok(client, COORDINATOR, task, {"lead_department": "e_banking"})
    assert result["complaint"]["lead_department"] == "e_banking"
    assert task_named(client, basic("e_banking.officer"), task["complaint_id"], "investigate_complaint")
    assert tasks(client, basic("cards.officer"), task["complaint_id"]) == []


def _at_draft(client) -> dict:
    task = _at_triage(client)
    complaint_id = task["complaint_id"]
    complete_ok(client, COORDINATOR, task, {"lead_department": "cards", "co_departments": []})
    complete_ok(client, OFFICER, task_named(client, OFFICER, complaint_id, "investigate_complaint"))
    return task_named(client, OFFICER, complaint_id, "draft_resolution")


def test_the_redress_amount_is_required_for_monetary_redress_only(client):
    task = _at_draft(client)
    officer = OFFICER
    monetary = {k: v for k, v in ANSWERS["draft_resolution"].items() if k != "redress_amount"}
    for amount, message in ((None, "Enter the redress amount"), ("", "Enter the redress amount"),
                            ("1250.0.0", "Enter the redress amount as an amount such as 1250.00")):
        data = monetary if amount is None else {**monetary, "redress_amount": amount}
        response = complete(client, officer, task["id"], data)
        assert response.status_code == 422, amount
        assert response.json["errors"] == {"redress_amount": [message]}, amount
    explained = {**monetary, "remedy_type": "explanation"}
    assert complete(client, officer, task["id"], explained).status_code == 200
