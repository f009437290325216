"""A task form as people use it: fields in the schema's order, conditional fields, errors next to their fields
with what was typed kept, and a task completed in another tab meanwhile."""
from __future__ import annotations

import json
from pathlib import Path

from tests.browser.cases import ready_task_id, task_states
from tests.browser.harness import audit
from tests.browser.workspace import fill_form

FORMS = Path(__file__).resolve().parents[2] / "app" / "forms"


def _at_approval(case) -> int:
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards")
    case.investigate(cid, "cards")
    case.draft(cid)
    return cid


def test_errors_appear_next_to_their_fields_and_typed_values_stay(visit):
    intake = visit("intake")
    intake.goto("/complaints/new")
    page = intake.page
    declared = list(json.loads((FORMS / "register_complaint.schema.json").read_text())["properties"])
    shown = page.eval_on_selector_all("[data-testid=register-form] [data-field]", "es => es.map(e => e.dataset.field)")
    assert shown == declared  # the schema's order, not the alphabet
    typed = {"customer_name": "", "customer_contact": "wang.fang@example.com", "channel": "email",
             "product": "mortgage", "category": "fees_charges", "amount_involved": "12.345",
             "description": "Too short"}
    fill_form(page, typed)
    intake.submit()
    assert page.locator("[data-testid=form-errors]").count() == 1
    for name in ("customer_name", "amount_involved", "description"):
        error = page.locator(f"[data-testid=error-{name}]")
        assert error.is_visible(), name
        # Bound to its input for screen readers.
        described = page.get_attribute(f"[name={name}]", "aria-describedby") or ""
        assert error.get_attribute("id") in described.split(), name
    assert page.locator("[data-testid^=error-]").count() == 3
    for name in ("customer_contact", "product", "amount_involved", "description"):
        assert page.input_value(f"[name={name}]") == typed[name], name
    assert page.input_value("[name=channel]") == "email"
    assert "/complaints/new" in page.url  # nothing registered
    fill_form(page, {"customer_name": "Wang Fang", "amount_involved": "12.34",
                     "description": "The mortgage fee was charged twice in March."})
    intake.submit()
    assert page.locator("[data-testid=complaint-title]").count() == 1


def test_a_rejection_needs_its_comment_which_appears_when_reject_is_chosen(visit, case):
    cid = _at_approval(case)
    approver = visit("approver")
    approver.goto(f"/tasks/{ready_task_id(case, cid, 'approve_resolution')}")
    page = approver.page
    fields = page.eval_on_selector_all("[data-testid=task-form] [data-field]", "es => es.map(e => e.dataset.field)")
    assert fields == ["approval_decision", "approval_comment"]
    comment = page.locator("[data-testid=field-approval_comment]")
    assert comment.is_hidden()
    fill_form(page, {"approval_decision": "reject"})
    assert comment.is_visible()
    assert page.locator("[data-testid=input-approval_comment]").is_enabled()
    approver.submit()
    assert page.locator("[data-testid=error-approval_comment]").is_visible()
    assert page.input_value("[name=approval_decision]") == "reject"
    assert comment.is_visible()
    assert ("approve_resolution", "ready") in task_states(case, cid)
    fill_form(page, {"approval_comment": "State the refund date."})
    approver.submit()
    assert page.url.endswith("/inbox")
    assert task_states(case, cid)[-1] == ("draft_resolution", "ready")


def test_a_task_completed_in_another_tab_meanwhile_gives_a_clear_message_and_no_second_step(visit, case):
    cid = case.register()
    task_id = ready_task_id(case, cid, "classify_complaint")
    intake = visit("intake")
    first, second = intake.page, intake.new_tab()
    for tab in (first, second):
        intake.goto(f"/tasks/{task_id}", page=tab)
    fill_form(first, {"category": "fees_charges", "severity": "general", "product": "credit_card"})
    fill_form(second, {"category": "mis_selling", "severity": "important", "product": "wealth_management"})
    intake.submit(page=first)
    assert first.url.endswith("/inbox")
    intake.submit(page=second)
    assert second.locator("[data-testid=task-conflict]").is_visible()
    assert second.locator("[data-testid=task-form]").count() == 0  # no form to send a second time
    assert task_states(case, cid) == [("classify_complaint", "completed"), ("triage_complaint", "ready")]
    assert case.complaint(cid).category == "fees_charges"


def test_a_double_click_on_complete_makes_one_step(visit, case):
    cid = case.register()
    intake = visit("intake")
    intake.goto(f"/tasks/{ready_task_id(case, cid, 'classify_complaint')}")
    page = intake.page
    fill_form(page, {"category": "fees_charges", "severity": "general", "product": "credit_card"})
    with page.expect_navigation():
        page.locator("[data-testid=submit]").dblclick()
    # The browser shows the answer to the second click: done (if it won) or the clear "no longer open".
    page.wait_for_selector("[data-testid=flash-success], [data-testid=task-conflict]")
    audit(page)
    assert task_states(case, cid) == [("classify_complaint", "completed"), ("triage_complaint", "ready")]
