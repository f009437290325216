"""Browser tests: the real app on a live server over the test database, driven by headless Chromium.

- ``live_server``: the app (``create_app``) over the ``demo`` runtime of tests/conftest.py, served by werkzeug in a
  thread on a free port; one per test, so each test starts from the demo users and definitions only.
- ``browser``: one Chromium per session (Debian's, Playwright cannot download one here); each test opens fresh
  contexts (cookies, language) through ``visit``.
- Every page a test lands on is checked with axe-core (from frontend/node_modules, installed by bootstrap.sh):
  the helpers audit after each navigation, and a test that leaves a page unaudited fails at teardown, as does
  one whose pages raised a JavaScript error (on the modeler, logged a console error), failed to load a static
  asset, or got a 5xx answer.
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.browser.harness import ASSETS, AXE, CHROMIUM, CHROMIUM_ARGS, LiveServer, Visitor


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def live_server(demo):
    from app.web import create_app

    app = create_app(runtime=demo, config={"SECRET_KEY": "browser-tests-only", "SERVER_NAME": None})
    server = make_server("127.0.0.1", 0, _buffered(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", runtime=demo, app=app)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


def _buffered(app):
    """Each response read whole and closed inside the request: a static file (the favicon) streamed to a page
    the test already closed otherwise stays open in a request thread that outlives the test, and its
    ResourceWarning fails whichever test the garbage collector happens to run in."""
    def wsgi(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
    return wsgi


# --- the browser ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    assert AXE.exists() and (ASSETS / "diagram.js").exists(), \
        "front-end packages or build missing: source scripts/bootstrap.sh (./test does)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def case(live_server, actors):
    """Drives complaints through the real services, for tests that start mid-way (tests/support.py)."""
    from tests.support import CaseDriver

    return CaseDriver(live_server.runtime, actors)


@pytest.fixture
def visit(browser, live_server):
    """``visit("coordinator")`` -> a Visitor signed in as that demo user (fresh context); ``visit(None)`` is
    anonymous. ``locale`` sets the browser language ("en" or "zh_CN"), ``timezone_id`` the browser's zone."""
    visitors: list[Visitor] = []

    def open_visitor(username: str | None = None, *, locale: str = "en", password: str | None = None,
                     timezone_id: str = "Asia/Shanghai") -> Visitor:
        visitor = Visitor(browser, live_server, locale, timezone_id)
        visitors.append(visitor)
        if username is not None:
            visitor.sign_in(username, password)
        return visitor

    yield open_visitor
    problems = [p for visitor in visitors for p in visitor.close()]
    assert not problems, "\n".join(problems)
