"""Validation as people meet it (issue 27, item 6), in English and Chinese: a message next to its field that says
what to do in the field's own terms, required marks that match the rules (the redress amount only for monetary
redress, the co-investigating departments never), the lead department refused as a co-investigator by the same
validator as the API, and nothing typed lost after an error."""
from __future__ import annotations

import pytest

from tests.browser.cases import ready_task_id, task_states
from tests.browser.workspace import fill_form
from tests.support import DRAFT

MESSAGES = {
    "en": {"missing_amount": "Enter the redress amount",
           "impossible_amount": "Enter the redress amount as an amount such as 1250.00",
           "lead_also_co": "Credit cards cannot be both the lead department and one of the co-investigating "
                           "departments"},
    "zh_CN": {"missing_amount": "请填写补偿金额",
              "impossible_amount": "请按金额格式填写补偿金额，例如 1250.00",
              "lead_also_co": "信用卡部不能既是主办部门又是协查部门之一"},
}
LOCALES = sorted(MESSAGES)


def _marked_required(page, name: str) -> bool:
    return page.locator(f"[data-testid=field-{name}] .required").first.is_visible()


@pytest.mark.parametrize("locale", LOCALES)
def test_the_redress_amount_is_asked_for_in_words_only_for_monetary_redress(visit, case, locale):
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards")
    case.investigate(cid, "cards")
    officer = visit("cards.officer", locale=locale)
    officer.goto(f"/tasks/{ready_task_id(case, cid, 'draft_resolution')}")
    page = officer.page
    typed = {k: v for k, v in DRAFT.items() if k not in ("remedy_type", "redress_amount")}
    typed["customer_message"] = "We refund the annual fee."
    fill_form(page, {**typed, "remedy_type": "explanation"})
    amount = page.locator("[data-testid=field-redress_amount]")
    assert amount.is_hidden()  # not asked for an explanation
    fill_form(page, {"remedy_type": "monetary_redress"})
    assert amount.is_visible() and _marked_required(page, "redress_amount")
    assert _marked_required(page, "remedy_type") and not _marked_required(page, "redress_description")

    officer.submit()  # monetary redress, no amount: refused, said next to the field
    error = page.locator("[data-testid=error-redress_amount]")
    assert error.inner_text() == MESSAGES[locale]["missing_amount"]
    assert page.locator("[data-testid=error-redress_amount]").get_attribute("id") in (
        page.get_attribute("[name=redress_amount]", "aria-describedby") or "").split()
    assert page.locator("[data-testid^=error-]").count() == 1
    assert task_states(case, cid)[-1] == ("draft_resolution", "ready")
    # What was typed is all there: nothing to type again.
    assert page.input_value("[name=customer_message]") == "We refund the annual fee."
    assert page.input_value("[name=remedy_type]") == "monetary_redress"
    assert page.input_value("[name=resolution_summary]") == DRAFT["resolution_summary"]
    assert amount.is_visible() and _marked_required(page, "redress_amount")

    fill_form(page, {"redress_amount": "1250.0.0"})
    officer.submit()
    assert page.locator("[data-testid=error-redress_amount]").inner_text() == MESSAGES[locale]["impossible_amount"]
    assert page.input_value("[name=redress_amount]") == "1250.0.0"
    body = page.inner_text("[data-testid=task-form]")
    assert "null" not in body and "[0-9]" not in body and "string" not in body

    fill_form(page, {"redress_amount": "1250.00"})
    officer.submit()
    assert task_states(case, cid)[-1] == ("approve_resolution", "ready")


@pytest.mark.parametrize("locale", LOCALES)
def test_the_lead_department_cannot_also_co_investigate_and_co_departments_may_be_empty(visit, case, locale):
    cid = case.register()
    case.classify(cid)
    coordinator = visit("coordinator", locale=locale)
    coordinator.goto(f"/tasks/{ready_task_id(case, cid, 'triage_complaint')}")
    page = coordinator.page
    assert _marked_required(page, "lead_department")
    assert page.locator("[data-testid=field-co_departments] .required").count() == 0  # may be empty
    fill_form(page, {"lead_department": "cards", "co_departments": ["cards", "operations"],
                     "triage_note": "Check the card statement first."})
    coordinator.submit()
    error = page.locator("[data-testid=error-co_departments]")
    assert error.inner_text() == MESSAGES[locale]["lead_also_co"]
    assert page.locator("[data-testid^=error-]").count() == 1
    assert task_states(case, cid)[-1] == ("triage_complaint", "ready")
    assert page.input_value("[name=lead_department]") == "cards"
    assert page.is_checked("[data-testid=input-co_departments-cards]")
    assert page.is_checked("[data-testid=input-co_departments-operations]")
    assert page.input_value("[name=triage_note]") == "Check the card statement first."

    fill_form(page, {"co_departments": []})  # none: the lead investigates alone
    coordinator.submit()
    assert ("triage_complaint", "completed") in task_states(case, cid)
    assert case.complaint(cid).lead_department == "cards"
