"""The diagram bundle itself (app/web/static/js/diagram.js as built), served by the live app's static route.

The host page and its two data URLs are fed by the browser here, so each shape the script accepts, and its
failure state, can be checked on its own; the complaint page's own diagram is checked in test_complaint_page.py.
"""
from __future__ import annotations

import json
from pathlib import Path

from tests.browser.harness import audit

BPMN = Path(__file__).resolve().parents[2] / "processes" / "complaint_handling.bpmn"
HOST = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Diagram</title>
<link rel="stylesheet" href="/static/build/diagram.css"></head>
<body><main><h1>Diagram</h1>
<div id="d" data-diagram-url="/t/diagram.bpmn" data-highlights-url="/t/highlights.json"
     aria-label="Process diagram of CF-1" data-count-title="done {count} times"
     data-error-text="The diagram could not be drawn."></div>
</main><script type="module" src="/static/build/diagram.js"></script></body></html>"""


def _host(visitor, highlights, *, diagram_status=200):
    page = visitor.page
    page.route("**/t/host", lambda route: route.fulfill(body=HOST, content_type="text/html"))
    page.route("**/t/diagram.bpmn", lambda route: route.fulfill(
        status=diagram_status, body=BPMN.read_text() if diagram_status == 200 else "gone",
        content_type="application/xml"))
    page.route("**/t/highlights.json", lambda route: route.fulfill(body=json.dumps(highlights),
                                                                  content_type="application/json"))
    page.goto("/t/host")
    page.wait_for_function("() => ['ready', 'error'].includes(document.getElementById('d').dataset.diagramState)")
    audit(page)
    return page


def test_states_become_markers_and_rework_a_badge(visit):
    page = _host(visit(), {"elements": {
        "classify_complaint": {"state": "completed", "count": 1},
        "investigate_complaint": {"state": "completed", "count": 2},
        "draft_resolution": {"state": "active", "count": 1},
        "approve_resolution": {"state": "overdue", "count": 1},
        "investigate_complaint [child]": {"state": "active", "count": 1},  # not drawn: skipped
    }})
    assert page.get_attribute("#d", "data-diagram-state") == "ready"
    assert page.get_attribute("#d", "data-highlighted") == "4"
    for element_id, state in [("classify_complaint", "completed"), ("investigate_complaint", "completed"),
                              ("draft_resolution", "active"), ("approve_resolution", "overdue")]:
        assert page.locator(f".djs-element.cf-{state}[data-element-id='{element_id}']").count() == 1
    assert page.locator(".cf-active, .cf-completed, .cf-overdue").count() == 4
    badges = page.locator(".djs-overlays[data-container-id='investigate_complaint'] .cf-count-badge")
    assert badges.all_inner_texts() == ["2\u00d7"]
    assert badges.first.get_attribute("title") == "done 2 times"
    assert page.locator(".cf-count-badge").count() == 1
    # The marker really paints: the active task's frame is drawn in the highlight colour.
    stroke = page.eval_on_selector("[data-element-id='draft_resolution'] .djs-visual > :first-child",
                                   "e => getComputedStyle(e).stroke")
    assert stroke == "rgb(26, 86, 176)"
    assert page.locator(".bjs-powered-by").is_visible()  # the bpmn.io watermark stays (licence)


def test_the_diagram_is_a_named_keyboard_target(visit):
    page = _host(visit(), [{"id": "classify_complaint", "state": "active", "count": 1}])
    assert page.get_attribute("#d", "role") == "group"
    svg = page.locator("#d svg[role=img]")
    assert svg.get_attribute("aria-label") == "Process diagram of CF-1"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == "Process diagram of CF-1"
    before = page.evaluate("() => document.getElementById('d').diagramViewer.get('canvas').viewbox()")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("+")
    after = page.evaluate("() => document.getElementById('d').diagramViewer.get('canvas').viewbox()")
    assert after["x"] > before["x"] and after["scale"] > before["scale"]


def test_a_diagram_that_cannot_be_loaded_says_so(visit):
    visitor = visit()
    errors = []
    visitor.page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page = _host(visitor, {}, diagram_status=404)
    assert page.get_attribute("#d", "data-diagram-state") == "error"
    assert page.inner_text("#d") == "The diagram could not be drawn."
    assert any("/t/diagram.bpmn answered 404" in e for e in errors)
