"""A red team's findings, each a request that was a 500 or told more than it should: ids past PostgreSQL's
integer, NUL characters, dates at the end of the calendar, a line break in ``next=``, pseudo time zones, the
database away, 403-or-404 telling which ids exist, and right-to-left overrides in names. Pages and API alike."""
from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, select, update
from sqlalchemy import text as sql

from app.engine.config.settings import DEFAULT_CONFIG_DIR, load_sla_profile
from app.engine.core.errors import InvalidSubmission
from app.engine.identity import users
from app.engine.models import User
from app.web.pages.session import _safe_next
from tests.web.conftest import basic
from tests.web.pages.conftest import BROWSER, csrf_token, post, sign_in, text

BEYOND = ("2147483648", "9223372036854775808", "9" * 30)  # 2^31 (PostgreSQL integer), 2^63 (SQLite), huge


# --- ids no table holds ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("big", BEYOND)
def test_ids_past_the_integer_range_are_a_404_on_every_page_and_api_route(client, big):
    sign_in(client, "owner")  # the process owner opens the modeler and the review desk too
    pages = [f"/complaints/{big}", f"/complaints/{big}/diagram.bpmn", f"/complaints/{big}/diagram-state.json",
             f"/tasks/{big}", f"/review/versions/{big}", f"/review/submissions/{big}/source.bpmn",
             f"/modeler/versions/{big}", f"/modeler/drafts/{big}", f"/modeler/drafts/{big}.bpmn"]
    for path in pages:
        response = client.get(path, headers=BROWSER)
        assert response.status_code == 404, path
        assert 'data-testid="error-page"' in text(response), path
    for path in (f"/tasks/{big}/claim", f"/tasks/{big}", f"/complaints/{big}/extensions",
                 f"/modeler/drafts/{big}/discard"):
        # No route matches; werkzeug says 405 where a GET-only route of the same shape comes first.
        assert post(client, path, {}).status_code in (404, 405), path
    api = basic("coordinator")
    for path in (f"/api/v1/complaints/{big}", f"/api/v1/tasks/{big}"):
        response = client.get(path, headers=api)
        assert response.status_code == 404 and response.json["error"] == "not_found", path


# --- NUL and control characters in what the request carries ------------------------------------------------------

def test_a_nul_in_a_query_parameter_is_a_422_naming_it_on_pages_and_api(client):
    sign_in(client, "coordinator")
    for path, name in (("/complaints?q=%00", "q"), ("/complaints?status=open%00", "status"),
                       ("/inbox?q=Mary%00Major", "q"), ("/inbox?category=%00", "category")):
        response = client.get(path, headers=BROWSER)
        assert response.status_code == 422, path
        assert response.content_type.startswith("text/html")
        assert re.search(rf"Please check: {name}\.", text(response)), path
    response = client.get("/api/v1/tasks?department=%00", headers=basic("coordinator"))
    assert response.status_code == 422 and "department" in response.json["errors"]
    assert "department" in response.json["message"]


def test_a_nul_in_a_form_field_or_the_address_is_a_422_naming_it(client):
    token = csrf_token(client)
    response = client.post("/sign-in", data={"username": "intake\x00", "password": "x", "csrf_token": token},
                           headers=BROWSER)
    assert response.status_code == 422 and "Please check: username." in text(response)
    sign_in(client, "owner")
    response = client.get("/review/migration/complaint%00handling", headers=BROWSER)
    assert response.status_code == 422 and "Please check: process_id." in text(response)


# --- dates at the ends of the calendar ----------------------------------------------------------------------------

def test_dates_out_of_range_are_refused_by_name_before_the_export_streams(client, driver):
    driver.register()
    sign_in(client, "head")  # lists and exports
    for query in ("received_to=9999-12-31", "received_from=0001-01-01", "received_to=3000-01-01"):
        export = client.get(f"/complaints.csv?{query}", headers=BROWSER)
        name = query.split("=")[0]
        assert export.status_code == 422, query
        assert f"Please check: {name}." in text(export)
        page = client.get(f"/complaints?{query}", headers=BROWSER)
        assert page.status_code == 200 and 'data-testid="filter-errors"' in text(page), query
    inbox = client.get("/inbox?due_before=9999-12-31", headers=BROWSER)
    assert inbox.status_code == 200 and 'id="f-due-before-error"' in text(inbox)
    ok = client.get("/complaints.csv?received_from=2000-01-01&received_to=2999-12-31", headers=BROWSER)
    assert ok.status_code == 200 and len(list(csv.reader(io.StringIO(text(ok).lstrip("\ufeff"))))) == 2


@pytest.mark.parametrize("due_before", ["9999-12-31T23:00:00-05:00", "0001-01-01T01:00:00+05:00",
                                        "9999-12-31"])
def test_an_instant_past_the_calendar_is_a_422_naming_due_before_in_the_api(client, due_before):
    response = client.get("/api/v1/tasks", query_string={"due_before": due_before}, headers=basic("coordinator"))
    assert response.status_code == 422 and "due_before" in response.json["errors"]


# --- next= ------------------------------------------------------------------------------------------------------

def test_a_line_break_in_next_is_refused_by_name_and_never_reaches_a_header(client):
    token = csrf_token(client)
    data = {"username": "intake", "password": "intake-demo", "csrf_token": token}
    response = client.post("/sign-in?next=/inbox%0d%0aSet-Cookie:%20evil=1", data=data, headers=BROWSER)
    assert response.status_code == 422 and "Please check: next." in text(response)
    assert "Set-Cookie" not in response.headers or "evil" not in response.headers["Set-Cookie"]
    sign_in(client, "intake")
    moved = post(client, "/preferences", {"locale": "en", "next": "/inbox\r\nSet-Cookie: evil=1"},
                 page="/preferences")
    assert moved.status_code == 302 and moved.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/inbox\nx", "/inbox\r", "/\\evil.example", "/\t/evil.example", "/a\x7fb"])
def test_next_addresses_with_control_characters_or_backslashes_are_not_followed(target):
    assert _safe_next(target) is None
    assert _safe_next("/complaints?status=open") == "/complaints?status=open"


# --- time zones ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("zone", ["Factory", "localtime", "posixrules"])
def test_pseudo_time_zones_are_not_accepted_and_a_stored_one_breaks_no_page(client, demo, actors, zone):
    sign_in(client, "coordinator", timezone=zone)
    assert client.get("/inbox", headers=BROWSER).status_code == 200
    refused = post(client, "/preferences", {"timezone": zone}, page="/preferences")
    assert refused.status_code == 302
    with demo.unit_of_work() as uow:
        assert uow.session.scalar(select(User.timezone).where(User.username == "coordinator")) is None
        with pytest.raises(InvalidSubmission):
            users.set_preferences(uow, actors["coordinator"], timezone=zone)
        users.set_preferences(uow, actors["coordinator"], timezone="Asia/Shanghai")
    with demo.unit_of_work() as uow:  # saved before the rule existed: the pages fall back to the default
        uow.session.execute(update(User).where(User.username == "coordinator").values(timezone=zone))
    for path in ("/inbox", "/complaints", "/preferences"):
        assert client.get(path, headers=BROWSER).status_code == 200, path


def test_an_sla_profile_naming_a_pseudo_time_zone_is_refused(tmp_path):
    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    sla = config / "sla.toml"
    sla.write_text(sla.read_text(encoding="utf-8").replace('timezone = "Asia/Shanghai"', 'timezone = "Factory"'),
                   encoding="utf-8")
    with pytest.raises(ValueError, match="unknown time zone 'Factory'"):
        load_sla_profile(Path(config), "cn_cbirc")


# --- the database away ------------------------------------------------------------------------------------------

def test_while_the_database_is_away_pages_and_api_answer_503_and_recover_without_a_restart(client, demo):
    sign_in(client, "coordinator")
    engine = demo.database.engine
    dbapi = engine.dialect.loaded_dbapi

    def refuse(*_args, **_kwargs):
        raise dbapi.OperationalError("connection refused (the test took the database away)")

    engine.dispose()  # the pooled connections go, as when the server restarts
    event.listen(engine, "do_connect", refuse)
    try:
        page = client.get("/inbox", headers=BROWSER)
        assert page.status_code == 503 and page.headers["Retry-After"] == "30"
        assert page.content_type.startswith("text/html")
        assert 'data-testid="error-page"' in text(page) and "The service is briefly unavailable" in text(page)
        api = client.get("/api/v1/tasks", headers=basic("coordinator"))
        assert api.status_code == 503 and api.headers["Retry-After"] == "30"
        assert api.json["error"] == "service_unavailable"
        assert client.get("/healthz").status_code == 503
    finally:
        event.remove(engine, "do_connect", refuse)
    assert client.get("/inbox", headers=BROWSER).status_code == 200
    assert client.get("/api/v1/tasks", headers=basic("coordinator")).status_code == 200


def test_connections_the_server_ended_are_replaced_on_the_next_request(client, demo):
    if not demo.database.is_postgresql:
        pytest.skip("PostgreSQL: backends ended by pg_terminate_backend")
    sign_in(client, "coordinator")
    assert client.get("/inbox", headers=BROWSER).status_code == 200
    admin = create_engine(demo.database.url)
    try:
        with admin.connect() as connection:  # this test's own database only
            ended = connection.execute(sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                           "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            assert ended.scalar() >= 1
    finally:
        admin.dispose()
    assert client.get("/inbox", headers=BROWSER).status_code == 200
    assert client.get("/api/v1/tasks", headers=basic("coordinator")).status_code == 200


# --- no existence oracle ------------------------------------------------------------------------------------------

MISSING = 999_999


def _same(first, second, first_path: str, second_path: str) -> None:
    """The same status and body, but for the address (pages repeat it in the language switcher's return
    address) and the session's CSRF token."""
    def normal(response, path):
        body = re.sub(r'name="csrf_token" value="[^"]*"', "", text(response))
        return response.status_code, body.replace(path, "<path>")
    assert normal(first, first_path) == normal(second, second_path)


def test_an_id_the_caller_may_not_see_answers_as_one_that_does_not_exist(client, driver):
    cid = driver.register()
    task = driver.task(cid, "classify_complaint").id  # the intake desk's, in no officer's department
    outsider = basic("wealth_management.officer")
    for path in ("/api/v1/complaints/{}", "/api/v1/tasks/{}"):
        forbidden = client.get(path.format(cid if "complaints" in path else task), headers=outsider)
        missing = client.get(path.format(MISSING), headers=outsider)
        assert forbidden.status_code == 404
        assert forbidden.get_data() == missing.get_data()
    for path, body in (("/api/v1/tasks/{}/complete", {"data": {}}),
                       ("/api/v1/complaints/{}/extensions", {"sla": "decision", "extension": "x", "reason": "y"})):
        object_id = task if "tasks" in path else cid
        forbidden = client.post(path.format(object_id), json=body, headers=outsider)
        missing = client.post(path.format(MISSING), json=body, headers=outsider)
        assert forbidden.status_code == 404, path
        assert forbidden.get_data() == missing.get_data(), path
    sign_in(client, "wealth_management.officer")
    for path, object_id in (("/complaints/{}", cid), ("/complaints/{}/diagram.bpmn", cid),
                            ("/complaints/{}/diagram-state.json", cid), ("/tasks/{}", task)):
        forbidden = client.get(path.format(object_id), headers=BROWSER)
        missing = client.get(path.format(MISSING), headers=BROWSER)
        assert forbidden.status_code == 404, path
        _same(forbidden, missing, path.format(object_id), path.format(MISSING))
    forbidden = post(client, f"/tasks/{task}", {"category": "fees_charges"})
    missing = post(client, f"/tasks/{MISSING}", {"category": "fees_charges"})
    assert forbidden.status_code == missing.status_code == 404


def test_who_sees_the_object_but_may_not_act_on_it_still_gets_403(client, driver):
    cid = driver.register()
    # The intake desk reads the complaint it registered but does not extend deadlines.
    assert client.get(f"/api/v1/complaints/{cid}", headers=basic("intake")).status_code == 200
    refused = client.post(f"/api/v1/complaints/{cid}/extensions", headers=basic("intake"),
                          json={"sla": "decision", "extension": "complex_case", "reason": "More time"})
    assert refused.status_code == 403 and refused.json["error"] == "forbidden"


# --- right-to-left overrides in names -----------------------------------------------------------------------------

def test_a_name_with_a_right_to_left_override_is_isolated_on_the_page_and_neutralised_in_the_csv(client, driver):
    name = "Eve \u202egnp.exe"
    cid = driver.register(customer_name=name)
    sign_in(client, "head")
    page = text(client.get(f"/complaints/{cid}", headers=BROWSER))
    assert f"<bdi>{name}</bdi>" in page
    assert re.sub(r"<bdi>[^<]*</bdi>", "", page).count("\u202e") == 0  # no override outside an isolate
    listed = text(client.get("/complaints", headers=BROWSER))
    assert f"<bdi>{name}</bdi>" in listed
    export = text(client.get("/complaints.csv", headers=BROWSER))
    assert "\u202e" not in export
    rows = list(csv.DictReader(io.StringIO(export.lstrip("\ufeff"))))
    assert [row["Customer"] for row in rows] == ["Eve [U+202E]gnp.exe"]


def test_the_csv_keeps_its_formula_guard_after_neutralising_bidi_controls(client, driver):
    driver.register(customer_name="=HYPERLINK(\"http://evil.example\")")
    driver.register(2, customer_name="\u202e=1+1")
    sign_in(client, "head")
    rows = list(csv.DictReader(io.StringIO(text(client.get("/complaints.csv", headers=BROWSER)).lstrip("\ufeff"))))
    assert sorted(row["Customer"] for row in rows) == ["'=HYPERLINK(\"http://evil.example\")", "[U+202E]=1+1"]


# --- a task's own actions: follow-up dates at the end of the calendar, a hidden task's state --------------------

def test_a_follow_up_date_at_the_end_of_the_calendar_is_a_message_not_a_500(client, demo, actors):
    from tests.support import CaseDriver
    cid = CaseDriver(demo, actors).register()
    sign_in(client, "intake")
    task = CaseDriver(demo, actors).task(cid, "classify_complaint")
    post(client, f"/tasks/{task.id}/claim", {}, page=f"/tasks/{task.id}")
    for day in ("0001-01-01", "9999-12-31"):
        response = post(client, f"/tasks/{task.id}/follow-up", {"follow_up_date": day}, page=f"/tasks/{task.id}")
        assert response.status_code == 302, day
        page = text(client.get(f"/tasks/{task.id}", headers=BROWSER))
        assert "Please give the follow-up date as a date." in page, day


def test_claiming_a_task_one_may_not_see_answers_as_for_a_task_that_does_not_exist(client, demo, actors):
    from tests.support import CaseDriver
    driver = CaseDriver(demo, actors)
    cid = driver.register()
    driver.classify(cid)
    driver.triage(cid, lead="cards")
    investigation = driver.task(cid, "investigate_complaint", "cards")
    sign_in(client, "wealth_management.officer")  # another department: the case is not theirs to see
    hidden = post(client, f"/tasks/{investigation.id}/claim", {}, page="/inbox")
    missing = post(client, "/tasks/999999/claim", {}, page="/inbox")
    assert hidden.status_code == missing.status_code == 404
    without_token = lambda body: re.sub(r'name="csrf_token" value="[^"]+"', "", body)
    assert without_token(text(hidden)).replace(str(investigation.id), "N") == \
        without_token(text(missing)).replace("999999", "N")
