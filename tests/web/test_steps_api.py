"""What the API makes of a step's outcome: a refusal after a deadline fired (409, the firing kept), and the
incidents of cases whose timer-driven step keeps failing."""
from __future__ import annotations

import pytest

from app.scheduler import fire_due_timers
from app.tasks import OPERATORS
from tests.support import CaseDriver
from tests.web.conftest import basic


def test_a_completion_refused_after_its_deadline_fired_answers_409_and_keeps_the_firing(client, demo, actors,
                                                                                         clock):
    case = CaseDriver(demo, actors)
    cid = case.handle_until_feedback()
    task = case.task(cid, "record_feedback")
    clock.advance(days=8)  # the feedback wait expired; no scheduler ran
    response = client.post(f"/api/v1/tasks/{task.id}/complete", headers=basic(case.actor_for(task).username),
                           json={"data": {"customer_satisfied": True, "satisfaction_rating": 5}})
    assert response.status_code == 409, response.json
    assert response.json["error"] == "conflict" and "deadline passed" in response.json["message"]
    complaint = case.complaint(cid)  # the firing was committed: the case closed for lack of feedback
    assert (complaint.status, complaint.outcome, complaint.customer_satisfied) == ("closed", "no_feedback", None)
    assert [t.state for t in case.timers(cid) if t.element_id == "feedback_wait_expired"] == ["fired"]


@pytest.fixture
def poisoned(demo, actors, clock):
    """A case whose first-response escalation fails every time, after one scheduler run."""
    case = CaseDriver(demo, actors)
    cid = case.register()

    def flag_overdue(ctx, sla):
        raise RuntimeError("case file is unreadable")

    demo.operators = {**OPERATORS, "flag_overdue": flag_overdue}
    clock.advance(hours=25)
    assert fire_due_timers(demo).failed == 1
    demo.operators = OPERATORS
    return cid


@pytest.mark.parametrize("username", ["coordinator", "head", "compliance"])
def test_open_incidents_for_complaint_management(client, poisoned, username):
    response = client.get("/api/v1/incidents", headers=basic(username))
    assert response.status_code == 200, response.json
    [incident] = response.json["incidents"]
    assert (incident["complaint_id"], incident["element_id"], incident["state"], incident["attempts"]) == \
        (poisoned, "flag_overdue_task", "open", 1)
    assert "unreadable" in incident["message"] and incident["next_retry_at"]


@pytest.mark.parametrize("username", ["intake", "approver", "cards.officer", "owner", "customer"])
def test_incidents_are_forbidden_to_others(client, poisoned, username):
    response = client.get("/api/v1/incidents", headers=basic(username))
    assert response.status_code == 403 and response.json["error"] == "forbidden"


def test_the_complaint_view_shows_its_open_incidents_to_staff(client, poisoned, clock, demo):
    view = client.get(f"/api/v1/complaints/{poisoned}", headers=basic("coordinator")).json
    assert [i["element_id"] for i in view["incidents"]] == ["flag_overdue_task"]
    clock.advance(minutes=2)  # past the backoff; the operator works again
    assert fire_due_timers(demo).incidents_resolved == 1
    assert client.get(f"/api/v1/complaints/{poisoned}", headers=basic("coordinator")).json["incidents"] == []
