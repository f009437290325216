"""Rework and classification pages start filled (issue 27, items 2, 3 and 5): a rejected draft comes back with
what was drafted and the approver's comment above the form, classify with what registration captured, an
investigation with the triage note for the departments, in both languages; the API's task view says the same."""
from __future__ import annotations

import re

from tests.web.conftest import basic
from tests.web.pages.conftest import BROWSER, post, sign_in, text

ZH = {**BROWSER, "Accept-Language": "zh-CN"}


def _rejected(driver) -> int:
    cid = driver.handle_until_approval()
    driver.reject(cid, "Name the clause of the card agreement.")
    return cid


def _value(html: str, name: str) -> str | None:
    found = re.search(rf'<(?:input|textarea)[^>]*name="{name}"[^>]*?(?:value="([^"]*)"[^>]*)?>([^<]*)', html)
    return None if found is None else (found.group(1) or found.group(2))


def test_a_rejected_draft_comes_back_filled_with_the_comment_above_the_form(client, driver):
    cid = _rejected(driver)
    task = driver.task(cid, "draft_resolution")
    sign_in(client, "cards.officer")
    html = text(client.get(f"/tasks/{task.id}", headers=BROWSER))
    notes = html.index('data-testid="task-notes"')
    assert notes < html.index('data-testid="field-customer_message"')
    assert "Approver&#39;s comment" in html[notes:] or "Approver's comment" in html[notes:]
    assert 'data-testid="note-approval_comment">Name the clause of the card agreement.<' in html
    assert _value(html, "customer_message") == "We refunded the fee."
    assert _value(html, "redress_amount") == "25.00"
    assert re.search(r'<option value="monetary_redress"\s+selected', html)


def test_the_comment_is_labelled_in_chinese(client, driver):
    cid = _rejected(driver)
    task = driver.task(cid, "draft_resolution")
    sign_in(client, "cards.officer", language="zh-CN")
    html = text(client.get(f"/tasks/{task.id}", headers=ZH))
    notes = html[html.index('data-testid="task-notes"'):]
    assert "审批意见" in notes and "Name the clause of the card agreement." in notes


def test_an_error_shows_what_was_typed_not_the_previous_round(client, driver):
    cid = _rejected(driver)
    task = driver.task(cid, "draft_resolution")
    sign_in(client, "cards.officer")
    response = post(client, f"/tasks/{task.id}", {"customer_message": "", "resolution_summary": "Typed again"},
                    page=f"/tasks/{task.id}")
    assert response.status_code == 422
    html = text(response)
    assert "Typed again" in html and _value(html, "customer_message") in ("", None)
    assert 'data-testid="note-approval_comment"' in html  # the comment stays above the form


def test_classify_is_filled_from_registration(client, driver):
    cid = driver.register(product="credit_card", category="fees_charges", severity="important",
                          place_of_business="mobile_banking")
    task = driver.task(cid, "classify_complaint")
    sign_in(client, "intake")
    html = text(client.get(f"/tasks/{task.id}", headers=BROWSER))
    assert re.search(r'<option value="important"\s+selected', html)
    for name, code in (("category", "fees_charges"), ("product", "credit_card"), ("place_of_business", "mobile_banking")):
        assert re.search(rf'name="{name}"[^>]*value="{code}"|value="{code}"[^>]*selected', html), name
    assert 'data-testid="task-notes"' not in html


def test_the_departments_see_the_triage_note_on_their_investigation(client, driver):
    cid = driver.register()
    driver.classify(cid)
    driver.complete(cid, "triage_complaint", {"lead_department": "cards", "co_departments": [],
                                              "triage_note": "Check the March statement."})
    task = driver.task(cid, "investigate_complaint", "cards")
    sign_in(client, "cards.officer", language="zh-CN")
    html = text(client.get(f"/tasks/{task.id}", headers=ZH))
    notes = html[html.index('data-testid="task-notes"'):]
    assert "分派说明" in notes and "Check the March statement." in notes


def test_the_api_task_view_carries_the_initial_values_and_notes(client, driver):
    cid = _rejected(driver)
    task = driver.task(cid, "draft_resolution")
    body = client.get(f"/api/v1/tasks/{task.id}", headers=basic("cards.officer")).json
    assert body["initial"]["customer_message"] == "We refunded the fee."
    assert body["notes"] == {"approval_comment": "Name the clause of the card agreement."}
    registered = driver.register(severity="important")
    classify = driver.task(registered, "classify_complaint")
    assert client.get(f"/api/v1/tasks/{classify.id}", headers=basic("intake")).json["initial"]["severity"] == "important"


def test_a_reopened_draft_shows_what_the_customer_said_and_why_it_was_reopened(client, driver):
    cid = driver.handle_until_feedback()
    driver.complete(cid, "record_feedback", {"customer_satisfied": False, "satisfaction_rating": 1,
                                             "feedback_comment": "The fee is still on my statement."})
    driver.reopen(cid, "resolution")
    task = driver.task(cid, "draft_resolution")
    sign_in(client, "cards.officer", language="zh-CN")
    html = text(client.get(f"/tasks/{task.id}", headers=ZH))
    notes = html[html.index('data-testid="task-notes"'):html.index('data-testid="field-resolution_outcome"')]
    assert "反馈意见" in notes and "The fee is still on my statement." in notes
    assert "重新处理原因" in notes and "Disputed" in notes and "审批意见" not in notes
    assert _value(html, "customer_message") == "We refunded the fee."
