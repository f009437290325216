"""The complaint page's deadlines after a reopening: the decision clock from receipt (met at the first
decision) and the review clock from the customer's review request, each its own row named by its SLA, in both
languages; a complaint closed during an escalation shows the withdrawal in its history."""
from __future__ import annotations

import re

from app.scheduler import fire_due_timers
from tests.web.pages.conftest import BROWSER, sign_in, text


def _reopened(driver) -> int:
    cid = driver.handle_until_feedback()
    driver.feedback(cid, False, 1)
    driver.reopen(cid, "resolution")
    return cid


def _clock_rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-testid="clock-handling_deadline_overdue" data-state="(\w+)" data-sla="(\w*)"', html)


def test_the_page_lists_the_review_clock_next_to_the_decision_clock(client, driver):
    cid = _reopened(driver)
    sign_in(client, "coordinator")
    html = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    assert _clock_rows(html) == [("cancelled", "decision"), ("waiting", "review")]
    assert "Handling decision" in html and "Review of the reopened case" in html
    # Each row is headed by its deadline's name; the diagram's timer event (named for its passing) comes second.
    headers = re.findall(r'data-sla="\w+">\s*(?:\{#.*?#\}\s*)?<th scope="row">([^<]+)<br><small class="muted">([^<]+)<',
                         html)
    assert ("Handling decision", "Handling deadline passed") in headers
    assert ("Review of the reopened case", "Handling deadline passed") in headers
    assert ("First response", "First response overdue") in headers


def test_the_review_clock_is_named_in_chinese(client, driver):
    cid = _reopened(driver)
    sign_in(client, "coordinator", language="zh-CN")
    html = text(client.get(f"/complaints/{cid}", headers={**BROWSER, "Accept-Language": "zh-CN"}))
    assert _clock_rows(html) == [("cancelled", "decision"), ("waiting", "review")]
    assert "Review of the reopened case" not in html


def test_the_history_shows_the_intervention_withdrawn_when_the_complaint_closed(client, driver, clock):
    cid = driver.register()
    clock.advance(hours=25)
    fire_due_timers(driver.runtime)
    driver.classify(cid)
    driver.triage(cid)
    driver.investigate(cid, "cards")
    driver.draft(cid)
    driver.approve(cid)
    driver.feedback(cid, True, 5)
    sign_in(client, "coordinator")
    html = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    assert "Intervention withdrawn: the complaint was closed" in html
    assert 'data-testid="open-task-intervene_overdue_complaint"' not in html
