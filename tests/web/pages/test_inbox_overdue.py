"""An overdue task keeps its deadline on the pages (issue 27, item 1): once the first response deadline fired,
the inbox row and the task page still show the due time, marked overdue, and "Overdue only" finds the task."""
from __future__ import annotations

from app.scheduler import fire_due_timers
from tests.web.pages.conftest import BROWSER, sign_in, text

CHINESE = {**BROWSER, "Accept-Language": "zh-CN"}


def _row(page: str, task_id: int) -> str:
    return page.split(f'data-task-id="{task_id}"', 1)[1].split("</tr>", 1)[0]


def test_the_overdue_classify_task_keeps_its_due_time_and_badge(app, client, driver, demo, clock):
    cid = driver.register()
    task = driver.task(cid, "classify_complaint")
    clock.advance(hours=25)
    assert fire_due_timers(demo).fired == 1 and driver.complaint(cid).is_overdue
    sign_in(client, "intake")
    overdue = text(client.get("/inbox?view=team&overdue=true", headers=BROWSER))
    row = _row(overdue, task.id)   # "Overdue only" finds it
    assert 'data-testid="due"' in row and 'data-sla="breached"' in row and "overdue" in row
    page = text(client.get(f"/tasks/{task.id}", headers=BROWSER))
    assert 'data-testid="task-due"' in page and "sla-breached" in page.split('data-testid="task-due"')[0][-80:]
    chinese_client = app.test_client()
    sign_in(chinese_client, "intake", language="zh-CN")
    chinese = _row(text(chinese_client.get("/inbox?view=team&overdue=true", headers=CHINESE)), task.id)
    assert 'data-sla="breached"' in chinese and "已逾期" in chinese


def test_a_task_not_yet_due_is_not_overdue(client, driver, clock):
    cid = driver.register()
    task = driver.task(cid, "classify_complaint")
    clock.advance(hours=23)
    sign_in(client, "intake")
    assert f'data-task-id="{task.id}"' not in text(client.get("/inbox?view=team&overdue=true", headers=BROWSER))
    row = _row(text(client.get("/inbox?view=team", headers=BROWSER)), task.id)
    assert 'data-testid="due"' in row and 'data-sla="breached"' not in row
