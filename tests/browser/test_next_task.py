"""Issue 27 item 8: after completing a task, the page opens the user's next task on the same case (a coordinator
classifying and then triaging goes through no inbox); when the case moves on to others, back to the inbox."""
from __future__ import annotations

import pytest

from tests.browser.cases import ready_task_id
from tests.browser.workspace import complete_task, fill_form, open_task

CLASSIFY = {"category": "fees_charges", "severity": "general", "product": "credit_card"}
NAMES = {"en": ("Classify complaint", "Triage: name lead and co-investigating departments"),
         "zh_CN": ("投诉分类", "分派：指定主办及协查部门")}


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_a_coordinator_goes_from_classification_straight_to_triage(visit, case, locale):
    classify_name, triage_name = NAMES[locale]
    cid = case.register()
    coordinator = visit("coordinator", locale=locale)
    open_task(coordinator, cid, "classify_complaint")
    fill_form(coordinator.page, CLASSIFY)
    coordinator.submit()
    page = coordinator.page
    triage_id = ready_task_id(case, cid, "triage_complaint")
    assert page.url.endswith(f"/tasks/{triage_id}"), page.url
    message = page.inner_text("[data-testid=flash-success]")
    assert classify_name in message, message
    assert page.inner_text("[data-testid=task-title]").strip().startswith(triage_name)
    # Triage hands the case to a department: nothing more for the coordinator, back to the inbox.
    fill_form(page, {"lead_department": "cards", "co_departments": []})
    coordinator.submit()
    assert page.url.endswith("/inbox"), page.url
    assert triage_name in page.inner_text("[data-testid=flash-success]")


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_the_intake_desk_classifying_goes_back_to_the_inbox(visit, case, locale):
    """Triage is complaint management's, not the intake desk's: the agent's next step is their inbox."""
    cid = case.register()
    intake = visit("intake", locale=locale)
    complete_task(intake, cid, "classify_complaint", CLASSIFY)  # asserts the inbox and one done message
    assert NAMES[locale][0] in intake.page.inner_text("[data-testid=flash-success]")
