"""Who works on a task: claim from the team list and release it; a coordinator assigns it to a named person."""
from __future__ import annotations

from tests.browser.cases import ready_task_id
from tests.browser.workspace import task_row


def _at_investigation(case) -> int:
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead="cards")
    return cid


def test_claim_from_the_team_list_then_release(visit, case):
    cid = _at_investigation(case)
    officer = visit("cards.officer")
    page = officer.page
    officer.goto("/inbox?view=team")
    row = task_row(page, cid, "investigate_complaint")
    officer.submit(row.locator("[data-testid=claim]"))
    assert page.locator("[data-testid=flash-success]").count() == 1
    assert page.inner_text("[data-testid=count-mine]") == "1"
    officer.goto("/inbox?view=mine")
    mine = task_row(page, cid, "investigate_complaint")
    assert mine.count() == 1
    officer.submit(mine.locator("[data-testid=unclaim]"))
    assert page.inner_text("[data-testid=count-mine]") == "0"
    officer.goto("/inbox?view=team")
    assert task_row(page, cid, "investigate_complaint").locator("[data-testid=claim]").count() == 1


def test_a_coordinator_assigns_a_task_to_a_named_officer(visit, case):
    cid = _at_investigation(case)
    task_id = ready_task_id(case, cid, "investigate_complaint", "cards")
    coordinator = visit("coordinator")
    coordinator.goto(f"/tasks/{task_id}")
    page = coordinator.page
    assert page.locator("[data-testid=task-read-only]").count() == 1  # assigns it, cannot complete it
    page.select_option("[data-testid=assignee]", "cards.officer")
    coordinator.submit("[data-testid=assign]")
    assert page.locator("[data-testid=flash-success]").count() == 1
    assert page.locator("[data-testid=timeline-task_assigned]").count() == 1  # in the case history
    officer = visit("cards.officer")
    officer.goto("/inbox?view=mine")
    assert task_row(officer.page, cid, "investigate_complaint").count() == 1
    # Someone else of the department no longer finds it in the team list.
    officer.goto("/inbox?view=team")
    assert task_row(officer.page, cid, "investigate_complaint").count() == 0
