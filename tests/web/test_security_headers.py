"""Every response carries the security headers; the secret key and cookie flags are set when the app starts."""
from __future__ import annotations

import stat

import pytest
from flask import Blueprint, session

from app.web import create_app
from app.web.security import PAGE_POLICY
from tests.web.conftest import basic

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
}


@pytest.fixture
def app(demo, tmp_path):
    app = create_app(runtime=demo, config={"TESTING": True}, instance_path=str(tmp_path / "instance"))
    app.add_url_rule("/boom", "boom", lambda: 1 / 0)
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "app.js").write_text("console.log('hi')", encoding="utf-8")
    app.register_blueprint(Blueprint("pages", __name__, static_folder=assets, static_url_path="/assets"))
    return app


def _sets_session_cookie():
    session["seen"] = True
    return {"ok": True}


@pytest.mark.parametrize("method, path, headers, status", [
    ("GET", "/healthz", {}, 200),
    ("GET", "/api/v1/tasks", basic("intake"), 200),
    ("POST", "/api/v1/complaints", basic("intake"), 400),
    ("GET", "/api/v1/complaints/999", basic("compliance"), 404),
    ("GET", "/api/v1/tasks", {}, 401),
    ("GET", "/no/such/page", {}, 404),
    ("DELETE", "/api/v1/tasks", basic("intake"), 405),
    ("GET", "/boom", {}, 500),
])
def test_every_response_carries_the_security_headers_and_no_store(client, method, path, headers, status):
    response = client.open(path, method=method, headers=headers)
    assert response.status_code == status
    expected = {**SECURITY_HEADERS, "Content-Security-Policy": (
        PAGE_POLICY if response.mimetype == "text/html" else SECURITY_HEADERS["Content-Security-Policy"])}
    assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == expected
    assert response.headers["Cache-Control"] == "no-store"
    # the server's own time for the request (app/web/server_timing.py), errors included
    name, duration = response.headers["Server-Timing"].split(";dur=")
    assert name == "app" and float(duration) >= 0


def test_a_rate_limited_answer_carries_them_too(demo, tmp_path):
    client = create_app(runtime=demo, config={"TESTING": True, "SIGNIN_LIMITS_PER_ACCOUNT": "1 per hour"},
                        instance_path=str(tmp_path)).test_client()
    client.get("/api/v1/tasks", headers=basic("intake", "guess"))
    response = client.get("/api/v1/tasks", headers=basic("intake"))
    assert response.status_code == 429
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"


def test_static_assets_may_be_cached_but_get_the_other_headers(client):
    response = client.get("/assets/app.js")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS
    response.close()


def test_the_pages_allow_scripts_from_this_origin_only(client):
    response = client.get("/sign-in", headers={"Accept": "text/html"})
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'" and policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    html = response.get_data(as_text=True)
    assert "<script>" not in html and "/static/js/sign_in.js" in html


def test_a_page_with_its_own_policy_still_refuses_framing(app):
    app.add_url_rule("/styled", "styled", lambda: ({}, 200, {"Content-Security-Policy": "default-src 'self'"}))
    response = app.test_client().get("/styled")
    assert response.headers["Content-Security-Policy"] == "default-src 'self'; frame-ancestors 'none'"


# --- secret key ---------------------------------------------------------------------------------------------------

def test_development_makes_a_private_secret_key_once_in_the_instance_folder(demo, tmp_path, monkeypatch):
    monkeypatch.delenv("COMPLAINTFLOW_SECRET_KEY", raising=False)
    monkeypatch.delenv("COMPLAINTFLOW_ENV", raising=False)
    instance = tmp_path / "instance"
    first = create_app(runtime=demo, instance_path=str(instance))
    key_file = instance / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.secret_key) >= 64 and key_file.read_text().strip() == first.secret_key
    assert create_app(runtime=demo, instance_path=str(instance)).secret_key == first.secret_key


def test_the_environment_provides_the_key(demo, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLAINTFLOW_SECRET_KEY", "k" * 64)
    app = create_app(runtime=demo, instance_path=str(tmp_path))
    assert app.secret_key == "k" * 64 and not (tmp_path / "secret_key").exists()


def test_production_refuses_to_start_without_a_key_from_the_environment(demo, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLAINTFLOW_ENV", "production")
    monkeypatch.delenv("COMPLAINTFLOW_SECRET_KEY", raising=False)
    (tmp_path / "secret_key").write_text("a key left on disk\n")  # not good enough for production
    with pytest.raises(RuntimeError, match="COMPLAINTFLOW_ENV=production needs a secret key: set "
                                           "COMPLAINTFLOW_SECRET_KEY"):
        create_app(runtime=demo, instance_path=str(tmp_path))


# --- session cookie ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("environment, secure", [("development", False), ("production", True)])
def test_session_cookie_flags(demo, tmp_path, monkeypatch, environment, secure):
    monkeypatch.setenv("COMPLAINTFLOW_ENV", environment)
    monkeypatch.setenv("COMPLAINTFLOW_SECRET_KEY", "s" * 64)
    app = create_app(runtime=demo, instance_path=str(tmp_path))
    app.add_url_rule("/sign-in-page", "sign_in_page", _sets_session_cookie)
    cookie = app.test_client().get("/sign-in-page").headers["Set-Cookie"]
    flags = {part.strip().split("=")[0].lower(): part for part in cookie.split(";")[1:]}
    assert "httponly" in flags and flags["samesite"].strip() == "SameSite=Lax"
    assert ("secure" in flags) is secure
    assert app.config["REMEMBER_COOKIE_SECURE"] is secure and app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
