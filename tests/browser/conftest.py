"""Browser tests: the real app on a live server over the test database, driven by headless Chromium.

- ``live_server``: the app (``create_app``) over the ``demo`` runtime of tests/conftest.py, served by werkzeug in a
  thread on a free port; one per test, so each test starts from the demo users and definitions only.
- ``browser``: one Chromium per session (Debian's, Playwright cannot download one here); each test opens fresh
  contexts (cookies, language) through ``visit``.
- Every page a test lands on is checked with axe-core (from frontend/node_modules, installed by bootstrap.sh):
  the helpers audit after each navigation, and a test that leaves a page unaudited fails at teardown, as does
  one whose pages raised a JavaScript error, failed to load a static asset, or got a 5xx answer.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
ASSETS = ROOT / "app" / "web" / "static" / "build"
# Accept-Language per app language: the first default of a user's language follows the browser.
BROWSER_LOCALES = {"en": "en-GB", "zh_CN": "zh-CN"}
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


def demo_password(username: str) -> str:
    # README: department officers are "<code>.officer" with password "<code>-demo"; the others "<name>-demo".
    return f"{username.split('.')[0]}-demo"


# --- the server -----------------------------------------------------------------------------------------------

@dataclass
class LiveServer:
    url: str
    runtime: object
    app: object


@pytest.fixture
def live_server(demo):
    from app.web import create_app

    app = create_app(runtime=demo, config={"SECRET_KEY": "browser-tests-only", "SERVER_NAME": None})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", runtime=demo, app=app)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


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


@dataclass
class PageWatch:
    """What happened on one page: navigations (audited or not), JavaScript errors, failed assets, 5xx."""

    visits: list = field(default_factory=list)  # [url, audited]
    problems: list = field(default_factory=list)

    def attach(self, page) -> None:
        page.on("framenavigated", lambda frame: frame == page.main_frame and self.visits.append([frame.url, False]))
        page.on("pageerror", lambda error: self.problems.append(f"JavaScript error on {page.url}: {error}"))
        page.on("response", self._response)

    def _response(self, response) -> None:
        if response.status >= 500:
            self.problems.append(f"{response.status} from {response.url}")
        elif response.status >= 400 and "/static/" in response.url:
            self.problems.append(f"static asset {response.url} answered {response.status}")

    def audited(self) -> None:
        for visit in self.visits:
            visit[1] = True

    def unaudited(self) -> list[str]:
        return [url for url, done in self.visits if not done and url != "about:blank"]


class Visitor:
    """One person at one browser: a context of their own (cookies, language), pages watched and audited."""

    def __init__(self, browser, server: LiveServer, locale: str):
        self.server = server
        self.locale = locale
        self.context = browser.new_context(base_url=server.url, locale=BROWSER_LOCALES[locale],
                                           timezone_id="Asia/Shanghai")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.watches: list[PageWatch] = []
        self.page = self.new_tab()
        self.username: str | None = None

    def new_tab(self):
        page = self.context.new_page()
        watch = PageWatch()
        watch.attach(page)
        self.watches.append(watch)
        page.watch = watch
        return page

    def goto(self, path: str, page=None, *, status: int | None = 200):
        page = page or self.page
        response = page.goto(path)
        if status is not None:
            assert response.status == status, f"GET {path}: {response.status}, expected {status}"
        audit(page)
        return response

    def sign_in(self, username: str, password: str | None = None):
        self.goto("/sign-in")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password if password is not None else demo_password(username))
        with self.page.expect_navigation():
            self.page.press("input[name=password]", "Enter")
        audit(self.page)
        self.username = username
        return self

    def submit(self, button=None, page=None):
        """Click a submit button (default: the form's first) and audit the page the server answers with."""
        page = page or self.page
        target = button if button is not None else page.locator("form[method=post] [type=submit]").first
        with page.expect_navigation():
            target.click()
        audit(page)
        return page

    def close(self) -> list[str]:
        problems = [p for watch in self.watches for p in watch.problems]
        problems += [f"page never audited with axe: {url}" for watch in self.watches for url in watch.unaudited()]
        self.context.close()
        return problems


@pytest.fixture
def visit(browser, live_server):
    """``visit("coordinator")`` -> a Visitor signed in as that demo user (fresh context); ``visit(None)`` is
    anonymous. ``locale`` sets the browser language ("en" or "zh_CN")."""
    visitors: list[Visitor] = []

    def open_visitor(username: str | None = None, *, locale: str = "en", password: str | None = None) -> Visitor:
        visitor = Visitor(browser, live_server, locale)
        visitors.append(visitor)
        if username is not None:
            visitor.sign_in(username, password)
        return visitor

    yield open_visitor
    problems = [p for visitor in visitors for p in visitor.close()]
    assert not problems, "\n".join(problems)


# --- accessibility --------------------------------------------------------------------------------------------

BLOCKING_IMPACTS = {"serious", "critical"}
# Pages already audited in this session, by shape (see _SHAPE): the same template showing other rows or other
# words is not audited again, which keeps the suite fast; any new element, attribute, class (an error
# message, an amber deadline), route or language is.
_AUDITED_SHAPES: set[str] = set()
_SHAPE = """() => {
  const seen = new Set();
  for (const e of document.querySelectorAll('*')) {
    const attrs = [...e.attributes].map(a => a.name === 'class' ? 'class=' + a.value
      : ['type', 'role', 'name', 'disabled', 'hidden'].includes(a.name) ? a.name + '=' + a.value : a.name);
    seen.add(e.tagName + '[' + attrs.sort().join(',') + ']');
  }
  return document.documentElement.lang + ' ' + location.pathname.replace(/[0-9]+/g, '#') + ' '
    + [...seen].sort().join(' ');
}"""


def audit(page) -> None:
    """Run axe-core on the page as it is now; fail on any serious or critical violation."""
    page.wait_for_load_state("load")
    _settle_diagrams(page)
    shape = page.evaluate(_SHAPE)
    if shape not in _AUDITED_SHAPES:
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        blocking = [v for v in result["violations"] if v["impact"] in BLOCKING_IMPACTS]
        assert not blocking, f"axe on {page.url}:\n" + "\n".join(_describe(v) for v in blocking)
        _AUDITED_SHAPES.add(shape)
    page.watch.audited()


def _settle_diagrams(page) -> None:
    # The diagram draws asynchronously: audit what the user will see, not the empty container.
    if page.locator("[data-diagram-url]").count():
        page.wait_for_function("() => [...document.querySelectorAll('[data-diagram-url]')]"
                               ".every(e => ['ready', 'error'].includes(e.dataset.diagramState))")


def _describe(violation: dict) -> str:
    nodes = "; ".join(", ".join(n["target"]) if isinstance(n["target"][0], str) else json.dumps(n["target"])
                      for n in violation["nodes"][:5])
    return f"  [{violation['impact']}] {violation['id']}: {violation['help']} -> {nodes}"


def text_of(page) -> str:
    """The visible text of the page, whitespace collapsed (for assertions that must hold in any language)."""
    return re.sub(r"\s+", " ", page.inner_text("body"))
