"""Rework as people meet it (issue 27, item 2): the approver rejects a draft in the browser, and the drafter finds
it back filled, with the approver's comment above the form, in either language."""
from __future__ import annotations

import pytest

from tests.browser.cases import ready_task_id, task_states
from tests.browser.workspace import fill_form


@pytest.mark.parametrize("locale,label", [("en", "Approver's comment"), ("zh_CN", "审批意见")])
def test_a_rejected_draft_comes_back_filled_with_the_comment_above(visit, case, locale, label):
    cid = case.handle_until_approval()
    approver = visit("approver", locale=locale)
    approver.goto(f"/tasks/{ready_task_id(case, cid, 'approve_resolution')}")
    fill_form(approver.page, {"approval_decision": "reject", "approval_comment": "Name the clause of the agreement."})
    approver.submit()
    assert task_states(case, cid)[-1] == ("draft_resolution", "ready")

    officer = visit("cards.officer", locale=locale)
    officer.goto(f"/tasks/{ready_task_id(case, cid, 'draft_resolution')}")
    page = officer.page
    notes = page.locator("[data-testid=task-notes]")
    assert notes.is_visible() and label in notes.inner_text()
    assert page.locator("[data-testid=note-approval_comment]").inner_text() == "Name the clause of the agreement."
    above = page.evaluate("""() => {
        const n = document.querySelector('[data-testid=task-notes]').getBoundingClientRect();
        const f = document.querySelector('[data-testid=task-form]').getBoundingClientRect();
        return n.bottom <= f.top; }""")
    assert above
    assert page.input_value("[name=customer_message]") == "We refunded the fee."
    assert page.input_value("[name=remedy_type]") == "monetary_redress"
    assert page.input_value("[name=redress_amount]") == "25.00"
    # Changing one field and completing sends the rest as they were: no retyping.
    fill_form(page, {"customer_message": "We refunded the fee, as clause 4.2 of the agreement provides."})
    officer.submit()
    assert task_states(case, cid)[-1] == ("approve_resolution", "ready")
