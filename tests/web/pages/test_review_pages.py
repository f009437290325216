"""Review desk pages (issue 18): the desk, a version's diff with a lane move reported as a change of role, the
sign-off form (compliance approves; four eyes refuses the deployer), the migration preview and run."""
from __future__ import annotations

import dataclasses

from sqlalchemy import select

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
