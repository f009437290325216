"""The review desk in a real browser (issue 18): compliance opens the desk, sees a diff that reports a lane move
as a change of role (and the two diagrams with the moved task marked), approves; the deployer cannot approve
their own version; other roles get the 403 page."""
from __future__ import annotations

import dataclasses
import json

from app.engine.governance import definitions, drafts, reviews
from tests.browser.harness import audit
from tests.support import deploy_lane_move

REASON = "Coordinators approve"


def test_compliance_sees_a_change_of_role_and_approves(visit, live_server, actors):
    version_id = deploy_lane_move(live_server.runtime, actors["owner"], REASON)
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
    version_id = deploy_lane_move(live_server.runtime, both, REASON)
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


# --- comparing any two versions ---------------------------------------------------------------------------------

def deploy_rename(runtime, actor) -> int:
    """Another version on top: classification renamed (a change of name, no change of role)."""
    with runtime.unit_of_work() as uow:
        current = {d.file_name: d for d in definitions.list_definitions(uow)}
        files = {name: d.bpmn_source.encode() for name, d in current.items()}
    source = files["complaint_handling.bpmn"].decode()
    files["complaint_handling.bpmn"] = source.replace('name="Classify complaint"',
                                                      'name="Classify the complaint"').encode()
    with runtime.unit_of_work() as uow:
        return next(d.id for d in definitions.deploy(uow, actor, files, reason="Clearer name")
                    if d.process_id == "complaint_handling")


def _ids(runtime) -> dict:
    with runtime.unit_of_work() as uow:
        return {(d.process_id, d.version): d.id for d in definitions.list_definitions(uow)}


def _differ_ready(page) -> dict:
    page.wait_for_function("() => ['ready', 'error'].includes("
                           "document.querySelector('[data-testid=visual-diff]').dataset.differState)")
    diff = page.locator("[data-testid=visual-diff]")
    assert diff.get_attribute("data-differ-state") == "ready"
    return {"old": diff.get_attribute("data-old-url"), "counts": json.loads(diff.get_attribute("data-differ-counts"))}


def test_compliance_compares_any_two_versions_of_a_definition(visit, live_server, actors):
    deploy_lane_move(live_server.runtime, actors["owner"], REASON)
    v3 = deploy_rename(live_server.runtime, actors["owner"])
    ids = _ids(live_server.runtime)
    v1, v2 = ids[("complaint_handling", 1)], ids[("complaint_handling", 2)]
    compliance = visit("compliance")
    compliance.goto(f"/review/versions/{v3}")
    page = compliance.page

    # By default: this version against the previous one, both in the selector.
    form = page.locator("[data-testid=compare-form]")
    assert form.locator("[data-testid=compare-against]").input_value() == str(v2)
    assert form.locator("[data-testid=compare-version]").input_value() == str(v3)
    assert page.get_attribute("[data-testid=changes-title]", "data-old-version") == "2"
    assert page.locator("[data-testid=change-changed-classify_complaint]").count() == 1
    assert page.locator("[data-testid=change-role-approve_resolution]").count() == 0
    assert _differ_ready(page)["old"] == f"/review/versions/{v2}/source.bpmn"

    # Version 1 to version 3: both the rename and the lane move, in the list and on the diagrams.
    form.locator("[data-testid=compare-against]").select_option(str(v1))
    compliance.submit("[data-testid=compare-submit]")
    assert f"/review/versions/{v3}?" in page.url and f"against={v1}" in page.url
    assert page.get_attribute("[data-testid=changes-title]", "data-old-version") == "1"
    assert "Changes since version 1" in page.inner_text("[data-testid=changes-title]")
    assert page.locator("[data-testid=change-changed-classify_complaint]").count() == 1
    assert "Change of role" in page.inner_text("[data-testid=change-role-approve_resolution]")
    differ = _differ_ready(page)
    assert differ["old"] == f"/review/versions/{v1}/source.bpmn"
    assert page.locator("[data-testid=differ-new] .djs-element.diff-changed[data-element-id=approve_resolution]"
                        ).count() == 1
    assert page.locator("[data-testid=compare-against]").input_value() == str(v1)

    # The other side too: version 3 back to version 2 opens version 2's page, compared with version 3.
    page.locator("[data-testid=compare-against]").select_option(str(v3))
    page.locator("[data-testid=compare-version]").select_option(str(v2))
    compliance.submit("[data-testid=compare-submit]")
    assert f"/review/versions/{v2}?" in page.url and f"against={v3}" in page.url
    assert "Changes from version 3 back to version 2" in page.inner_text("[data-testid=changes-title]")
    assert page.locator("[data-testid=change-changed-classify_complaint]").count() == 1
    assert _differ_ready(page)["old"] == f"/review/versions/{v3}/source.bpmn"

    # A sign-off from a chosen comparison comes back to that comparison.
    page.fill("[data-testid=signoff-comment]", "Checked against version 3")
    compliance.submit("[data-testid=signoff-approve]")
    assert f"against={v3}" in page.url and "Approved." in page.inner_text("[data-testid=flash-messages]")


def test_a_bad_comparison_is_a_clear_error_page(visit, live_server, actors):
    v2 = deploy_lane_move(live_server.runtime, actors["owner"], REASON)
    escalation = _ids(live_server.runtime)[("escalation", 1)]
    compliance = visit("compliance")
    for query, status in ((f"against={escalation}", 400), ("against=999999", 404), ("against=abc", 400),
                          ("against=-1", 400), ("against=1e3", 400), ("version=999999", 404),
                          (f"version={escalation}&against={v2}", 400)):
        compliance.goto(f"/review/versions/{v2}?{query}", status=status)
        assert compliance.page.locator(f"[data-testid=error-page][data-status='{status}']").count() == 1, query


# --- submitting a draft from the modeler --------------------------------------------------------------------------

def _draft(runtime, actor, old: str, new: str) -> int:
    with runtime.unit_of_work() as uow:
        current = next(d for d in definitions.list_definitions(uow) if d.process_id == "complaint_handling")
        assert old in current.bpmn_source
        return drafts.open_draft(uow, actor, current.id, current.bpmn_source.replace(old, new)).id


def _open_draft(owner, draft_id: int):
    owner.goto(f"/modeler/drafts/{draft_id}")
    owner.page.wait_for_selector("[data-testid=modeler][data-modeler-state=ready]")
    audit(owner.page)
    return owner.page


def test_owner_submits_a_draft_for_review_from_the_modeler_and_deploys_it_once_approved(
        visit, live_server, actors, tmp_path):
    runtime = live_server.runtime
    (tmp_path / "governance.toml").write_text("signoff_required = true\n")
    runtime.settings = dataclasses.replace(runtime.settings, config_dir=tmp_path)
    draft_id = _draft(runtime, actors["owner"], 'name="Classify complaint"', 'name="Classify the complaint"')
    owner = visit("owner")
    page = _open_draft(owner, draft_id)
    section = page.locator("[data-testid=review-submission]")
    assert section.get_attribute("data-review-state") == "none"
    assert "Compliance must approve this exact file" in section.inner_text()
    button = page.locator("[data-testid=submit-for-review]")
    assert button.is_visible() and button.is_enabled()

    # Unsaved changes: compliance reviews the saved file, so the button waits for a save.
    page.evaluate("""() => { const m = window.complaintflowModeler;
        m.get('modeling').updateProperties(m.get('elementRegistry').get('classify_complaint'),
                                           {name: 'Classify the complaint now'}); }""")
    page.wait_for_selector("[data-testid=modeler][data-dirty=true]")
    assert button.is_disabled() and page.locator("[data-testid=submit-needs-save]").is_visible()
    audit(page)
    page.click("[data-testid=save-draft]")
    page.wait_for_function("() => !document.getElementById('modeler').dataset.dirty")
    assert button.is_enabled() and page.locator("[data-testid=submit-needs-save]").is_hidden()

    page.fill("[data-testid=review-comment]", "Clearer task name")
    owner.submit(button)
    assert f"/modeler/drafts/{draft_id}" in page.url
    page.wait_for_selector("[data-testid=modeler][data-modeler-state=ready]")
    assert "Submitted for review" in page.inner_text("[data-testid=flash-success]")
    assert section.get_attribute("data-review-state") == "submitted"
    assert "waiting for compliance" in page.inner_text("[data-testid=review-state]")
    assert page.locator("[data-testid=submit-review-form]").is_hidden()
    submission_url = page.get_attribute("[data-testid=review-link]", "href")

    # Not approved yet: the deploy is refused with the gate's reason, listed like a validation error.
    page.fill("[data-testid=deploy-reason]", "Clearer task name")
    page.click("[data-testid=deploy]")
    page.wait_for_selector("[data-testid=validation-error]")
    assert "Sign-off is required" in page.inner_text("[data-testid=validation-errors]")
    audit(page)

    # Compliance finds it on the desk and approves it (what was saved, with the note).
    compliance = visit("compliance")
    compliance.goto("/review")
    assert "complaint_handling" in compliance.page.inner_text("[data-testid=submission-list]")
    compliance.goto(submission_url)
    assert "Clearer task name" in compliance.page.inner_text(".page-head")
    assert compliance.page.locator("[data-testid=change-changed-classify_complaint]").count() >= 1
    compliance.page.fill("[data-testid=signoff-comment]", "Fine")
    compliance.submit("[data-testid=signoff-approve]")

    page = _open_draft(owner, draft_id)
    assert page.get_attribute("[data-testid=review-submission]", "data-review-state") == "approved"
    assert "Approved by compliance" in page.inner_text("[data-testid=review-state]")
    page.fill("[data-testid=deploy-reason]", "Clearer task name, approved")
    with page.expect_navigation():
        page.click("[data-testid=deploy]")
    page.wait_for_selector("[data-testid=modeler][data-modeler-state=ready]")
    audit(page)
    assert "version 2" in page.inner_text("[data-testid=modeler-title]")
    with runtime.unit_of_work() as uow:
        latest = [d for d in definitions.list_definitions(uow) if d.process_id == "complaint_handling"][-1]
        assert latest.version == 2 and 'name="Classify the complaint now"' in latest.bpmn_source


def test_without_a_required_sign_off_review_is_optional_and_an_invalid_draft_is_not_submitted(
        visit, live_server, actors):
    runtime = live_server.runtime
    draft_id = _draft(runtime, actors["owner"], 'sla_due_at("first_response", received_at)',
                      'sla_due_at("first_response", no_such_variable)')
    owner = visit("owner", locale="zh_CN")
    page = _open_draft(owner, draft_id)
    section = page.locator("[data-testid=review-submission]")
    assert section.get_attribute("data-signoff-required") == "false"
    owner.submit("[data-testid=submit-for-review]")
    assert f"/modeler/drafts/{draft_id}" in page.url
    page.wait_for_selector("[data-testid=modeler][data-modeler-state=ready]")
    assert page.locator("[data-testid=flash-error]").count() == 1
    assert section.get_attribute("data-review-state") == "none"
    with runtime.unit_of_work() as uow:
        assert reviews.desk(uow, actors["compliance"])["submissions"] == []
