"""Migration preview and run in a real browser (issue 18): two complaints run on version 1, version 2 is
deployed (the triage renamed, the approval moved to Complaint management); the process owner opens
the preview from the review desk, sees the case waiting at the approval can move and the one waiting at the
triage cannot, and why; runs the migration; the engine then has the movable instance on version 2
(its task in the new lane), the audit trail records the move, and the other instance stayed on version 1."""
from __future__ import annotations

from sqlalchemy import select

from app.engine.models import AuditEvent
from tests.browser.harness import audit, text_of
from tests.engine.test_migration import instance_of, new_version, two_running_cases


def test_owner_previews_and_migrates_running_instances(visit, live_server, case, actors):
    runtime = live_server.runtime
    waiting_at_approval, at_triage = two_running_cases(case)
    assert case.ready_names(waiting_at_approval) == ["approve_resolution"]
    assert case.ready_names(at_triage) == ["triage_complaint"]
    new_version(runtime, actors["owner"])
    movable, _ = instance_of(runtime, waiting_at_approval)
    unmovable, _ = instance_of(runtime, at_triage)

    owner = visit("owner")
    owner.goto("/review")
    page = owner.page
    with page.expect_navigation():
        page.click("[data-testid=migrate-complaint_handling]")
    audit(page)
    assert "/review/migration/complaint_handling" in page.url
    assert "version 2" in page.inner_text("h1")
    can = page.locator(f"[data-testid=movable-{movable}]")
    assert "approve_resolution" in can.inner_text() and "1" in can.inner_text()
    cannot = page.locator(f"[data-testid=unmovable-{unmovable}]").inner_text()
    assert "triage_complaint" in cannot and "removed" in cannot  # why it cannot move
    assert page.locator("[data-testid=movable] tbody tr").count() == 1
    assert page.locator("[data-testid=unmovable] tbody tr").count() == 1
    assert "Migrate 1 instances" in page.inner_text("[data-testid=migrate-submit]")

    owner.submit("[data-testid=migrate-submit]")
    assert "1 instances moved to version 2; 0 could not move." in page.inner_text("[data-testid=flash-success]")
    # Afterwards the preview has nothing left to move; the unmovable one is still listed with its reason.
    assert page.locator("[data-testid=movable]").count() == 0
    assert "No running instance can move." in text_of(page)
    assert page.locator(f"[data-testid=unmovable-{unmovable}]").count() == 1

    # What the engine and the audit trail say.
    assert instance_of(runtime, waiting_at_approval) == (movable, 2)
    assert instance_of(runtime, at_triage) == (unmovable, 1)
    task = case.task(waiting_at_approval, "approve_resolution")
    assert task.lane == "Complaint management" and task.candidate_roles == ["coordinator"]
    with runtime.unit_of_work() as uow:
        events = list(uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "instance_migrated")))
    assert [(e.instance_id, e.actor, e.complaint_id) for e in events] == [(movable, "owner", waiting_at_approval)]
    assert (events[0].detail["from_version"], events[0].detail["to_version"]) == (1, 2)
    assert "approve_resolution" in events[0].detail["active"]

    # Both finish where they are: the moved case on version 2 (a coordinator approves now), the other on 1.
    case.complete(waiting_at_approval, "approve_resolution", {"approval_decision": "approve"},
                  actor=actors["coordinator"])
    case.feedback(waiting_at_approval, satisfied=True, rating=5)
    assert case.complaint(waiting_at_approval).status == "closed"
    case.triage(at_triage, lead="cards")
    assert instance_of(runtime, at_triage) == (unmovable, 1)


def test_only_process_owners_migrate(visit, live_server, actors):
    new_version(live_server.runtime, actors["owner"])
    compliance = visit("compliance")
    compliance.goto("/review")
    assert compliance.page.locator("[data-testid=migrate-complaint_handling]").count() == 0
    compliance.goto("/review/migration/complaint_handling", status=403)
    for username in ("coordinator", "approver"):
        visit(username).goto("/review/migration/complaint_handling", status=403)
