"""The complaint page, its diagram endpoints, the complaint list and its CSV export, registration."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from tests.web.pages.conftest import BROWSER, post, sign_in, text


def _rejected_once(driver) -> int:
    cid = driver.register()
    driver.classify(cid)
    driver.triage(cid, lead="cards")
    driver.investigate(cid, "cards")
    driver.draft(cid)
    driver.reject(cid, "Explain the root cause")
    return cid


def test_the_complaint_page_shows_facts_clocks_timeline_tasks_and_the_diagram(client, driver):
    cid = _rejected_once(driver)
    sign_in(client, "coordinator")
    html = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    for testid in ("complaint-facts", "sla-clocks", "timeline", "open-tasks", "process-diagram"):
        assert f'data-testid="{testid}"' in html, testid
    assert f'data-diagram-url="/complaints/{cid}/diagram.bpmn"' in html
    assert 'data-testid="open-task-draft_resolution"' in html
    assert "Task completed" in html and "by <bdi>approver</bdi>" in html  # names isolated from the sentence
    assert "/static/build/diagram.js" in html


def test_diagram_endpoints_give_the_instance_version_and_rework_counts(client, driver):
    cid = _rejected_once(driver)
    sign_in(client, "coordinator")
    xml = client.get(f"/complaints/{cid}/diagram.bpmn", headers={"Accept": "application/xml"})
    assert xml.status_code == 200 and xml.content_type.startswith("application/xml")
    assert b'id="complaint_handling"' in xml.data
    elements = client.get(f"/complaints/{cid}/diagram-state.json").json["elements"]
    assert elements["draft_resolution"] == {"state": "active", "count": 1}
    assert elements["approve_resolution"] == {"state": "completed", "count": 1}
    assert elements["classify_complaint"]["state"] == "completed"


def test_diagram_endpoints_follow_the_read_policy(client, driver):
    cid = _rejected_once(driver)
    sign_in(client, "wealth_management.officer")  # a complaint they may not read is one that does not exist
    assert client.get(f"/complaints/{cid}/diagram.bpmn").status_code == 404
    assert client.get(f"/complaints/{cid}/diagram-state.json").status_code == 404


def test_complaint_list_filters_search_and_pages(client, driver, clock):
    clock.set(datetime(2027, 3, 1, 2, 0, tzinfo=UTC))  # the five registrations fall on one day
    ids = []
    for n in range(5):
        ids.append(driver.register(n, customer_name=f"Listed Person {n}"))
        clock.advance(minutes=5)
    sign_in(client, "coordinator")
    page = text(client.get("/complaints?limit=2", headers=BROWSER))
    assert page.count('data-testid="complaint-row"') == 2
    assert page.index(f'data-complaint-id="{ids[4]}"') < page.index(f'data-complaint-id="{ids[3]}"')  # newest first
    seen = set()
    while True:
        seen |= {int(chunk.split('"')[0]) for chunk in page.split('data-complaint-id="')[1:]}
        if 'data-testid="next-page"' not in page:
            break
        following = page.split('data-testid="next-page"')[0].rsplit('href="', 1)[1].split('"')[0]
        page = text(client.get(following.replace("&amp;", "&"), headers=BROWSER))
    assert seen == set(ids)
    page = text(client.get("/complaints?q=person%203", headers=BROWSER))
    assert page.count('data-testid="complaint-row"') == 1 and "Listed Person 3" in page
    assert text(client.get("/complaints?status=closed", headers=BROWSER)).count('data-testid="complaint-row"') == 0
    today = clock.now().date().isoformat()
    page = text(client.get(f"/complaints?received_from={today}&received_to={today}", headers=BROWSER))
    assert page.count('data-testid="complaint-row"') == 5
    page = text(client.get("/complaints?received_from=2027-03-02", headers=BROWSER))
    assert page.count('data-testid="complaint-row"') == 0
    bad = client.get("/complaints?received_from=someday", headers=BROWSER)
    assert bad.status_code == 200 and 'data-testid="filter-errors"' in text(bad)


def test_complaint_list_is_for_management_and_compliance(client, driver):
    driver.register()
    sign_in(client, "cards.officer")
    assert 'data-testid="nav-complaints"' not in text(client.get("/inbox", headers=BROWSER))
    assert client.get("/complaints", headers=BROWSER).status_code == 403


def test_csv_export_for_compliance_not_for_coordinators(client, driver):
    driver.register(customer_name="=HYPERLINK(\"x\")")
    driver.register(customer_name="Plain Name")
    sign_in(client, "coordinator")
    assert 'data-testid="export-csv"' not in text(client.get("/complaints", headers=BROWSER))
    assert client.get("/complaints.csv", headers=BROWSER).status_code == 403
    post(client, "/sign-out")
    sign_in(client, "compliance")
    response = client.get("/complaints.csv", headers=BROWSER)
    assert response.status_code == 200 and response.content_type.startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:2] == ["ID", "Tracking number"] and len(rows) == 3
    names = {row[3] for row in rows[1:]}
    assert "Plain Name" in names and "'=HYPERLINK(\"x\")" in names  # no formula reaches a spreadsheet


def test_registering_a_complaint_from_the_page(client, driver):
    sign_in(client, "intake")
    form = text(client.get("/complaints/new", headers=BROWSER))
    assert 'data-testid="register-form"' in form
    assert 'data-show-when-field="channel"' in form  # the forwarding reference: regulator, media, association
    bad = post(client, "/complaints/new", {"customer_name": "Ann", "channel": "regulator", "product": "credit_card",
                                           "category": "fees_charges", "customer_contact": "ann@example.com",
                                           "description": "Charged twice for one thing."}, page="/complaints/new")
    assert bad.status_code == 422 and 'data-testid="error-forwarded_reference"' in text(bad)
    assert 'value="Ann"' in text(bad)
    good = post(client, "/complaints/new", {"customer_name": "Ann", "channel": "regulator", "product": "credit_card",
                                            "category": "fees_charges", "customer_contact": "ann@example.com",
                                            "forwarded_reference": "REG-1", "amount_involved": "1,250.50",
                                            "forwarded_by": "cbirc", "forwarded_at": "2020-03-01",
                                            "reply_route": "customer",
                                            "description": "Charged twice for one thing."}, page="/complaints/new")
    assert good.status_code == 302 and good.headers["Location"].startswith("/complaints/")
    page = text(client.get(good.headers["Location"], headers=BROWSER))
    assert "CN¥1,250.50" in page and "Ann" in page


def test_money_and_dates_follow_the_locale(client, driver):
    cid = driver.register(amount_involved="1250.50")
    sign_in(client, "coordinator", language="zh-CN")
    page = text(client.get(f"/complaints/{cid}", headers={**BROWSER, "Accept-Language": "zh-CN"}))
    assert "¥1,250.50" in page and "CN¥" not in page and "年" in page


def test_a_breached_deadline_is_named_as_the_reader_reads_it(client, driver, clock):
    from app.scheduler import fire_due_timers

    cid = driver.register()
    clock.advance(hours=25)
    assert fire_due_timers(driver.runtime).fired == 1            # first response breached
    sign_in(client, "coordinator")
    html = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    fact = html[html.index('data-testid="fact-breached_slas"'):]
    fact = fact[:fact.index("</div>")]
    assert "First response (" in fact and "first_response" not in fact and "{" not in fact



def test_a_customer_follows_their_own_complaints_from_my_complaints(app, client, demo, driver):
    """A customer lists the complaints they made, newest first, and opens each; another customer's complaint is
    neither listed nor readable; the staff list's filters and export are not theirs."""
    from app.engine.complaints import registration as complaint_service
    from app.engine.demo.simulation import sample_registration
    from app.engine.identity import users

    with demo.unit_of_work() as uow:
        users.upsert_user(uow, "customer2", "customer2-demo", display_name="Other Customer", roles=["customer"])
        customers = {name: users.sign_in_record(uow, name).actor for name in ("customer", "customer2")}
    first = driver.register(1, customer_name="Mine First")
    ids = {}
    for n, who in ((1, "customer"), (2, "customer"), (3, "customer2")):
        with demo.unit_of_work() as uow:
            complaint = complaint_service.register_complaint(uow, customers[who], sample_registration(n))
            ids[n] = (complaint.id, complaint.tracking_number)
    sign_in(client, "customer")
    page = text(client.get("/complaints", headers=BROWSER))
    assert 'data-testid="own-complaint-list"' in page and ">My complaints</a>" in page
    rows = [int(part.split('"')[0]) for part in page.split('data-complaint-id="')[1:]]
    assert rows == [ids[2][0], ids[1][0]]                                      # theirs, newest first
    assert ids[3][1] not in page and first not in rows                        # nobody else's
    assert 'data-testid="complaint-filters"' not in page and "export-csv" not in page
    assert client.get(f"/complaints/{ids[1][0]}", headers=BROWSER).status_code == 200
    assert client.get(f"/complaints/{ids[3][0]}", headers=BROWSER).status_code == 404  # as if it did not exist
    other = app.test_client()
    sign_in(other, "customer2", "customer2-demo")
    assert [int(p.split('"')[0]) for p in text(other.get("/complaints", headers=BROWSER)).split(
        'data-complaint-id="')[1:]] == [ids[3][0]]
    coordinator = app.test_client()
    sign_in(coordinator, "coordinator")
    staff = text(coordinator.get("/complaints", headers=BROWSER))
    assert 'data-testid="complaint-filters"' in staff and ">Complaints</a>" in staff


def test_a_complaint_list_cursor_not_handed_out_shows_the_first_page_never_a_500(app, driver):
    """Garbage, or an id no row can have ([10**30], [0]: the database would fail on it), in ``after``: the staff's
    list and a customer's both fall back to their first page."""
    cid = driver.register()
    for username in ("coordinator", "customer"):
        client = app.test_client()
        sign_in(client, username)
        for cursor in ("garbage", "x" * 5000, "WzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDBd", "WzBd"):
            response = client.get("/complaints", query_string={"after": cursor}, headers=BROWSER)
            assert response.status_code == 200, (username, cursor[:20], response.status_code)
        # A NUL is refused by name, as in every query parameter (app/web/request_input.py)
        refused = client.get("/complaints", query_string={"after": "\x00"}, headers=BROWSER)
        assert refused.status_code == 422 and "Please check: after." in text(refused)
        response = client.get("/complaints", query_string={"after": "WzBd"}, headers=BROWSER)
        if username == "coordinator":
            assert f'data-complaint-id="{cid}"' in text(response)
