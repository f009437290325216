"""Bulk claim and assign in the inbox, in English and Chinese: tick tasks (or all of the page), claim them or
assign them to one person, and read per task what was not done and why."""
from __future__ import annotations

import pytest

from app.engine.models import UserTask
from tests.browser.cases import ready_task_id
from tests.browser.workspace import assert_translated, task_row

TEXTS = {
    "en": {"assigned": "2 tasks assigned to Credit cards officer.", "not": "1 task not assigned:",
           "why": "may not work on it", "claimed": "2 tasks claimed."},
    "zh_CN": {"assigned": "已将 2 项任务分派给 Credit cards officer。", "not": "1 项任务未分派：",
              "why": "不能处理该任务", "claimed": "已认领 2 项任务。"},
}


def _at_investigation(case, lead="cards") -> int:
    cid = case.register()
    case.classify(cid)
    case.triage(cid, lead=lead)
    return cid


def _assignee(case, task_id: int) -> int | None:
    with case.runtime.unit_of_work() as uow:
        return uow.session.get_one(UserTask, task_id).assignee_id


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_a_coordinator_selects_the_page_and_assigns_it_to_one_officer(visit, case, actors, locale):
    cards = [_at_investigation(case) for _ in range(2)]
    lending = _at_investigation(case, "retail_lending")
    coordinator = visit("coordinator", locale=locale)
    page = coordinator.page
    coordinator.goto("/inbox?view=all&category=")
    if locale == "zh_CN":
        assert_translated(page, "[data-testid=bulk-form] button, [data-testid=bulk-form] label")
    page.check("[data-testid=select-all]")
    assert page.locator("[data-testid=select-task]:checked").count() == page.locator("[data-testid=task-row]").count()
    page.uncheck("[data-testid=select-all]")
    task_row(page, cards[0], "investigate_complaint").locator("[data-testid=select-task]").check()
    assert page.eval_on_selector("[data-testid=select-all]", "box => box.indeterminate") is True
    for cid in (cards[1], lending):
        task_row(page, cid, "investigate_complaint").locator("[data-testid=select-task]").check()
    page.select_option("[data-testid=bulk-assignee]", "cards.officer")
    coordinator.submit("[data-testid=bulk-assign]")
    texts = TEXTS[locale]
    assert page.inner_text("[data-testid=flash-success]") == texts["assigned"]
    refused = page.inner_text("[data-testid=flash-error]")
    assert refused.startswith(texts["not"]) and texts["why"] in refused
    officer = actors["cards.officer"].user_id
    assert [_assignee(case, ready_task_id(case, cid, "investigate_complaint", "cards")) for cid in cards] == \
        [officer, officer]
    assert _assignee(case, ready_task_id(case, lending, "investigate_complaint", "retail_lending")) is None
    assert "/inbox?view=all" in page.url  # back on the same list


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_an_agent_claims_several_tasks_of_the_team(visit, case, locale):
    cids = [case.register() for _ in range(2)]
    intake = visit("intake", locale=locale)
    page = intake.page
    intake.goto("/inbox?view=team")
    assert page.locator("[data-testid=bulk-assign]").count() == 0  # assigning is for coordinators
    for cid in cids:
        box = task_row(page, cid, "classify_complaint").locator("[data-testid=select-task]")
        assert box.get_attribute("aria-label")  # each box says which task it selects
        box.check()
    intake.submit("[data-testid=bulk-claim]")
    assert page.inner_text("[data-testid=flash-success]") == TEXTS[locale]["claimed"]
    assert page.inner_text("[data-testid=count-mine]") == "2"
