"""The reopen decision as people meet it (issue 27, items 4 and 5), in English and in Chinese: the coordinator's
reopen task shows its due time (inbox, task page, the complaint's "Next deadline"); standing by the final response
with reasons closes the case and the customer's letter names the referral rights; referring closes it naming the
body; a round-two investigator sees the reopen reason and the previous round's findings, not round one's
rejection comment."""
from __future__ import annotations

import pytest

from tests.browser.workspace import complete_task, fill_form, open_task, task_row

REJECTION = "Name the refund date"
FINDING = "The fee was posted twice"


def dissatisfied(case, *, reject_first: str | None = None) -> int:
    """A case answered once (after a rejection, if asked), whose customer said they are not satisfied."""
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards")
    case.investigate(cid, "cards", facts=FINDING)
    case.draft(cid)
    if reject_first:
        case.reject(cid, reject_first)
        case.draft(cid)
    case.approve(cid)
    case.complete(cid, "record_feedback", {"customer_satisfied": False, "satisfaction_rating": 1,
                                           "feedback_comment": "The refund is still missing"})
    return cid


LOCALES = pytest.mark.parametrize("locale", ["en", "zh_CN"])


@LOCALES
def test_the_reopen_task_shows_its_due_time(visit, case, locale):
    cid = dissatisfied(case)
    due = case.task(cid, "decide_reopen").due_at
    assert due is not None and case.complaint(cid).due_at == due
    coordinator = visit("coordinator", locale=locale)
    page = coordinator.page
    coordinator.goto("/inbox?view=team")
    badge = task_row(page, cid, "decide_reopen").locator("[data-testid=due]")
    assert badge.count() == 1 and badge.get_attribute("data-sla") == "ok"
    assert f":{due.minute:02d}" in badge.inner_text()
    open_task(coordinator, cid, "decide_reopen")
    assert page.locator("[data-testid=task-due]").is_visible()
    coordinator.goto(f"/complaints/{cid}")
    next_deadline = page.locator("[data-testid=fact-due_at] dd").inner_text()
    assert next_deadline.strip() not in ("", "—")
    assert page.locator("[data-testid=clock-reopen_decision_overdue]").get_attribute("data-state") == "waiting"


@LOCALES
def test_standing_by_the_final_response_closes_the_case_and_names_the_referral_rights(visit, case, locale):
    cid = dissatisfied(case)
    coordinator = visit("coordinator", locale=locale)
    complete_task(coordinator, cid, "decide_reopen",
                  {"reopen_target": "maintain", "maintain_reasons": "The agreement allows one annual fee."})
    complaint = case.complaint(cid)
    assert (complaint.status, complaint.outcome) == ("closed", "final_response_maintained")
    [letter] = case.messages(cid, "decision_maintained")
    # the customer's letter (in their language): the decision stands, why, and the verification right (CBIRC)
    for text in ("我们维持原处理决定", "The agreement allows one annual fee.", "申请核查"):
        assert text in letter.body
    page = coordinator.page
    coordinator.goto(f"/complaints/{cid}")
    assert page.locator("[data-testid=complaint-status]").get_attribute("data-status") == "closed"
    outcome = page.locator("[data-testid=fact-outcome] dd").inner_text()
    assert outcome == {"en": "Final response maintained after the review request", "zh_CN": "复核申请后维持最终答复"}[locale]
    assert page.locator("[data-testid=message-decision_maintained]").count() == 1


@LOCALES
def test_referring_closes_the_case_with_the_body_named(visit, case, locale):
    cid = dissatisfied(case)
    coordinator = visit("coordinator", locale=locale)
    open_task(coordinator, cid, "decide_reopen")
    page = coordinator.page
    # the body and the reason are asked for only when referring
    assert not page.locator('[name="referral_body"]').is_visible()
    fill_form(page, {"reopen_target": "refer", "referral_body": "financial_mediation",
                     "referral_reason": "Both sides agreed to mediation."})
    coordinator.submit()
    assert page.url.endswith("/inbox")
    complaint = case.complaint(cid)
    assert (complaint.status, complaint.outcome) == ("closed", "referred")
    coordinator.goto(f"/complaints/{cid}")
    outcome = page.locator("[data-testid=fact-outcome] dd").inner_text()
    assert outcome == {"en": "Referred to an outside body", "zh_CN": "已转交外部机构"}[locale]
    message = page.locator("[data-testid=message-referral_notice]")
    assert message.count() == 1 and "金融纠纷调解组织" in message.inner_text()   # the letter's subject names the body


@LOCALES
def test_a_round_two_investigator_sees_the_reopen_reason_and_previous_findings_not_the_old_comment(visit, case,
                                                                                                    locale):
    cid = dissatisfied(case, reject_first=REJECTION)
    coordinator = visit("coordinator", locale=locale)
    complete_task(coordinator, cid, "decide_reopen",
                  {"reopen_target": "investigation", "reopen_reason": "The customer sent the bank statement"})
    officer = visit("cards.officer", locale=locale)
    open_task(officer, cid, "investigate_complaint")
    page = officer.page
    assert page.locator("[data-testid=note-reopen_reason]").inner_text() == "The customer sent the bank statement"
    assert page.locator("[data-testid=note-feedback_comment]").inner_text() == "The refund is still missing"
    context = page.locator("[data-testid=task-context]")
    previous = context.locator("[data-testid=task-context-previous_findings]")
    assert previous.count() == 1 and FINDING in previous.inner_text()
    label = {"en": "Findings of the previous round", "zh_CN": "上一轮调查结果"}[locale]
    assert label in previous.inner_text()
    assert context.locator("[data-testid=task-context-findings]").count() == 0      # no "Findings —"
    assert REJECTION not in context.inner_text()
    assert REJECTION not in page.locator("[data-testid=task-notes]").inner_text()
    decisions = page.locator("[data-testid=decisions]")
    if decisions.count():
        assert REJECTION not in decisions.inner_text()
