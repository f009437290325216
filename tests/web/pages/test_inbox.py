"""The inbox: tabs over worklist.list_tasks, claim / release / assign / follow-up, each in the case history."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app.engine.models import AuditEvent
from tests.web.pages.conftest import BROWSER, post, sign_in, text


def _rows(response) -> list[str]:
    return [chunk.split('"')[0] for chunk in text(response).split('data-task-id="')[1:]]


def _tabs(response) -> tuple[str | None, list[str]]:
    """The tab the page shows (the one marked aria-current) and every tab offered."""
    page = text(response)
    current = re.search(r'data-testid="tab-(\w+)"\s+aria-current="page"', page)
    return (current.group(1) if current else None), re.findall(r'data-testid="tab-(\w+)"', page)


def test_claim_moves_a_task_from_my_team_to_mine_and_release_back(client, driver, demo):
    cid = driver.register()
    task = driver.task(cid, "classify_complaint")
    sign_in(client, "intake")
    team = client.get("/inbox?view=team", headers=BROWSER)
    assert str(task.id) in _rows(team) and 'data-testid="claim"' in text(team)
    assert post(client, f"/tasks/{task.id}/claim", {"next": "/inbox?view=team"}).headers["Location"] == "/inbox?view=team"
    assert str(task.id) in _rows(client.get("/inbox?view=mine", headers=BROWSER))
    assert str(task.id) not in _rows(client.get("/inbox?view=team", headers=BROWSER))
    default = client.get("/inbox", headers=BROWSER)  # no tab asked for: Mine, since it has tasks
    assert default.status_code == 200 and _tabs(default)[0] == "mine" and _rows(default) == [str(task.id)]
    post(client, f"/tasks/{task.id}/unclaim")
    assert str(task.id) in _rows(client.get("/inbox?view=team", headers=BROWSER))
    with demo.unit_of_work() as uow:
        actions = uow.session.scalars(select(AuditEvent.action).where(AuditEvent.complaint_id == cid)).all()
    assert "task_claimed" in actions and "task_unclaimed" in actions


def test_all_open_is_for_coordinators_and_heads(client, driver):
    driver.register()
    sign_in(client, "coordinator")
    page = client.get("/inbox?view=all", headers=BROWSER)
    assert page.status_code == 200 and 'data-testid="tab-all"' in text(page) and _rows(page)
    post(client, "/sign-out")
    sign_in(client, "approver")
    assert 'data-testid="tab-all"' not in text(client.get("/inbox", headers=BROWSER))
    fallback = client.get("/inbox?view=all", headers=BROWSER)  # a tab not offered: the team tab instead
    assert fallback.status_code == 200 and _tabs(fallback) == ("team", ["mine", "team"])


def test_coordinator_assigns_a_department_task_to_a_named_officer(client, driver, demo):
    cid = driver.register()
    driver.classify(cid)
    driver.triage(cid, lead="cards")
    task = driver.task(cid, "investigate_complaint", "cards")
    sign_in(client, "coordinator")
    page = text(client.get(f"/tasks/{task.id}", headers=BROWSER))
    assert 'data-testid="assign-form"' in page and 'value="cards.officer"' in page
    assert 'value="e_banking.officer"' not in page and 'data-testid="task-read-only"' in page
    post(client, f"/tasks/{task.id}/assign", {"assignee": "cards.officer"}, page=f"/tasks/{task.id}")
    post(client, "/sign-out")
    sign_in(client, "cards.officer")
    assert str(task.id) in _rows(client.get("/inbox?view=mine", headers=BROWSER))
    with demo.unit_of_work() as uow:
        event = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "task_assigned")).one()
    assert event.after == {"assignee": "cards.officer"} and event.actor == "coordinator"


def test_follow_up_date_hides_the_task_from_mine_until_then(client, driver, clock):
    cid = driver.register()
    task = driver.task(cid, "classify_complaint")
    sign_in(client, "intake")
    post(client, f"/tasks/{task.id}/claim")
    day = (clock.now() + timedelta(days=3)).date().isoformat()
    response = post(client, f"/tasks/{task.id}/follow-up", {"follow_up_date": day}, page=f"/tasks/{task.id}")
    assert response.status_code == 302
    assert str(task.id) not in _rows(client.get("/inbox?view=mine", headers=BROWSER))
    clock.advance(days=4)
    sign_in(client, "intake")  # four days later the session has long expired (30 minutes idle): a new day's
    assert str(task.id) in _rows(client.get("/inbox?view=mine", headers=BROWSER))


def test_filters_and_search(client, driver):
    first = driver.register(customer_name="Alice Filterable", category="fees_charges")
    driver.register(customer_name="Bob Other", category="product")
    sign_in(client, "intake")
    page = client.get("/inbox?view=team&q=filterable", headers=BROWSER)
    assert len(_rows(page)) == 1 and "Alice Filterable" in text(page)
    assert len(_rows(client.get("/inbox?view=team&category=product", headers=BROWSER))) == 1
    assert len(_rows(client.get("/inbox?view=team&overdue=true", headers=BROWSER))) == 0
    bad = client.get("/inbox?view=team&due_before=yesterday", headers=BROWSER)
    assert bad.status_code == 200 and "Please give a date." in text(bad)
    stale = client.get("/inbox?view=team&after=garbage", headers=BROWSER)
    assert stale.status_code == 200 and len(_rows(stale)) == 2
    assert first


def test_keyset_pages_and_time_left_colours(client, driver, clock):
    for n in range(3):
        driver.register(n)
        clock.advance(minutes=1)
    sign_in(client, "intake")
    page1 = client.get("/inbox?view=team&limit=2", headers=BROWSER)
    assert len(_rows(page1)) == 2 and 'data-sla="ok"' in text(page1)
    following = text(page1).split('data-testid="next-page"')[0].rsplit('href="', 1)[1].split('"')[0]
    page2 = client.get(following.replace("&amp;", "&"), headers=BROWSER)
    assert len(_rows(page2)) == 1 and not set(_rows(page2)) & set(_rows(page1))
    assert 'data-testid="next-page"' not in text(page2) and 'data-testid="first-page"' in text(page2)
    clock.advance(hours=18)  # past 75 % of the 24-hour first response
    sign_in(client, "intake")  # the session expired meanwhile (30 minutes idle)
    assert 'data-sla="warning"' in text(client.get("/inbox?view=team", headers=BROWSER))
    clock.advance(hours=7)
    sign_in(client, "intake")
    assert 'data-sla="breached"' in text(client.get("/inbox?view=team", headers=BROWSER))


def test_a_customer_inbox_holds_the_questions_put_to_them_without_staff_tools(app, demo, driver):
    """A customer's inbox: their feedback question, with no team tab, filters, staff columns or claiming."""
    from app.engine.complaints import registration
    from app.engine.demo.simulation import sample_registration
    from app.engine.identity import users

    with demo.unit_of_work() as uow:
        customer = users.sign_in_record(uow, "customer").actor
        cid = registration.register_complaint(uow, customer, sample_registration(3)).id
    client = app.test_client()
    sign_in(client, "customer")
    empty = text(client.get("/inbox", headers=BROWSER))
    assert "Nothing is waiting for your answer." in empty
    for staff_only in ('data-testid="inbox-tabs"', 'data-testid="inbox-filters"'):
        assert staff_only not in empty
    driver.classify(cid)
    driver.triage(cid, "cards")
    driver.investigate(cid, "cards")
    driver.draft(cid)
    driver.approve(cid)
    page = text(client.get("/inbox", headers=BROWSER))
    assert 'data-task-name="record_feedback"' in page and f'data-complaint-id="{cid}"' in page
    assert 'data-testid="claim"' not in page and ">Department<" not in page and 'data-testid="inbox-tabs"' not in page
    coordinator = app.test_client()
    sign_in(coordinator, "coordinator")
    staff = text(coordinator.get("/inbox", headers=BROWSER))
    assert 'data-testid="inbox-tabs"' in staff and 'data-testid="inbox-filters"' in staff
