"""Segregation of duties on the pages (issue 24): the refusal names the rule in the reader's language, on the
task page and in the inbox, after a claim, after a completion, and on the review desk's sign-off."""
from __future__ import annotations

import html
import re

from app.engine.governance import drafts
from app.engine.governance.definitions import latest_definition
from app.engine.identity.users import actor_for, upsert_user
from tests.support import deploy_approval_in_departments
from tests.web.pages.conftest import BROWSER, CSRF, post, sign_in, text

EN = ("Segregation of duties: Four eyes on a resolution: its approver may not have investigated or drafted it in "
      "this round")
ZH = "职责分离：处理方案的四眼原则：审批人不得在本轮中调查或起草过该方案"


def flashed(response) -> str:
    """The error flashed on the page (not the task page's own notice of the same rule)."""
    match = re.search(r'data-testid="flash-error">([^<]*)<', text(response))
    assert match, "no error flashed"
    return html.unescape(match.group(1))


def _awaiting_peer_approval(demo, actors, driver) -> int:
    deploy_approval_in_departments(demo, actors["owner"])
    cid = driver.handle_until_approval()
    return driver.task(cid, "approve_resolution").id


def test_the_drafter_reads_the_rule_on_the_task_page_and_when_claiming_or_completing(client, demo, actors, driver):
    task_id = _awaiting_peer_approval(demo, actors, driver)
    sign_in(client, "cards.officer")
    page = text(client.get(f"/tasks/{task_id}", headers=BROWSER))
    assert EN in page and 'data-testid="task-refused"' in page and 'data-testid="claim"' not in page
    inbox = text(client.get("/inbox?view=team", headers=BROWSER))
    assert 'data-rule="resolution_approver_independent"' in inbox and "Not for you" in inbox
    assert flashed(post(client, f"/tasks/{task_id}/claim", follow_redirects=True)) == EN
    completed = post(client, f"/tasks/{task_id}", {"approval_decision": "approve"}, page="/inbox")
    assert completed.status_code == 403 and EN in text(completed)


def test_the_refusal_is_in_the_readers_language(client, demo, actors, driver):
    task_id = _awaiting_peer_approval(demo, actors, driver)
    sign_in(client, "cards.officer", language="zh-CN")
    chinese = {**BROWSER, "Accept-Language": "zh-CN"}
    page = text(client.get(f"/tasks/{task_id}", headers=chinese))
    assert ZH in page
    token = CSRF.search(page).group(1)
    claimed = client.post(f"/tasks/{task_id}/claim", data={"csrf_token": token}, headers=chinese,
                          follow_redirects=True)
    assert flashed(claimed) == ZH


def test_a_reviewer_who_saved_the_draft_reads_the_rule_on_the_review_desk(client, demo, actors):
    with demo.unit_of_work() as uow:
        both = actor_for(upsert_user(uow, "owner.b", "owner.b-pw", display_name="Owner B",
                                     roles=["process_owner", "compliance"]))
    with demo.unit_of_work() as uow:
        current = latest_definition(uow.session, "complaint_handling")
        source = current.bpmn_source.replace("Classify complaint", "Classify the complaint")
        draft_id = drafts.open_draft(uow, actors["owner"], current.id, source).id
    with demo.unit_of_work() as uow:
        drafts.save_draft(uow, both, draft_id, source)
        checksum = drafts.submit_for_review(uow, both, draft_id).checksum
    sign_in(client, "owner.b", "owner.b-pw")
    answer = post(client, f"/review/checksums/{checksum}/decision", {"decision": "approve", "comment": "Mine"},
                  page="/review", follow_redirects=True)
    assert flashed(answer) == ("Segregation of duties: Four eyes on a process definition: its reviewer may not have "
                               "saved any of its content")
