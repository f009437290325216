"""Browser sessions kept server-side (finding M4): sign-out ends the session, so a copied cookie stops working;
idle timeout and absolute lifetime (config/security.toml: 30 minutes, 12 hours); "sign out other sessions"; a
password change or a deactivation ends the others. The clock is the runtime's manual clock."""
from __future__ import annotations

from datetime import timedelta

from flask_login.utils import encode_cookie
from sqlalchemy import select

from app.engine.core.actors import SYSTEM
from app.engine.identity import users
from app.engine.models import AuditEvent, User, UserSession
from tests.web.pages.conftest import BROWSER, post, sign_in, text

CHINESE = {**BROWSER, "Accept-Language": "zh-CN"}


def signed_in(app, username: str = "intake"):
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def rows(demo) -> list[UserSession]:
    with demo.unit_of_work() as uow:
        return list(uow.session.scalars(select(UserSession).order_by(UserSession.id)))


def refused_with(client, notice: str) -> None:
    """The browser is sent to sign in, and the sign-in page says why."""
    response = client.get("/preferences", headers=BROWSER)
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    assert notice in text(client.get("/sign-in", headers=BROWSER))


def test_a_copied_cookie_fails_after_sign_out(app, demo):
    browser = signed_in(app)
    thief = app.test_client()
    thief.set_cookie("session", browser.get_cookie("session").value)
    assert thief.get("/preferences", headers=BROWSER).status_code == 200  # the copy works while the session is open

    post(browser, "/sign-out")
    refused_with(thief, "Your session has ended")
    [row] = rows(demo)
    assert row.ended_reason == "signed_out" and row.ended_at is not None


def test_each_sign_in_gets_a_new_session_id_stored_only_as_its_hash(app, demo):
    client = signed_in(app)
    with client.session_transaction() as cookie:
        first = cookie["session_id"]
    again = post(client, "/sign-in", {"username": "intake", "password": "intake-demo"}, page="/preferences")
    assert again.status_code == 302  # signing in again, over an existing session
    with client.session_transaction() as cookie:
        second = cookie["session_id"]
    assert first != second and len(second) >= 43  # secrets.token_urlsafe(32)
    hashes = [row.token_hash for row in rows(demo)]
    assert len(hashes) == 2 and first not in hashes and second not in hashes


def test_an_idle_session_expires_after_30_minutes(app, demo, clock):
    client = signed_in(app)
    clock.advance(minutes=29)
    assert client.get("/preferences", headers=BROWSER).status_code == 200  # activity moves the idle timeout
    clock.advance(minutes=29)
    assert client.get("/preferences", headers=BROWSER).status_code == 200
    clock.advance(minutes=30)
    refused_with(client, "you had not used the workspace for a while")
    [row] = rows(demo)
    assert row.ended_reason == "idle"
    with demo.unit_of_work() as uow:
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "sessions_ended"))
        assert event.detail["reason"] == "idle" and event.actor == "intake"


def test_an_active_session_ends_after_12_hours(app, demo, clock):
    client = signed_in(app)
    for _ in range(12 * 60 // 25):  # 28 requests, 25 minutes apart: never idle, 11 h 40 min in all
        clock.advance(minutes=25)
        assert client.get("/preferences", headers=BROWSER).status_code == 200
    clock.advance(minutes=20)  # 12 h after signing in
    refused_with(client, "Your session reached its maximum length")
    assert rows(demo)[0].ended_reason == "lifetime"


def test_last_use_is_written_at_most_once_a_minute(app, demo, clock):
    client = signed_in(app)
    started = rows(demo)[0].last_seen_at
    clock.advance(seconds=59)
    client.get("/preferences", headers=BROWSER)
    assert rows(demo)[0].last_seen_at == started
    clock.advance(seconds=1)
    client.get("/preferences", headers=BROWSER)
    assert rows(demo)[0].last_seen_at == started + timedelta(minutes=1)


def test_sign_out_other_sessions_ends_the_other_browser_and_keeps_this_one(app, demo):
    here, elsewhere, colleague = signed_in(app), signed_in(app), signed_in(app, "coordinator")
    page = text(here.get("/sessions", headers=BROWSER))
    assert page.count('data-testid="session"') == 2 and "(this browser)" in page

    response = post(here, "/sessions/sign-out-others", page="/sessions", follow_redirects=True)
    assert "Signed out 1 other session(s)." in text(response)
    assert text(response).count('data-testid="session"') == 1
    refused_with(elsewhere, "Your session has ended")
    assert here.get("/preferences", headers=BROWSER).status_code == 200
    assert colleague.get("/preferences", headers=BROWSER).status_code == 200  # another user's session stays
    with demo.unit_of_work() as uow:
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "sessions_ended"))
        assert event.detail == {"reason": "signed_out_elsewhere", "count": 1, "user": "intake"}


def test_the_sessions_page_in_chinese(app):
    here = app.test_client()
    assert sign_in(here, "intake", language="zh-CN").status_code == 302
    signed_in(app)
    page = text(here.get("/sessions", headers=CHINESE))
    assert "您的会话" in page and "退出其他会话" in page and "当前浏览器" in page and "最近使用" in page
    assert "Your sessions" not in page
    assert "您的会话" in text(here.get("/preferences", headers=CHINESE))  # the link from the preferences page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = here.post("/sessions/sign-out-others", data={"csrf_token": token}, headers=CHINESE,
                         follow_redirects=True)
    assert "已退出 1 个其他会话。" in text(response)


def test_a_password_change_ends_the_other_sessions(app, demo):
    here, elsewhere = signed_in(app), signed_in(app)
    this_row = rows(demo)[0].id
    with demo.unit_of_work() as uow:
        user = uow.session.scalar(select(User).where(User.username == "intake"))
        ended = users.change_password(uow, users.actor_for(user), "a new password", keep_session=this_row)
    assert ended == 1
    assert here.get("/preferences", headers=BROWSER).status_code == 200
    refused_with(elsewhere, "your password changed")
    assert [r.ended_reason for r in rows(demo)] == [None, "password_changed"]


def test_a_password_reset_by_the_cli_ends_every_session(app, demo):
    client = signed_in(app)
    with demo.unit_of_work() as uow:  # what `complaintflow load-demo --reset-demo` does to each demo user
        users.upsert_user(uow, "intake", "another password", display_name="Intake", roles=["intake"])
    refused_with(client, "Your session has ended")
    assert rows(demo)[0].ended_reason == "password_changed"


def test_the_same_password_set_again_keeps_the_sessions(app, demo):
    client = signed_in(app)
    with demo.unit_of_work() as uow:
        users.upsert_user(uow, "intake", "intake-demo", display_name="Intake", roles=["intake"])
    assert client.get("/preferences", headers=BROWSER).status_code == 200


def test_deactivating_a_user_ends_all_their_sessions(app, demo):
    first, second = signed_in(app), signed_in(app)
    with demo.unit_of_work() as uow:
        users.deactivate_user(uow, SYSTEM, "intake")
    for client in (first, second):
        assert client.get("/preferences", headers=BROWSER).status_code == 302
    assert [r.ended_reason for r in rows(demo)] == ["deactivated", "deactivated"]


def test_a_remember_me_cookie_does_not_bypass_the_session(app, demo):
    client = signed_in(app)
    post(client, "/sign-out")
    with demo.unit_of_work() as uow:
        user_id = uow.session.scalar(select(User.id).where(User.username == "intake"))
    with app.test_request_context():
        remember = encode_cookie(str(user_id))  # what Flask-Login would have set with remember=True
    client.set_cookie("remember_token", remember)
    assert client.get("/preferences", headers=BROWSER).status_code == 302


def test_api_callers_have_no_session(client, demo):
    from tests.web.conftest import basic
    assert client.get("/api/v1/tasks", headers=basic("intake")).status_code == 200
    assert rows(demo) == []
