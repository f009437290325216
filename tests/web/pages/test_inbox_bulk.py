"""The inbox's bulk actions, saved filters and the reader's time zone, through the pages (CSRF on)."""
from __future__ import annotations

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.engine.models import AuditEvent, Complaint, SavedFilter, UserTask
from tests.web.pages.conftest import BROWSER, post, sign_in, text


def _at_investigation(driver, lead="cards") -> int:
    cid = driver.register()
    driver.classify(cid)
    driver.triage(cid, lead=lead)
    return cid


def _flashes(client, path="/inbox?view=all") -> str:
    return text(client.get(path, headers=BROWSER))


def _count(demo, action: str) -> int:
    with demo.unit_of_work() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_a_coordinator_assigns_several_tasks_and_reads_what_was_not(client, driver, demo):
    cards = [driver.task(_at_investigation(driver), "investigate_complaint", "cards") for _ in range(2)]
    lending = driver.task(_at_investigation(driver, "retail_lending"), "investigate_complaint", "retail_lending")
    sign_in(client, "coordinator")
    page = text(client.get("/inbox?view=all", headers=BROWSER))
    assert 'data-testid="bulk-form"' in page and 'data-testid="select-all"' in page
    assert page.count('data-testid="select-task"') == 3 and 'value="cards.officer"' in page
    answer = post(client, "/inbox/bulk", {"action": "assign", "assignee": "cards.officer", "next": "/inbox?view=all",
                                          "task_ids": [str(t.id) for t in (*cards, lending)]})
    assert answer.status_code == 302 and answer.headers["Location"] == "/inbox?view=all"
    shown = _flashes(client)
    assert "2 tasks assigned to Credit cards officer." in shown
    with demo.unit_of_work() as uow:
        tracking = uow.session.scalar(select(Complaint.tracking_number).where(Complaint.id == lending.complaint_id))
    assert f"1 task not assigned: {tracking} " in shown and "Credit cards officer may not work on it." in shown
    assert _count(demo, "task_assigned") == 2
    # Sent again (a double submit, the back button): nothing more is recorded, and the page says so.
    post(client, "/inbox/bulk", {"action": "assign", "assignee": "cards.officer",
                                 "task_ids": [str(t.id) for t in cards]})
    assert "2 tasks were already assigned to Credit cards officer." in _flashes(client)
    assert _count(demo, "task_assigned") == 2


def test_the_report_is_in_the_readers_language(client, driver, demo):
    tasks = [driver.task(driver.register(), "classify_complaint") for _ in range(2)]
    sign_in(client, "coordinator")
    post(client, f"/tasks/{tasks[1].id}/claim")
    post(client, "/sign-out")
    sign_in(client, "intake")
    post(client, "/preferences", {"locale": "zh_CN"}, page="/preferences")
    post(client, "/inbox/bulk", {"action": "claim", "task_ids": [str(t.id) for t in tasks]})
    shown = _flashes(client, "/inbox?view=mine")
    assert "已认领 1 项任务。" in shown and "1 项任务未认领：" in shown and "已由他人认领" in shown


def test_bulk_needs_its_csrf_token_an_action_and_a_task(client, driver, demo):
    task = driver.task(driver.register(), "classify_complaint")
    sign_in(client, "intake")
    no_token = client.post("/inbox/bulk", data={"action": "claim", "task_ids": [str(task.id)]}, headers=BROWSER)
    assert no_token.status_code == 400
    assert post(client, "/inbox/bulk", {"action": "delete", "task_ids": [str(task.id)]}).status_code == 400
    post(client, "/inbox/bulk", {"action": "claim"})
    assert "Select at least one task" in _flashes(client, "/inbox")
    # Assigning is for those who assign work: a 403, whatever the tasks.
    assert post(client, "/inbox/bulk", {"action": "assign", "assignee": "intake",
                                        "task_ids": [str(task.id)]}).status_code == 403
    with demo.unit_of_work() as uow:
        assert uow.session.get_one(UserTask, task.id).assignee_id is None


def test_the_mine_tab_offers_no_bulk_claim_and_officers_no_assign(client, driver):
    driver.task(driver.register(), "classify_complaint")
    sign_in(client, "intake")
    team = text(client.get("/inbox?view=team", headers=BROWSER))
    assert 'data-testid="bulk-claim"' in team and 'data-testid="bulk-assign"' not in team


# --- saved filters --------------------------------------------------------------------------------------------

def test_save_open_rename_and_delete_a_filter(client, demo):
    sign_in(client, "coordinator")
    page = text(client.get("/inbox?view=all&department=cards&overdue=true", headers=BROWSER))
    assert 'data-testid="save-filter-form"' in page
    assert 'name="query" value="view=all&amp;overdue=true&amp;department=cards"' in page
    saved = post(client, "/inbox/saved-filters", {"name": "Cards overdue",
                                                   "query": "view=all&overdue=true&department=cards&after=x"})
    assert saved.headers["Location"] == "/inbox?view=all&overdue=true&department=cards"
    inbox = text(client.get("/inbox", headers=BROWSER))
    assert 'href="/inbox?view=all&amp;overdue=true&amp;department=cards" data-testid="saved-filter"' in inbox
    assert 'data-testid="save-filter-form"' not in inbox  # no filter applied: nothing to save
    with demo.unit_of_work() as uow:
        filter_id = uow.session.scalar(select(SavedFilter.id))
    post(client, "/inbox/saved-filters", {"name": "cards OVERDUE", "query": "urgent=true"})
    assert "You already have a saved filter of that name" in _flashes(client, "/inbox")
    post(client, f"/inbox/saved-filters/{filter_id}/rename", {"name": "Late cards"}, page="/inbox/saved-filters")
    manage = text(client.get("/inbox/saved-filters", headers=BROWSER))
    assert "Filter renamed." in manage and 'data-name="Late cards"' in manage
    post(client, f"/inbox/saved-filters/{filter_id}/delete", page="/inbox/saved-filters")
    assert 'data-testid="no-saved-filters"' in text(client.get("/inbox/saved-filters", headers=BROWSER))


def test_someone_elses_filter_is_not_found(app, client, demo):
    sign_in(client, "coordinator")
    post(client, "/inbox/saved-filters", {"name": "Urgent", "query": "urgent=true"})
    with demo.unit_of_work() as uow:
        filter_id = uow.session.scalar(select(SavedFilter.id))
    other = app.test_client()
    sign_in(other, "head")
    assert 'data-testid="saved-filter"' not in text(other.get("/inbox", headers=BROWSER))
    assert post(other, f"/inbox/saved-filters/{filter_id}/delete").status_code == 404
    assert post(other, f"/inbox/saved-filters/{filter_id}/rename", {"name": "Mine"}).status_code == 404
    no_token = other.post(f"/inbox/saved-filters/{filter_id}/delete", headers=BROWSER)
    assert no_token.status_code == 400


# --- the reader's time zone -----------------------------------------------------------------------------------

def test_without_a_zone_of_their_own_a_user_reads_the_banks(client, demo):
    sign_in(client, "coordinator")  # no browser zone sent (no script)
    page = text(client.get("/inbox", headers=BROWSER))
    zone = demo.settings.sla_profile.timezone
    assert zone != "UTC" and f'data-testid="time-zone" data-zone="{zone}">Times in {zone}</a>' in page
    assert f'value="{zone}"' in text(client.get("/preferences", headers=BROWSER))


def test_the_browsers_zone_is_shown_and_due_times_carry_it(client, driver):
    driver.task(driver.register(), "classify_complaint")
    sign_in(client, "intake", timezone="Europe/London")
    page = text(client.get("/inbox?view=team", headers=BROWSER))
    assert 'data-zone="Europe/London"' in page and 'title="Times in Europe/London"' in page
    assert "Times are shown in Europe/London." in page


def test_a_received_time_typed_on_the_page_is_the_readers_local_time(client, demo, clock):
    sign_in(client, "intake", timezone="Europe/London")
    london = ZoneInfo("Europe/London")
    typed = (clock.now().astimezone(london) - timedelta(hours=3)).replace(second=0, microsecond=0, tzinfo=None)
    answer = post(client, "/complaints/new", {"customer_name": "Ann", "channel": "email", "product": "credit_card",
                                              "category": "fees_charges", "customer_contact": "ann@example.com",
                                              "received_at": typed.isoformat(timespec="minutes"),
                                              "description": "Charged twice for one thing."}, page="/complaints/new")
    assert answer.status_code == 302, text(answer)
    with demo.unit_of_work() as uow:
        received = uow.session.scalar(select(Complaint.received_at).order_by(Complaint.id.desc()))
    assert received == typed.replace(tzinfo=london).astimezone(UTC)
    assert received != typed.replace(tzinfo=ZoneInfo(demo.settings.sla_profile.timezone)).astimezone(UTC)

