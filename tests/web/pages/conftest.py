"""Page tests: the real app, engine and database, through Flask's test client with sessions and CSRF on."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from app.web import create_app
from tests.support import CaseDriver
from tests.web.conftest import demo_password

TRANSLATIONS = Path(__file__).resolve().parents[3] / "app" / "translations"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs():
    """What `pybabel compile` does at install, so the tests also run from a fresh checkout."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source:
                catalog = read_po(source)
            with mo.open("wb") as target:
                write_mo(target, catalog)


@pytest.fixture
def app(demo, tmp_path):
    return create_app(runtime=demo, config={"TESTING": True, "SECRET_KEY": "test-secret", "RATELIMIT_ENABLED": True},
                      instance_path=str(tmp_path))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def driver(demo, actors):
    return CaseDriver(demo, actors)


def csrf_token(client, path: str = "/sign-in") -> str:
    match = CSRF.search(client.get(path, headers=BROWSER).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


BROWSER = {"Accept": "text/html,application/xhtml+xml", "Accept-Language": "en"}


def sign_in(client, username: str, password: str | None = None, *, language: str = "en", timezone: str = ""):
    headers = {**BROWSER, "Accept-Language": language}
    token = csrf_token(client)
    return client.post("/sign-in", data={"username": username, "password": password or demo_password(username),
                                         "csrf_token": token, "timezone": timezone}, headers=headers)


def post(client, path: str, data: dict | None = None, *, page: str | None = None, **kwargs):
    """A form post with the CSRF token of the page it was on (``page``, default: the inbox)."""
    token = csrf_token(client, page or "/inbox")
    return client.post(path, data={**(data or {}), "csrf_token": token}, headers=BROWSER, **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)
