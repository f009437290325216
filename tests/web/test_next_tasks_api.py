"""Issue 27 item 8: the completion answer names the tasks of the same case it made ready for the caller, so an API
client needs no further request to find its next step; tasks that are someone else's are not named."""
from __future__ import annotations

from tests.web.conftest import basic
from tests.web.test_api import ANSWERS, COORDINATOR, INTAKE, complete_ok, register, task_named

CARDS = basic("cards.officer")
ZH = {"Accept-Language": "zh-CN"}


def test_a_coordinator_classifying_is_told_the_triage_that_follows_is_theirs(client):
    complaint = register(client)
    classify = task_named(client, COORDINATOR, complaint["id"], "classify_complaint")
    body = complete_ok(client, COORDINATOR, classify)
    triage = task_named(client, COORDINATOR, complaint["id"], "triage_complaint")
    [ready] = body["next_tasks"]
    assert ready == {"id": triage["id"], "name": "triage_complaint", "title": triage["title"],
                     "display_title": triage["title"], "complaint_id": complaint["id"], "department": None,
                     "due_at": triage["due_at"], "url": f"/api/v1/tasks/{triage['id']}"}
    assert client.get(ready["url"], headers=COORDINATOR).json["name"] == "triage_complaint"


def test_the_next_task_is_named_in_the_callers_language(client):
    complaint = register(client)
    classify = task_named(client, COORDINATOR, complaint["id"], "classify_complaint")
    response = client.post(f"/api/v1/tasks/{classify['id']}/complete", json={"data": ANSWERS["classify_complaint"]},
                           headers={**COORDINATOR, **ZH})
    assert response.status_code == 200, response.json
    [ready] = response.json["next_tasks"]
    assert ready["title"].startswith("Triage") and ready["display_title"] == "分派：指定主办及协查部门", ready


def test_a_task_for_another_role_or_department_is_not_named(client):
    complaint = register(client)
    # The intake desk classifies; triage is complaint management's alone.
    body = complete_ok(client, INTAKE, task_named(client, INTAKE, complaint["id"], "classify_complaint"))
    assert body["next_tasks"] == []
    # Triage makes the investigation ready for the cards department: not the coordinator's.
    triage = task_named(client, COORDINATOR, complaint["id"], "triage_complaint")
    body = complete_ok(client, COORDINATOR, triage, {"lead_department": "cards", "co_departments": []})
    assert body["next_tasks"] == []
    # The lead department's officer investigates and drafts: the draft is theirs next.
    investigate = task_named(client, CARDS, complaint["id"], "investigate_complaint")
    body = complete_ok(client, CARDS, investigate)
    assert [t["name"] for t in body["next_tasks"]] == ["draft_resolution"]
    assert body["next_tasks"][0]["department"] == "cards"
    # The draft goes to the approver: nothing next for the officer.
    draft = task_named(client, CARDS, complaint["id"], "draft_resolution")
    assert complete_ok(client, CARDS, draft)["next_tasks"] == []


def test_a_co_investigating_department_waits_for_the_others(client):
    complaint = register(client)
    complete_ok(client, INTAKE, task_named(client, INTAKE, complaint["id"], "classify_complaint"))
    triage = task_named(client, COORDINATOR, complaint["id"], "triage_complaint")
    complete_ok(client, COORDINATOR, triage, {"lead_department": "cards", "co_departments": ["e_banking"]})
    body = complete_ok(client, CARDS, task_named(client, CARDS, complaint["id"], "investigate_complaint"))
    assert body["next_tasks"] == []  # the draft comes once e-banking has investigated too
    body = complete_ok(client, basic("e_banking.officer"),
                       task_named(client, basic("e_banking.officer"), complaint["id"], "investigate_complaint"))
    assert body["next_tasks"] == []  # the lead department drafts, not e-banking
