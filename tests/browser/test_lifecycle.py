"""One complaint through its whole life in the browser, each step by the role that owns it, once per language:
registered, classified, three departments investigate, the resolution is rejected once and redrafted, the
customer is not satisfied, the case is reopened and resolved again, and closed; then the people who read cases
find it on the complaint page with its diagram."""
from __future__ import annotations

import pytest

from tests.browser.harness import audit
from tests.browser.workspace import CJK, complete_task, fill_form

REGISTRATION = {
    "customer_name": "Li Wei", "customer_contact": "li.wei@example.com", "channel": "phone_hotline",
    "product": "credit_card", "category": "fees_charges", "severity": "general", "amount_involved": "120.00",
    "description": "An annual fee was charged although it was waived when the card was opened.",
}
DEPARTMENTS = ["cards", "retail_lending", "e_banking"]  # cards leads


def _draft(text):
    return {"resolution_outcome": "upheld", "resolution_summary": text, "remedy_type": "monetary_redress",
            "redress_amount": "120.00", "customer_message": f"{text}: we refund the annual fee of 120.00.",
            "facts_checked": "The annual fee was charged although it was waived.",
            "decision_basis": "Card agreement, clause 4.2", "root_cause_code": "system_failure"}


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_a_complaint_from_registration_to_closing_in_each_language(visit, locale):
    people = {}

    def as_(username):
        if username not in people:
            people[username] = visit(username, locale=locale)
        return people[username]

    intake = as_("intake")
    assert CJK.search(intake.page.inner_text("h1")) if locale == "zh_CN" else "Inbox" in intake.page.inner_text("h1")

    intake.goto("/complaints/new")
    fill_form(intake.page, REGISTRATION)
    intake.submit()
    assert "/complaints/" in intake.page.url, intake.page.inner_text("main")[:1500]
    complaint_id = int(intake.page.url.rstrip("/").rsplit("/", 1)[1])

    complete_task(intake, complaint_id, "classify_complaint",
                  {"category": "fees_charges", "severity": "general", "product": "credit_card"})
    complete_task(as_("coordinator"), complaint_id, "triage_complaint",
                  {"lead_department": "cards", "co_departments": DEPARTMENTS[1:]})
    for department in DEPARTMENTS:
        complete_task(as_(f"{department}.officer"), complaint_id, "investigate_complaint",
                      {"facts": f"Ledger checked by {department}", "root_cause": "Waiver not recorded",
                       "proposed_remedy": "Refund the fee"})

    officer, approver = as_("cards.officer"), as_("approver")
    complete_task(officer, complaint_id, "draft_resolution", _draft("First draft"))
    complete_task(approver, complaint_id, "approve_resolution",
                  {"approval_decision": "reject", "approval_comment": "Say when the refund arrives."})
    complete_task(officer, complaint_id, "draft_resolution", _draft("Second draft"))
    complete_task(approver, complaint_id, "approve_resolution", {"approval_decision": "approve"})

    complete_task(intake, complaint_id, "record_feedback", {"customer_satisfied": False, "satisfaction_rating": 2})
    complete_task(as_("coordinator"), complaint_id, "decide_reopen",
                  {"reopen_target": "resolution", "reopen_reason": "The refund has not arrived."})
    complete_task(officer, complaint_id, "draft_resolution", _draft("Third draft"))
    complete_task(approver, complaint_id, "approve_resolution", {"approval_decision": "approve"})
    complete_task(intake, complaint_id, "record_feedback", {"customer_satisfied": True, "satisfaction_rating": 4})

    # Those who read cases: compliance opens the complaint page and sees it closed, with the rework drawn.
    compliance = as_("compliance")
    compliance.goto(f"/complaints/{complaint_id}")
    page = compliance.page
    assert page.get_attribute("[data-testid=complaint-status]", "data-status") == "closed"
    diagram = page.locator("[data-testid=process-diagram]")
    assert diagram.get_attribute("data-diagram-state") == "ready"
    assert diagram.get_attribute("data-highlighted") == "7"  # the seven user tasks it went through
    for element_id, times in [("draft_resolution", 3), ("approve_resolution", 3), ("record_feedback", 2),
                              ("investigate_complaint", 3), ("classify_complaint", 1)]:
        assert page.locator(f".djs-element.cf-completed[data-element-id='{element_id}']").count() == 1, element_id
        badge = page.locator(f".djs-overlays[data-container-id='{element_id}'] .cf-count-badge")
        assert badge.all_inner_texts() == ([f"{times}\u00d7"] if times > 1 else []), element_id
    assert page.locator(".cf-active, .cf-overdue").count() == 0  # nothing is open on a closed case

    head = as_("head")
    head.goto("/complaints?status=closed")
    assert head.page.locator(f"a[href$='/complaints/{complaint_id}']").count() >= 1
    # Everybody's inboxes are empty again; the intake agent signs out.
    intake.goto("/inbox?view=team")
    assert intake.page.locator("[data-testid=task-row]").count() == 0
    intake.submit("[data-testid=sign-out]")
    assert intake.page.url.endswith("/sign-in")
    audit(intake.page)
