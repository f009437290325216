"""Steps a person takes in the staff workspace, by the pages' data-testid hooks and field names (the same in
every language): fill a form rendered from a JSON Schema, find a task in the inbox, complete it."""
from __future__ import annotations

import re

from tests.browser.harness import Visitor, audit

CJK = re.compile(r"[\u4e00-\u9fff]")


def fill_form(page, values: dict, form: str = "form.schema-form") -> None:
    """Type each value into the field of that name as a person would: select, tick, choose or type."""
    scope = page.locator(form)
    for name, value in values.items():
        control = scope.locator(f'[name="{name}"]').first
        kind = control.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if kind.startswith("select"):
            control.select_option(value)
        elif kind == "input:checkbox":
            for box in scope.locator(f'input[name="{name}"]').all():
                box.set_checked(box.get_attribute("value") in value)
        elif kind == "input:radio":
            code = {True: "true", False: "false"}.get(value, str(value))
            scope.locator(f'input[name="{name}"][value="{code}"]').check()
        else:
            control.fill(str(value))


def assert_translated(page, selector: str) -> None:
    """Each element's text has Chinese in it: a label left in English is a missing catalog entry."""
    texts = page.locator(selector).all_inner_texts()
    assert texts, selector
    english = [t.strip() for t in texts if not CJK.search(t)]
    assert not english, f"not translated on {page.url}: {english}"


def task_row(page, complaint_id: int, element_id: str):
    return page.locator(f'[data-testid=task-row][data-complaint-id="{complaint_id}"][data-task-name="{element_id}"]')


def open_task(visitor: Visitor, complaint_id: int, element_id: str) -> int:
    """Find the complaint's task in the inbox (its first tab, then Mine, My team, All open) and open it; its id."""
    page = visitor.page
    for view in ("", "mine", "team", "all"):
        if view:
            if page.locator(f"[data-testid=tab-{view}][aria-current=page]").count():
                continue  # the tab just looked at
            if not page.locator(f"[data-testid=tab-{view}]").count():
                continue  # not a tab of this person's inbox
        visitor.goto(f"/inbox?view={view}" if view else "/inbox")
        row = task_row(page, complaint_id, element_id)
        if row.count():
            with page.expect_navigation():
                row.first.locator("[data-testid=task-link]").click()
            audit(page)
            visitor.check_language()
            if visitor.locale == "zh_CN":
                assert_translated(page, "[data-testid=task-title], [data-testid=task-form] :is(label, legend)")
            return int(page.url.rstrip("/").rsplit("/", 1)[1])
    raise AssertionError(f"{visitor.username} has no {element_id} of complaint {complaint_id} in the inbox")


def complete_task(visitor: Visitor, complaint_id: int, element_id: str, values: dict) -> int:
    task_id = open_task(visitor, complaint_id, element_id)
    fill_form(visitor.page, values)
    visitor.submit()
    page = visitor.page
    assert page.url.endswith("/inbox"), f"{element_id} not completed: {page.url}\n{page.inner_text('main')[:1500]}"
    assert page.locator("[data-testid=flash-success]").count() == 1
    return task_id
