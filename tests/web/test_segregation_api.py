"""Segregation of duties through the API (issue 24): completing a task a rule keeps one from is a 403 naming the
rule, whatever the deployed diagram's lanes say; the work list marks such tasks."""
from __future__ import annotations

from tests.support import CaseDriver, deploy_approval_in_departments
from tests.web.conftest import basic

RULE = "resolution_approver_independent"


def test_the_drafter_is_refused_the_approval_with_a_403_naming_the_rule(client, demo, actors):
    deploy_approval_in_departments(demo, actors["owner"])
    case = CaseDriver(demo, actors)
    cid = case.handle_until_approval()
    task = case.task(cid, "approve_resolution")
    listed = client.get("/api/v1/tasks?view=team", headers=basic("cards.officer")).json["tasks"]
    assert [(t["id"], t["refused_by"]) for t in listed if t["name"] == "approve_resolution"] == [(task.id, RULE)]
    response = client.post(f"/api/v1/tasks/{task.id}/complete", headers=basic("cards.officer"),
                           json={"data": {"approval_decision": "approve"}})
    assert response.status_code == 403, response.json
    assert (response.json["error"], response.json["rule"]) == ("forbidden", RULE)
    assert "Four eyes on a resolution" in response.json["message"] and RULE in response.json["message"]
    assert case.task(cid, "approve_resolution").id == task.id  # still waiting
    response = client.post(f"/api/v1/tasks/{task.id}/complete", headers=basic("retail_lending.officer"),
                           json={"data": {"approval_decision": "approve"}})
    assert response.status_code == 200, response.json
    assert "record_feedback" in case.ready_names(cid)
