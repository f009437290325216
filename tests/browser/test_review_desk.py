"""The review desk in a real browser (issue 18): compliance opens the desk, sees a diff that reports a lane move
as a change of role (and the two diagrams with the moved task marked), approves; the deployer cannot approve
their own version; other roles get the 403 page."""
from __future__ import annotations

import dataclasses
import json

from app.engine.services import definitions
from tests.browser.harness import audit


def deploy_lane_move(runtime, actor) -> int:
    files = definitions.read_directory(runtime.settings.processes_dir)
    source = files["complaint_handling.bpmn"].decode()
    ref = "<bpmn:flowNodeRef>approve_resolution</bpmn:flowNodeRef>"
    anchor = "<bpmn:flowNodeRef>triage_complaint</bpmn:flowNodeRef>"
    files["complaint_handling.bpmn"] = source.replace(ref, "").replace(anchor, anchor + ref).encode()
    with runtime.unit_of_work() as uow:
        return next(d.id for d in definitions.deploy(uow, actor, files, reason="Coordinators approve")
                    if d.process_id == "complaint_handling")


def test_compliance_sees_a_change_of_role_and_approves(visit, live_server, actors):
    version_id = deploy_lane_move(live_server.runtime, actors["owner"])
    compliance = visit("compliance")
    compliance.goto("/inbox")
    compliance.page.click("[data-testid=nav-review]")
    compliance.page.wait_for_url("**/review")
    audit(compliance.page)
    row = compliance.page.locator("[data-testid=review-version-complaint_handling-2]")
    assert "Coordinators approve" in row.inner_text()
    assert row.locator("[data-status=pending]").count() == 1
    compliance.goto(f"/review/versions/{version_id}")
    page = compliance.page
    role = page.locator("[data-testid=change-role-approve_resolution]")
    assert "Change of role" in role.inner_text() and "approver" in role.inner_text()
    assert "coordinator" in role.inner_text()
    page.wait_for_function("() => ['ready', 'error'].includes("
                           "document.querySelector('[data-testid=visual-diff]').dataset.differState)")
    diff = page.locator("[data-testid=visual-diff]")
    assert diff.get_attribute("data-differ-state") == "ready"
    assert json.loads(diff.get_attribute("data-differ-counts"))["changed"] >= 1
    assert page.locator("[data-testid=differ-new] .djs-element.diff-changed[data-element-id=approve_resolution]"
                        ).count() == 1
    audit(page)
    page.fill("[data-testid=signoff-comment]", "Coordinators may approve resolutions")
    compliance.submit("[data-testid=signoff-approve]")
    assert "Approved." in page.inner_text("[data-testid=flash-messages]")
    assert "Coordinators may approve resolutions" in page.inner_text("[data-testid=review-trail]")


def test_the_deployer_cannot_approve_their_own_version(visit, live_server, actors):
    both = dataclasses.replace(actors["compliance"], roles=actors["compliance"].roles | {"process_owner"})
    version_id = deploy_lane_move(live_server.runtime, both)
    compliance = visit("compliance")
    compliance.goto(f"/review/versions/{version_id}")
    compliance.page.fill("[data-testid=signoff-comment]", "My own")
    compliance.submit("[data-testid=signoff-approve]")
    assert "four eyes" in compliance.page.inner_text("[data-testid=flash-error]")
    assert compliance.page.locator("[data-testid=review-trail]").count() == 0


def test_other_roles_get_the_403_page(visit):
    for username in ("approver", "coordinator", "intake"):
        visitor = visit(username)
        visitor.goto("/review", status=403)
        assert visitor.page.locator("[data-testid=error-page][data-status='403']").count() == 1
        assert visitor.page.locator("[data-testid=nav-review]").count() == 0
