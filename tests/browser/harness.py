"""The browser suite's tools: a live server, visitors (one browser context each) whose pages are watched and
audited with axe-core, and the checks every page gets. Fixtures using them are in conftest.py."""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
ASSETS = ROOT / "app" / "web" / "static" / "build"
# Accept-Language per app language: the first default of a user's language follows the browser.
BROWSER_LOCALES = {"en": "en-GB", "zh_CN": "zh-CN"}
TIMEOUT_MS = 10_000


def demo_password(username: str) -> str:
    # README: department officers are "<code>.officer" with password "<code>-demo"; the others "<name>-demo".
    return f"{username.split('.')[0]}-demo"


@dataclass
class LiveServer:
    url: str
    runtime: object
    app: object


@dataclass
class PageWatch:
    """What happened on one page: navigations (audited or not), JavaScript errors, failed assets, 5xx."""

    visits: list = field(default_factory=list)  # [url, audited]
    problems: list = field(default_factory=list)

    def attach(self, page) -> None:
        page.on("framenavigated", lambda frame: frame == page.main_frame and self.visits.append([frame.url, False]))
        page.on("pageerror", lambda error: self.problems.append(f"JavaScript error on {page.url}: {error}"))
        # Anything the pages' Content-Security-Policy blocks (an inline script, an eval, a foreign asset)
        page.on("console", lambda message: self._console(page, message))
        page.on("response", self._response)

    def _console(self, page, message) -> None:
        if message.type != "error":
            return
        if "Content Security Policy" in message.text:
            self.problems.append(f"CSP violation on {page.url}: {message.text}")
        # The modeler's own code and bpmn-js's (a refused configuration, a failed import, a lint rule that
        # threw) report there. A refused request is logged too: those are the tests' deliberate ones, and an
        # answer's status is checked where it matters.
        elif "/modeler" in page.url and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console error on {page.url}: {message.text}")

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

    def __init__(self, browser, server: LiveServer, locale: str, timezone_id: str = "Asia/Shanghai"):
        self.server = server
        self.locale = locale
        self.context = browser.new_context(base_url=server.url, locale=BROWSER_LOCALES[locale],
                                           timezone_id=timezone_id)
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
        self.check_language(page)
        return response

    def sign_in(self, username: str, password: str | None = None):
        self.goto("/sign-in")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password if password is not None else demo_password(username))
        with self.page.expect_navigation():
            self.page.press("input[name=password]", "Enter")
        audit(self.page)
        assert "/sign-in" not in self.page.url, f"{username} could not sign in"
        self.username = username
        return self

    def submit(self, button="[data-testid=submit]", page=None):
        """Click a submit button (a selector or a locator; default: the page form's) and audit the answer."""
        page = page or self.page
        target = page.locator(button).first if isinstance(button, str) else button
        with page.expect_navigation():
            target.click()
        audit(page)
        self.check_language(page)
        return page

    def check_language(self, page=None) -> None:
        """Every page is in the visitor's language (users without a saved choice follow the browser)."""
        expected = "zh-CN" if self.locale == "zh_CN" else "en"
        assert (page or self.page).get_attribute("html", "lang") == expected, f"{(page or self.page).url}"

    def close(self) -> list[str]:
        problems = [p for watch in self.watches for p in watch.problems]
        problems += [f"page never audited with axe: {url}" for watch in self.watches for url in watch.unaudited()]
        self.context.close()
        return problems


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
            # evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern
            # (a <script> tag with axe's source inline would be refused, as any inline script is)
            page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        blocking = [v for v in result["violations"] if v["impact"] in BLOCKING_IMPACTS]
        assert not blocking, f"axe on {page.url}:\n" + "\n".join(_describe(v) for v in blocking)
        _AUDITED_SHAPES.add(shape)
        if os.environ.get("BROWSER_TESTS_DEBUG"):
            print(f"axe: {page.url} ({len(_AUDITED_SHAPES)} shapes)")
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
