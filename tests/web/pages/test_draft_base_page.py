"""The draft page when another version was deployed since the draft was opened (issue 24): the three-way view
in both languages, the deploy refused (409 naming both versions), and the rebase after which it deploys."""
from __future__ import annotations

from app.engine.governance import drafts
from app.engine.governance.definitions import latest_definition
from tests.web.pages.conftest import BROWSER, csrf_token, sign_in, text

MINE = ('name="formJsonSchemaFilename" value="classify_complaint.schema.json"',
        'name="formJsonSchemaFilename" value="triage_complaint.schema.json"')
THEIRS = ('name="Draft resolution"', 'name="Draft the resolution"')


def open_draft(runtime, owner, change: tuple[str, str]) -> int:
    with runtime.unit_of_work() as uow:
        current = latest_definition(uow.session, "complaint_handling")
        return drafts.open_draft(uow, owner, current.id, current.bpmn_source.replace(*change)).id


def stale_draft(runtime, owner) -> int:
    mine = open_draft(runtime, owner, MINE)
    theirs = open_draft(runtime, owner, THEIRS)
    with runtime.unit_of_work() as uow:
        drafts.deploy_draft(uow, owner, theirs, "Clearer task name")
    return mine


def test_the_stale_draft_page_shows_both_sides_and_no_deploy_form(client, demo, actors):
    draft_id = stale_draft(demo, actors["owner"])
    sign_in(client, "owner")
    page = text(client.get(f"/modeler/drafts/{draft_id}", headers=BROWSER))
    assert 'data-testid="stale-draft"' in page and 'data-testid="deploy-form"' not in page
    assert "This draft is based on version 1, but version 2 is current now" in page
    assert 'data-testid="theirs-changed-draft_resolution"' in page
    assert 'data-testid="mine-changed-classify_complaint"' in page
    assert 'data-testid="mine-changed-draft_resolution"' not in page  # each side lists only its own changes
    page = text(client.get(f"/modeler/drafts/{draft_id}", headers={**BROWSER, "Accept-Language": "zh-CN"}))
    assert "此草稿基于版本 1，但当前版本已是 2" in page and "变基到版本 2" in page


def test_the_deploy_is_refused_then_proceeds_after_the_rebase(client, demo, actors):
    draft_id = stale_draft(demo, actors["owner"])
    sign_in(client, "owner")
    page = f"/modeler/drafts/{draft_id}"
    refused = client.post(f"{page}/deploy", json={"reason": "Triage at classification"},
                          headers={"X-CSRFToken": csrf_token(client, page)})
    assert refused.status_code == 409
    assert (refused.json["base_version"], refused.json["current_version"]) == (1, 2)
    assert "based on version 1, but version 2 is current" in refused.json["message"]

    answer = client.post(f"{page}/rebase", data={"onto": "2", "merged": "yes", "csrf_token": csrf_token(client, page)},
                         headers=BROWSER, follow_redirects=True)
    assert "The draft is now based on version 2." in text(answer)
    assert 'data-testid="deploy-form"' in text(answer) and 'data-testid="stale-draft"' not in text(answer)
    deployed = client.post(f"{page}/deploy", json={"reason": "Triage at classification"},
                           headers={"X-CSRFToken": csrf_token(client, page)})
    assert deployed.status_code == 201 and deployed.json["version"] == 3


def test_a_rebase_onto_a_version_deployed_meanwhile_is_refused(client, demo, actors):
    draft_id = stale_draft(demo, actors["owner"])
    sign_in(client, "owner")
    page = f"/modeler/drafts/{draft_id}"
    answer = client.post(f"{page}/rebase", data={"onto": "1", "merged": "yes", "csrf_token": csrf_token(client, page)},
                         headers=BROWSER, follow_redirects=True)
    assert "Another version was deployed meanwhile" in text(answer) and 'data-testid="stale-draft"' in text(answer)
