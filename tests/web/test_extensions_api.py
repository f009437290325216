"""POST /api/v1/complaints/<id>/extensions (issue 17): 201 with the extension, 409 naming why it is refused."""
from __future__ import annotations

from tests.support import CaseDriver
from tests.web.conftest import basic


def _in_handling(demo, actors) -> int:
    case = CaseDriver(demo, actors)
    cid = case.register()
    case.classify(cid)
    case.triage(cid)
    return cid


def test_the_coordinator_extends_and_a_second_use_is_a_409_naming_why(client, demo, actors):
    cid = _in_handling(demo, actors)
    body = {"sla": "decision", "extension": "complex_case", "reason": "Records from the card scheme"}
    response = client.post(f"/api/v1/complaints/{cid}/extensions", json=body, headers=basic("coordinator"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["state"] == "applied"
    again = client.post(f"/api/v1/complaints/{cid}/extensions", json=body, headers=basic("coordinator"))
    assert again.status_code == 409 and "already granted" in again.get_json()["message"]
    further = client.post(f"/api/v1/complaints/{cid}/extensions", headers=basic("coordinator"),
                          json={**body, "extension": "further_extension"})
    assert further.status_code == 201 and further.get_json()["state"] == "awaiting_approval"


def test_refusals(client, demo, actors):
    cid = _in_handling(demo, actors)
    path = f"/api/v1/complaints/{cid}/extensions"
    unknown = client.post(path, json={"sla": "decision", "extension": "forever", "reason": "x"},
                          headers=basic("coordinator"))
    assert unknown.status_code == 409 and "it allows: complex_case, further_extension" in unknown.get_json()["message"]
    officer = client.post(path, json={"sla": "decision", "extension": "complex_case", "reason": "x"},
                          headers=basic("cards.officer"))
    assert officer.status_code == 403
    missing = client.post(path, json={"sla": "decision", "extension": "complex_case"}, headers=basic("coordinator"))
    assert missing.status_code == 422 and "reason" in missing.get_json()["errors"]
