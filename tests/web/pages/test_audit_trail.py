"""What the pages record in the audit trail (issue 23, the one writer: tests/engine/test_audit_writer.py): sign-in,
a failed sign-in (in a unit of work of its own, the request failing), sign-out and the CSV export; the API's
per-request credentials are not recorded."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.engine.models import AuditEvent
from tests.web.conftest import basic
from tests.web.pages.conftest import BROWSER, post, sign_in, text

SIGN_IN_ACTIONS = ("signed_in", "sign_in_failed", "signed_out")
NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock(clock):
    clock.set(NOW)
    return clock


def trail(runtime, *actions) -> list[AuditEvent]:
    with runtime.unit_of_work() as uow:
        return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(actions))
                                        .order_by(AuditEvent.id)))


def test_sign_in_a_failed_attempt_and_sign_out_are_recorded(client, demo, actors, clock):
    refused = sign_in(client, "intake", "not-the-password")
    assert refused.status_code == 401
    clock.advance(minutes=1)
    assert sign_in(client, "intake").status_code == 302
    clock.advance(minutes=1)
    post(client, "/sign-out")
    failed, signed_in, signed_out = trail(demo, *SIGN_IN_ACTIONS)
    # The refused request committed its record; the name tried is kept, the password nowhere.
    assert (failed.action, failed.actor, failed.actor_id, failed.occurred_at) == ("sign_in_failed", "anonymous",
                                                                                   None, NOW)
    assert failed.detail["username"] == "intake" and "not-the-password" not in str(failed.detail)
    intake = actors["intake"].user_id
    assert (signed_in.action, signed_in.actor, signed_in.actor_id) == ("signed_in", "intake", intake)
    assert (signed_out.action, signed_out.actor_id) == ("signed_out", intake)
    assert signed_out.occurred_at > signed_in.occurred_at > failed.occurred_at


def test_an_unknown_name_is_recorded_as_tried_without_a_user(client, demo):
    assert sign_in(client, "nobody-" + "x" * 300, "guess").status_code == 401
    [failed] = trail(demo, *SIGN_IN_ACTIONS)
    assert failed.actor_id is None and failed.detail["username"].startswith("nobody-xxx")
    assert len(failed.detail["username"]) == 100


def test_api_calls_are_not_sign_ins(client, demo):
    assert client.get("/api/v1/tasks", headers=basic("coordinator")).status_code == 200
    assert client.get("/api/v1/tasks", headers=basic("coordinator", "wrong")).status_code == 401
    assert trail(demo, *SIGN_IN_ACTIONS) == []


def test_the_export_records_who_the_filters_and_the_rows(client, demo, actors, driver):
    status = driver.complaint(driver.register(1)).status
    driver.register(2)
    sign_in(client, "head")
    response = client.get(f"/complaints.csv?status={status}", headers=BROWSER)
    assert response.status_code == 200
    rows = text(response).strip().splitlines()[1:]
    [exported] = trail(demo, "complaints_exported")
    assert (exported.actor, exported.actor_id) == ("head", actors["head"].user_id)
    assert exported.detail["filters"]["status"] == status
    assert exported.detail["rows"] == len(rows) == 2 and exported.detail["complete"] is True


def test_the_history_shows_what_a_completion_entered_and_who_a_task_went_to(client, demo, actors, driver):
    cid = driver.register()
    driver.classify(cid)
    driver.complete(cid, "triage_complaint", {"lead_department": "cards", "co_departments": [],
                                              "triage_note": "INTERNAL-TRIAGE-NOTE"})
    investigation = driver.task(cid, "investigate_complaint", "cards")
    sign_in(client, "coordinator")
    post(client, f"/tasks/{investigation.id}/assign", {"assignee": "cards.officer"},
         page=f"/tasks/{investigation.id}")
    page = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    assert 'data-testid="timeline-task_assigned"' in page and "→ <bdi>cards.officer</bdi>" in page
    assert 'class="timeline-data"' in page and "INTERNAL-TRIAGE-NOTE" in page  # the coordinator's audience
    post(client, "/sign-out")
    sign_in(client, "cards.officer")
    page = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    assert 'class="timeline-data"' in page and "INTERNAL-TRIAGE-NOTE" not in page
