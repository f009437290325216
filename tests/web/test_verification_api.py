"""POST /api/v1/complaints/<id>/verification (核查, CBIRC Order 2020 No. 3): 201 and the verifier's task; 409
naming why a request is refused; 422 naming the field; the customer on their own complaint."""
from __future__ import annotations

from app.engine.complaints import registration
from app.engine.demo.simulation import sample_registration
from tests.support import CaseDriver
from tests.web.conftest import basic


def test_staff_ask_for_verification_and_a_second_request_is_a_409(client, demo, actors):
    case = CaseDriver(demo, actors)
    cid = case.handle_until_feedback()
    path = f"/api/v1/complaints/{cid}/verification"
    missing = client.post(path, json={"why": "x"}, headers=basic("coordinator"))
    assert missing.status_code == 422 and set(missing.get_json()["errors"]) == {"reason", "why"}
    response = client.post(path, json={"reason": "客户不认可处理决定"}, headers=basic("coordinator"))
    assert response.status_code == 201, response.get_json()
    assert case.ready_names(cid) == ["give_verification_opinion"]
    again = client.post(path, json={"reason": "再次申请"}, headers=basic("coordinator"))
    assert again.status_code == 409 and "not waiting for a verification request" in again.get_json()["message"]
    officer = client.post(path, json={"reason": "x"}, headers=basic("cards.officer"))
    assert officer.status_code in (403, 404)


def test_too_late_and_undecided_are_409s_naming_why(client, demo, actors, clock):
    case = CaseDriver(demo, actors)
    undecided = case.register()
    early = client.post(f"/api/v1/complaints/{undecided}/verification", json={"reason": "x"},
                        headers=basic("coordinator"))
    assert early.status_code == 409 and "no decision sent yet" in early.get_json()["message"]
    cid = case.handle_until_feedback()
    clock.advance(days=31)
    late = client.post(f"/api/v1/complaints/{cid}/verification", json={"reason": "x"}, headers=basic("coordinator"))
    assert late.status_code == 409
    assert "Too late for verification" in late.get_json()["message"]
    assert "(30 calendar days after the decision)" in late.get_json()["message"]


def test_the_customer_asks_on_their_own_complaint(client, demo, actors, clock):
    case = CaseDriver(demo, actors)
    with demo.unit_of_work() as uow:
        cid = registration.register_complaint(uow, actors["customer"], sample_registration(1)).id
    case.classify(cid)
    case.triage(cid)
    case.investigate(cid, "cards")
    case.draft(cid)
    case.approve(cid)
    clock.advance(days=8)
    response = client.post(f"/api/v1/complaints/{cid}/verification", json={"reason": "我不认可"},
                           headers=basic("customer"))
    assert response.status_code == 201, response.get_json()
    assert case.ready_names(cid) == ["give_verification_opinion"]
    assert case.complaint(cid).status == "under_verification"
