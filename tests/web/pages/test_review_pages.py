"""Review desk pages (issue 18): the desk, a version's diff with a lane move reported as a change of role, the
sign-off form (compliance approves; four eyes refuses the deployer), the migration preview and run."""
from __future__ import annotations

import dataclasses

from sqlalchemy import select

from app.engine.governance import definitions, reviews
from app.engine.models import DefinitionReview, ProcessDefinition
from tests.support import deploy_lane_move
from tests.web.pages.conftest import BROWSER, csrf_token, sign_in

REASON = "Approval by coordinators"


def test_compliance_reads_the_diff_and_approves(client, demo, actors):
    version_id = deploy_lane_move(demo, actors["owner"], REASON)
    sign_in(client, "compliance")
    desk = client.get("/review", headers=BROWSER).get_data(as_text=True)
    assert 'data-testid="review-version-complaint_handling-2"' in desk and REASON in desk
    page = client.get(f"/review/versions/{version_id}", headers=BROWSER).get_data(as_text=True)
    assert 'data-testid="change-role-approve_resolution"' in page and "Change of role" in page
    assert "approver" in page and "coordinator" in page
    assert client.get(f"/review/versions/{version_id}/source.bpmn").data.startswith(b"<?xml")
    with demo.unit_of_work() as uow:
        checksum = uow.session.get(ProcessDefinition, version_id).checksum
    token = csrf_token(client, f"/review/versions/{version_id}")
    answer = client.post(f"/review/checksums/{checksum}/decision", headers=BROWSER, data={
        "decision": "approve", "comment": "Coordinators may approve", "csrf_token": token,
        "back": f"/review/versions/{version_id}"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/review/versions/{version_id}")
    with demo.unit_of_work() as uow:
        [row] = uow.session.scalars(select(DefinitionReview).where(DefinitionReview.action == "approved"))
        assert (row.actor, row.comment) == ("compliance", "Coordinators may approve")


def test_the_deployer_cannot_approve_their_own_version(client, demo, actors):
    both = dataclasses.replace(actors["compliance"], roles=actors["compliance"].roles | {"process_owner"})
    version_id = deploy_lane_move(demo, both, REASON)  # deployed under compliance's own username
    sign_in(client, "compliance")
    with demo.unit_of_work() as uow:
        checksum = uow.session.get(ProcessDefinition, version_id).checksum
    token = csrf_token(client, f"/review/versions/{version_id}")
    answer = client.post(f"/review/checksums/{checksum}/decision", headers=BROWSER, follow_redirects=True,
                         data={"decision": "approve", "comment": "mine", "csrf_token": token, "back": "/review"})
    assert "four eyes" in answer.get_data(as_text=True)
    with demo.unit_of_work() as uow:
        assert uow.session.scalar(select(DefinitionReview.id)) is None


def test_other_roles_get_the_403_page_and_no_nav(client, demo):
    sign_in(client, "approver")
    answer = client.get("/review", headers=BROWSER)
    assert answer.status_code == 403 and 'data-testid="error-page"' in answer.get_data(as_text=True)
    assert 'data-testid="nav-review"' not in client.get("/inbox", headers=BROWSER).get_data(as_text=True)


def test_owner_previews_and_migrates(client, demo, actors, driver):
    cid = driver.register()
    deploy_lane_move(demo, actors["owner"], REASON)
    sign_in(client, "owner")
    page = client.get("/review/migration/complaint_handling", headers=BROWSER).get_data(as_text=True)
    assert 'data-testid="movable-1"' in page
    token = csrf_token(client, "/review/migration/complaint_handling")
    answer = client.post("/review/migration/complaint_handling", headers=BROWSER, data={"csrf_token": token},
                         follow_redirects=True)
    assert "1 instances moved to version 2" in answer.get_data(as_text=True)
    assert driver.ready_names(cid) == ["classify_complaint"]


def test_submission_page_names_what_a_new_element_does_and_after_deploy_still_names_the_changes(client, demo, actors):
    """Issue 24: a submitted file's page lists a new element with its performer, roles and form, flags a duplicated
    postScript, and once the file is deployed it is compared with the version it replaced, never with itself."""
    files = definitions.read_directory(demo.settings.processes_dir)
    source = files["complaint_handling.bpmn"].decode()
    post_script = "<spiffworkflow:postScript>departments = [lead_department] + "
    assert source.count(post_script) == 1
    renamed = (source.replace('id="classify_complaint"', 'id="classify_complaint_v2"')
               .replace(post_script, "<spiffworkflow:postScript>departments = []</spiffworkflow:postScript>"
                        + post_script))
    changed = source.replace('approval_decision == "reject"', 'approval_decision != "approve"')
    with demo.unit_of_work() as uow:
        first = reviews.submit(uow, actors["owner"], process_id="complaint_handling",
                               file_name="complaint_handling.bpmn", source=renamed).id
        second = reviews.submit(uow, actors["owner"], process_id="complaint_handling",
                                file_name="complaint_handling.bpmn", source=changed).id
    sign_in(client, "compliance")
    page = client.get(f"/review/submissions/{first}", headers=BROWSER).get_data(as_text=True)
    assert 'data-testid="change-added-classify_complaint_v2"' in page and 'data-testid="change-details"' in page
    assert '<div data-aspect="performer"><dt>Performer (lane and its roles)</dt><dd><code>Intake desk</code>' in page
    assert '<dd><code>intake_agent, coordinator</code>' in page and "classify_complaint.schema.json" in page
    assert 'data-testid="duplicate-extensions"' in page and "spiffworkflow:postScript 2 times" in page
    assert 'data-testid="diff-scope"' in page and "cn_cbirc" in page

    files["complaint_handling.bpmn"] = changed.encode()
    with demo.unit_of_work() as uow:
        definitions.deploy(uow, actors["owner"], files, reason="Rework unless approved")
    page = client.get(f"/review/submissions/{second}", headers=BROWSER).get_data(as_text=True)
    assert 'data-testid="deployed-as"' in page and "Deployed as version 2" in page
    assert 'data-testid="no-changes"' not in page
    assert 'data-testid="change-changed-flow_rejected_to_draft_merge"' in page
    assert 'approval_decision != &#34;approve&#34;' in page or 'approval_decision != "approve"' in page
