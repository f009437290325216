"""Sign-in, sessions, CSRF, language and time zone, error pages."""
from __future__ import annotations

from sqlalchemy import select

from app.engine.models import User
from tests.web.pages.conftest import BROWSER, csrf_token, post, sign_in, text


def test_browsers_are_sent_to_sign_in_and_programs_get_json(client):
    response = client.get("/", headers=BROWSER)
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")
    assert client.get("/", headers={"Accept": "application/json"}).json["api"] == "/api/v1"
    assert client.get("/inbox", headers=BROWSER).headers["Location"].startswith("/sign-in?next=")


def test_each_demo_user_signs_in_and_lands_on_their_inbox(client):
    for username in ("intake", "coordinator", "approver", "head", "compliance", "cards.officer"):
        response = sign_in(client, username)
        assert response.status_code == 302 and response.headers["Location"] == "/inbox", username
        page = client.get("/inbox", headers=BROWSER)
        assert page.status_code == 200 and 'data-testid="worklist' in text(page)
        post(client, "/sign-out")
        assert client.get("/inbox", headers=BROWSER).status_code == 302


def test_wrong_password_is_refused_with_a_message(client):
    response = sign_in(client, "intake", "wrong")
    assert response.status_code == 401
    assert "The user name or password is not correct." in text(response)
    assert client.get("/inbox", headers=BROWSER).status_code == 302


def test_sign_in_follows_only_local_next_addresses(client):
    token = csrf_token(client)
    data = {"username": "intake", "password": "intake-demo", "csrf_token": token}
    response = client.post("/sign-in?next=//evil.example/x", data=data, headers=BROWSER)
    assert response.headers["Location"] == "/inbox"
    post(client, "/sign-out")
    token = csrf_token(client)
    response = client.post("/sign-in?next=/complaints/new", data={**data, "csrf_token": token}, headers=BROWSER)
    assert response.headers["Location"] == "/complaints/new"


def test_a_form_without_its_csrf_token_is_refused_with_an_html_page(client):
    response = client.post("/sign-in", data={"username": "intake", "password": "intake-demo"}, headers=BROWSER)
    assert response.status_code == 400
    assert response.content_type.startswith("text/html")
    assert "The form had expired" in text(response)
    sign_in(client, "intake")
    refused = client.post("/sign-out", data={"csrf_token": "forged"}, headers=BROWSER)
    assert refused.status_code == 400
    assert client.get("/inbox", headers=BROWSER).status_code == 200  # still signed in: nothing happened


def test_the_api_needs_no_csrf_token(client):
    from tests.web.conftest import basic
    response = client.post("/api/v1/complaints", json={}, headers=basic("intake"))
    assert response.status_code == 422 and response.is_json


def test_first_language_follows_the_browser(client):
    page = client.get("/sign-in", headers={**BROWSER, "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert '<html lang="zh-CN">' in text(page) and "登录" in text(page)
    page = client.get("/sign-in", headers={**BROWSER, "Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in text(page) and "Sign in" in text(page)


def test_language_switcher_saves_the_choice_on_the_user(client, demo):
    sign_in(client, "approver")
    assert "Inbox" in text(client.get("/inbox", headers=BROWSER))
    response = post(client, "/preferences", {"locale": "zh_CN", "next": "/inbox"})
    assert response.headers["Location"] == "/inbox"
    page = text(client.get("/inbox", headers=BROWSER))  # the browser still asks for English
    assert "待办箱" in page and "我的任务" in page
    with demo.unit_of_work() as uow:
        assert uow.session.scalar(select(User.locale).where(User.username == "approver")) == "zh_CN"


def test_first_time_zone_follows_the_browser_and_can_be_changed(client, demo):
    sign_in(client, "coordinator", timezone="Asia/Shanghai")
    with demo.unit_of_work() as uow:
        assert uow.session.scalar(select(User.timezone).where(User.username == "coordinator")) == "Asia/Shanghai"
    assert "Asia/Shanghai" in text(client.get("/inbox", headers=BROWSER))
    post(client, "/preferences", {"timezone": "Europe/London"}, page="/preferences")
    post(client, "/sign-out")
    sign_in(client, "coordinator", timezone="America/New_York")  # only the first default comes from the browser
    with demo.unit_of_work() as uow:
        assert uow.session.scalar(select(User.timezone).where(User.username == "coordinator")) == "Europe/London"
    refused = post(client, "/preferences", {"timezone": "Mars/Olympus"}, page="/preferences")
    assert refused.status_code == 302


def test_error_pages_are_html_in_both_languages_and_api_errors_stay_json(client):
    sign_in(client, "intake")
    page = client.get("/no-such-page", headers=BROWSER)
    assert page.status_code == 404 and page.content_type.startswith("text/html")
    assert "Page not found" in text(page) and 'data-testid="error-page"' in text(page)
    page = client.get("/no-such-page", headers={**BROWSER, "Accept-Language": "zh-CN"})
    assert "页面不存在" in text(page) or "Page not found" in text(page)  # signed-in users keep their choice
    api = client.get("/api/v1/no-such-thing", headers=BROWSER)
    assert api.status_code in (401, 404) and api.is_json
    anonymous = client.application.test_client()
    page = anonymous.get("/no-such-page", headers={**BROWSER, "Accept-Language": "zh-CN"})
    assert page.status_code == 404 and "页面不存在" in text(page)
    assert "Traceback" not in text(page)


def test_repeated_wrong_passwords_get_the_429_page(client, app):
    app.config["RATELIMIT_ENABLED"] = True
    statuses = [sign_in(client, "head", "wrong").status_code for _ in range(12)]
    assert statuses[0] == 401 and statuses[-1] == 429
    page = sign_in(client, "head")
    assert page.status_code == 429 and page.content_type.startswith("text/html")
    assert "Too many attempts" in text(page) and page.headers.get("Retry-After")
