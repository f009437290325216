"""An overdue task keeps its deadline (issue 27, item 1): after the first response deadline fired, the inbox row
still shows the due time with the overdue badge, and "Overdue only" finds it, in English and in Chinese."""
from __future__ import annotations

import pytest

from app.scheduler import fire_due_timers
from tests.browser.workspace import task_row


@pytest.mark.parametrize(("locale", "overdue_word"), [("en", "overdue"), ("zh_CN", "已逾期")])
def test_the_overdue_classify_task_keeps_its_deadline_and_badge(visit, case, clock, locale, overdue_word):
    cid = case.register()
    due = case.task(cid, "classify_complaint").due_at
    clock.advance(hours=25)
    assert fire_due_timers(case.runtime).fired == 1 and case.complaint(cid).is_overdue
    intake = visit("intake", locale=locale)
    page = intake.page
    intake.goto("/inbox?view=team")
    page.check("[data-testid=filter-overdue]")     # "Overdue only"
    intake.submit("[data-testid=filter-apply]")
    row = task_row(page, cid, "classify_complaint")
    assert row.count() == 1
    badge = row.locator("[data-testid=due]")
    assert badge.get_attribute("data-sla") == "breached"
    shown = badge.inner_text()
    # The breached deadline itself (not "—"), shown in the reader's zone, an hour past: "60 minutes overdue".
    assert f":{due.minute:02d}" in shown.splitlines()[0]
    assert overdue_word in shown and "60" in shown.splitlines()[1]
